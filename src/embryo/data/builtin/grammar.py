"""A probabilistic grammar that builds each sentence as a dependency tree.

A sentence is a tree of `Tok` nodes, each knowing its form, lemma, UPOS, Penn XPOS,
features and relation to its head, with ordered left and right dependents. Reading the
tree in order gives the text, so the text, the tags and the dependencies come from one
source of truth and every tree is projective, single-rooted and acyclic by construction.

Covered: determiners, pronouns, proper names, adjectives (with degree adverbs), compound
nouns, numerals, PPs inside NPs and clauses, subject and object relative clauses, NP,
adjective and clause coordination, subordinate clauses, copular clauses (adjective,
nominal and PP predicates), tense and agreement (VB/VBD/VBG/VBN/VBP/VBZ), auxiliaries
(do-support, modals, progressive, perfect), negation, adverbs and yes/no questions.
"""

from __future__ import annotations

import functools

from embryo.data.builtin import lexicon as lx

PUNCT = {".", ",", "?"}

# How often each construction is chosen (probabilities per opportunity).
P_PRONOUN = {"subj": 0.12, "obj": 0.06, "pobj": 0.04}
P_PERSON_NAME = {"subj": 0.10, "obj": 0.05, "pobj": 0.04}
P_PLACE_NAME = {"subj": 0.0, "obj": 0.02, "pobj": 0.14}
P_PLURAL = 0.3
P_NP_COORDINATION = 0.05
P_ADJECTIVES = (0.68, 0.27, 0.05)  # zero, one, two adjectives
P_DEGREE_ADVERB = 0.1
P_COMPOUND = 0.04
P_NOUN_PP = 0.12
P_RELATIVE = 0.08
P_OBJECT_RELATIVE = 0.3
KINDS = (("trans", 0.47), ("intrans", 0.28), ("cop", 0.25))
TENSES = (
    ("pres", 0.36),
    ("past", 0.34),
    ("fut", 0.08),
    ("modal", 0.07),
    ("prog", 0.08),
    ("perf", 0.07),
)
P_NEGATION = 0.08
P_NEVER = 0.03
P_PRE_ADVERB = 0.08
P_POST_ADVERB = 0.14
P_CLAUSE_PP = 0.35
P_SECOND_PP = 0.08
P_SUBORDINATE = 0.1
P_CLAUSE_COORDINATION = 0.1
P_QUESTION = 0.05


@functools.cache
def _finite_feats(number: str, person: int, tense: str) -> str:
    return feats(Mood="Ind", Number=number, Person=person, Tense=tense, VerbForm="Fin")


def feats(**kw) -> str:
    """A UD feature string, keys in UD order (alphabetical, case-insensitive); "_" if empty."""
    items = sorted(((k, v) for k, v in kw.items() if v is not None), key=lambda kv: kv[0].lower())
    return "|".join(f"{k}={v}" for k, v in items) or "_"


class Tok:
    """One word of a tree: its annotation, relation to its head, ordered dependents."""

    __slots__ = ("form", "lemma", "upos", "xpos", "feats", "deprel", "left", "right")

    def __init__(self, form, lemma, upos, xpos, feats="_", deprel="dep"):
        self.form, self.lemma, self.upos, self.xpos = form, lemma, upos, xpos
        self.feats, self.deprel = feats, deprel
        self.left: list[Tok] = []
        self.right: list[Tok] = []

    def attach(self, dep: Tok, deprel: str, *, left: bool, first: bool = False) -> Tok:
        """Make ``dep`` a dependent on the left or right (innermost unless ``first``)."""
        dep.deprel = deprel
        side = self.left if left else self.right
        if first:
            side.insert(0, dep)
        else:
            side.append(dep)
        return dep

    def __repr__(self) -> str:
        return f"Tok({self.form!r}, {self.upos}, {self.deprel})"


class Phrase:
    """A noun phrase's head with the agreement it imposes."""

    __slots__ = ("head", "number", "person")

    def __init__(self, head: Tok, number: str, person: int = 3):
        self.head, self.number, self.person = head, number, person


class Sentence:
    """A linearised tree: tokens in order and their 1-based heads (0 = root)."""

    def __init__(self, root: Tok):
        self.tokens: list[Tok] = []
        parents: list[Tok | None] = []
        stack: list[tuple[Tok, Tok | None, bool]] = [(root, None, False)]
        while stack:  # in-order walk: left dependents, the word, right dependents
            tok, parent, expanded = stack.pop()
            if expanded:
                self.tokens.append(tok)
                parents.append(parent)
                continue
            for dep in reversed(tok.right):
                stack.append((dep, tok, False))
            stack.append((tok, parent, True))
            for dep in reversed(tok.left):
                stack.append((dep, tok, False))
        index = {id(t): i + 1 for i, t in enumerate(self.tokens)}
        self.heads = [index[id(p)] if p is not None else 0 for p in parents]
        _fix_articles(self.tokens)
        first = self.tokens[0]
        first.form = first.form[:1].upper() + first.form[1:]

    @property
    def forms(self) -> list[str]:
        return [t.form for t in self.tokens]

    def tokenized(self) -> str:
        """Space-separated tokens (WikiText / SST style)."""
        return " ".join(self.forms)

    def text(self) -> str:
        """Detokenized text: no space before punctuation."""
        return detokenize(self.forms)

    def conllu(self, sent_id: str) -> str:
        """The sentence as a CoNLL-U block (with its trailing blank line)."""
        lines = [f"# sent_id = {sent_id}", f"# text = {self.text()}"]
        forms = self.forms
        for i, (tok, head) in enumerate(zip(self.tokens, self.heads, strict=True)):
            nxt = forms[i + 1] if i + 1 < len(forms) else None
            misc = "SpaceAfter=No" if nxt in PUNCT else "_"
            cols = (i + 1, tok.form, tok.lemma, tok.upos, tok.xpos, tok.feats, head, tok.deprel)
            lines.append("\t".join(map(str, cols)) + f"\t{head}:{tok.deprel}\t{misc}")
        return "\n".join(lines) + "\n\n"


def detokenize(forms: list[str]) -> str:
    out = ""
    for form in forms:
        out += form if (not out or form in PUNCT) else " " + form
    return out


def _fix_articles(tokens: list[Tok]) -> None:
    """ "a" becomes "an" before a vowel (the lemma stays "a")."""
    for tok, nxt in zip(tokens, tokens[1:], strict=False):
        if tok.lemma == "a" and tok.upos == "DET":
            tok.form = lx.article(nxt.form)


def _choose(rng, weighted):
    r = rng.random()
    for item, p in weighted:
        r -= p
        if r < 0:
            return item
    return weighted[-1][0]


# --- words -----------------------------------------------------------------------------

NOUN_POOLS = {
    "any": lx.Pool(lx.NOUNS, exponent=0.9, offset=3),
    "animate": lx.Pool(lx.ANIMATE_NOUNS, exponent=0.9, offset=3),
    "inanimate": lx.Pool(lx.INANIMATE_NOUNS, exponent=0.9, offset=3),
    "compound": lx.Pool(lx.THING_NOUNS + lx.PLACE_NOUNS, exponent=1.0, offset=3),
}
TRANSITIVE = lx.Pool(lx.TRANSITIVE_VERBS, exponent=1.0, offset=2)
INTRANSITIVE = lx.Pool(lx.INTRANSITIVE_VERBS, exponent=1.0, offset=2)
ADJECTIVES = lx.Pool(lx.ADJECTIVES, exponent=1.0, offset=2)
PRE_ADVERBS = lx.Pool(lx.PRE_ADVERBS, exponent=1.0, offset=1.5)
POST_ADVERBS = lx.Pool(lx.POST_ADVERBS, exponent=1.0, offset=1.5)
DEGREE_ADVERBS = lx.Pool(lx.DEGREE_ADVERBS, exponent=1.0, offset=1)
DETERMINERS = {n: lx.Pool(d, exponent=1.6, offset=1) for n, d in lx.DETERMINERS.items()}
PRONOUNS = lx.Pool(lx.PRONOUNS, exponent=1.0, offset=1.5)
CLAUSE_PREPOSITIONS = lx.Pool(lx.CLAUSE_PREPOSITIONS, exponent=1.2, offset=1)
NOUN_PREPOSITIONS = lx.Pool(lx.NOUN_PREPOSITIONS, exponent=1.5, offset=1)
SUBORDINATORS = lx.Pool(lx.SUBORDINATORS, exponent=1.0, offset=1)
MODALS = lx.Pool(lx.MODALS, exponent=1.0, offset=1)
NUMBERS = lx.Pool(lx.NUMBERS, exponent=1.0, offset=1)
COORDINATORS = lx.Pool(lx.COORDINATORS, exponent=2.0, offset=1)


def noun_tok(noun: lx.Noun, number: str) -> Tok:
    form, xpos = (noun.lemma, "NN") if number == "Sing" else (noun.plural, "NNS")
    return Tok(form, noun.lemma, "NOUN", xpos, "Number=" + number)


def det_tok(form: str, det_feats: str) -> Tok:
    return Tok(form, form, "DET", "DT", det_feats)


def adj_tok(adj: lx.Adjective) -> Tok:
    return Tok(adj.lemma, adj.lemma, "ADJ", "JJ", "Degree=Pos")


def adv_tok(form: str) -> Tok:
    return Tok(form, form, "ADV", "RB")


def propn_tok(name: str) -> Tok:
    return Tok(name, name, "PROPN", "NNP", "Number=Sing")


def punct_tok(form: str) -> Tok:
    return Tok(form, form, "PUNCT", "." if form in ".?!" else form)


def cconj_tok(form: str) -> Tok:
    return Tok(form, form, "CCONJ", "CC")


def verb_tok(verb: lx.Verb, form_kind: str, number="Sing", person=3, upos="VERB") -> Tok:
    """A verb in one of its forms: VB, VBZ, VBP, VBD, VBG, VBN (finite forms agree)."""
    if form_kind == "VB":
        return Tok(verb.lemma, verb.lemma, upos, "VB", "VerbForm=Inf")
    if form_kind == "VBG":
        return Tok(verb.gerund, verb.lemma, upos, "VBG", "Tense=Pres|VerbForm=Part")
    if form_kind == "VBN":
        return Tok(verb.participle, verb.lemma, upos, "VBN", "Tense=Past|VerbForm=Part")
    tense = "Past" if form_kind == "VBD" else "Pres"
    form = {"VBD": verb.past, "VBZ": verb.third, "VBP": verb.lemma}[form_kind]
    return Tok(form, verb.lemma, upos, form_kind, _finite_feats(number, person, tense))


def finite_kind(tense: str, number: str, person: int) -> str:
    if tense == "past":
        return "VBD"
    return "VBZ" if (number == "Sing" and person == 3) else "VBP"


BE = lx.Verb("be", "is", "was", "been", "being", False, 0)
HAVE = lx.Verb("have", "has", "had", "had", "having", True, 0)
DO = lx.Verb("do", "does", "did", "done", "doing", True, 0)


def be_tok(tense: str, number: str, person: int) -> Tok:
    """Finite "be": am / is / are / was / were."""
    tok = verb_tok(BE, finite_kind(tense, number, person), number, person, upos="AUX")
    if tense == "past":
        tok.form = "was" if (number == "Sing" and person in (1, 3)) else "were"
    elif person == 1 and number == "Sing":
        tok.form = "am"
    elif tok.xpos == "VBP":
        tok.form = "are"
    return tok


def aux_tok(verb: lx.Verb, tense: str, number: str, person: int) -> Tok:
    """Finite "have" or "do" as an auxiliary."""
    return verb_tok(verb, finite_kind(tense, number, person), number, person, upos="AUX")


def modal_tok(form: str) -> Tok:
    return Tok(form, form, "AUX", "MD", "VerbForm=Fin")


def pronoun_tok(entry, case: str) -> Tok:
    nom, acc, _poss, number, person, gender = entry
    form = nom if case == "Nom" else acc
    lemma = nom
    if nom == "i":
        form, lemma = ("I" if case == "Nom" else "me"), "I"
    f = feats(
        Case=case if nom != "you" and nom != "it" else None,
        Gender=gender,
        Number=number if nom != "you" else None,
        Person=person,
        PronType="Prs",
    )
    return Tok(form, lemma, "PRON", "PRP", f)


def possessive_tok(entry) -> Tok:
    nom, _acc, poss, number, person, gender = entry
    lemma = "I" if nom == "i" else nom
    f = feats(
        Gender=gender,
        Number=number if nom != "you" else None,
        Person=person,
        Poss="Yes",
        PronType="Prs",
    )
    return Tok(poss, lemma, "PRON", "PRP$", f)


class Grammar:
    """Random sentences from one ``random.Random`` stream, with the world's proper names."""

    def __init__(self, rng, people=(), places=()):
        self.rng = rng
        self.people = list(people)  # (first, last) names
        self.places = list(places)  # city names

    # --- noun phrases -------------------------------------------------------------------

    def noun_phrase(self, role="obj", number=None, depth=0, kinds="any", coordinate=True) -> Phrase:
        """A noun phrase in ``role`` (subj, obj or pobj)."""
        rng = self.rng
        r = rng.random()
        if number is None and depth == 0 and coordinate and role != "pobj":
            if rng.random() < P_NP_COORDINATION:
                first = self.noun_phrase(role, None, depth + 1, kinds, coordinate=False)
                second = self.noun_phrase(role, None, depth + 1, kinds, coordinate=False)
                second.head.attach(cconj_tok("and"), "cc", left=True, first=True)
                first.head.attach(second.head, "conj", left=False)
                return Phrase(first.head, "Plur")
        if r < P_PRONOUN[role] and number is None:
            entry = PRONOUNS.pick(rng)
            tok = pronoun_tok(entry, "Nom" if role == "subj" else "Acc")
            return Phrase(tok, entry[3], entry[4])
        r -= P_PRONOUN[role]
        if self.people and r < P_PERSON_NAME[role] and number in (None, "Sing"):
            return self.person_name(rng.choice(self.people))
        r -= P_PERSON_NAME[role]
        if self.places and r < P_PLACE_NAME[role] and number in (None, "Sing"):
            return Phrase(propn_tok(rng.choice(self.places)), "Sing")
        return self.common_noun_phrase(number, depth, kinds)

    def person_name(self, name, full: bool | None = None) -> Phrase:
        first, last = name
        if full is None:
            full = self.rng.random() < 0.7
        head = propn_tok(first)
        if full:
            head.attach(propn_tok(last), "flat", left=False)
        return Phrase(head, "Sing")

    def common_noun_phrase(
        self, number=None, depth=0, kinds="any", *, det=None, adjectives=None, modifiers=True
    ) -> Phrase:
        """Determiner, adjectives, noun, and (below ``depth`` 2) a PP or a relative clause."""
        rng = self.rng
        if number is None:
            number = "Plur" if rng.random() < P_PLURAL else "Sing"
        noun = NOUN_POOLS[kinds].pick(rng)
        head = noun_tok(noun, number)
        if adjectives is None:
            adjectives = _choose(rng, tuple(enumerate(P_ADJECTIVES)))
        chosen: set[str] = set()
        for _ in range(adjectives):
            adj = adj_tok(ADJECTIVES.pick(rng))
            if adj.lemma in chosen:  # no "the old old dog"
                continue
            chosen.add(adj.lemma)
            if rng.random() < P_DEGREE_ADVERB:
                adj.attach(adv_tok(DEGREE_ADVERBS.pick(rng)), "advmod", left=True)
            head.attach(adj, "amod", left=True)
        if modifiers and rng.random() < P_COMPOUND:
            compound = NOUN_POOLS["compound"].pick(rng)
            head.attach(noun_tok(compound, "Sing"), "compound", left=True)
        self._determiner(head, number, det)
        if modifiers and depth < 2:
            if rng.random() < P_NOUN_PP:
                prep = NOUN_PREPOSITIONS.pick(rng)
                pobj = self.noun_phrase("pobj", None, depth + 1)
                pobj.head.attach(Tok(prep, prep, "ADP", "IN"), "case", left=True, first=True)
                head.attach(pobj.head, "nmod", left=False)
            elif rng.random() < P_RELATIVE:
                self.relative_clause(Phrase(head, number), noun.kind == "person", depth + 1)
        return Phrase(head, number)

    def _determiner(self, head: Tok, number: str, det=None) -> None:
        rng = self.rng
        if det is not None:  # an explicit determiner form
            head.attach(
                det_tok(det, lx.DEMONSTRATIVE_FEATS.get(det, _det_feats(det))),
                "det",
                left=True,
                first=True,
            )
            return
        r = rng.random()
        if r < 0.08:
            head.attach(possessive_tok(PRONOUNS.pick(rng)), "nmod:poss", left=True, first=True)
        elif number == "Plur" and r < 0.18:
            num = NUMBERS.pick(rng)
            head.attach(
                Tok(num, num, "NUM", "CD", "NumForm=Word|NumType=Card"),
                "nummod",
                left=True,
                first=True,
            )
        elif number == "Plur" and r < 0.38:
            return  # a bare plural
        else:
            form, f = DETERMINERS[number].pick(rng)
            head.attach(det_tok(form, f), "det", left=True, first=True)

    def relative_clause(self, noun: Phrase, personal: bool, depth: int) -> Tok:
        """Attach "that/who/which ..." to ``noun`` as acl:relcl."""
        rng = self.rng
        if rng.random() < P_OBJECT_RELATIVE:
            rel = Tok("that", "that", "PRON", "WDT", "PronType=Rel")
            head = self.clause(depth, kind="trans", fronted_object=rel, subordinate=False)
        else:
            if personal:
                rel = Tok("who", "who", "PRON", "WP", "PronType=Rel")
            else:
                form = "that" if rng.random() < 0.7 else "which"
                rel = Tok(form, form, "PRON", "WDT", "PronType=Rel")
            subject = Phrase(rel, noun.number, noun.person)
            head = self.clause(depth, subject=subject, subordinate=False)
        return noun.head.attach(head, "acl:relcl", left=False)

    # --- clauses ------------------------------------------------------------------------

    def clause(
        self,
        depth=0,
        *,
        subject: Phrase | None = None,
        kind=None,
        tense=None,
        negated=None,
        question=False,
        number=None,
        verb: lx.Verb | None = None,
        obj: Phrase | None = None,
        fronted_object: Tok | None = None,
        subordinate=True,
        extras=True,
        never=False,
        predicate: Tok | None = None,
    ) -> Tok:
        """A clause; returns its head (the main verb, or the predicate of a copula)."""
        rng = self.rng
        if kind is None:
            kind = "trans" if verb is not None and verb.transitive else _choose(rng, KINDS)
            if verb is not None and not verb.transitive:
                kind = "intrans"
        if subject is None:
            kinds = "animate" if kind != "cop" and rng.random() < 0.7 else "any"
            subject = self.noun_phrase("subj", number, depth, kinds)
        if tense is None:
            tense = _choose(rng, TENSES)
        if negated is None:
            negated = not question and rng.random() < P_NEGATION
        if kind == "cop":
            head, group = self._copular(subject, tense, depth, predicate)
        else:
            head, group = self._verbal(subject, kind, tense, negated or question, verb, depth)
        # left dependents: subject, first auxiliary, negation/adverb, other auxiliaries
        neg = None
        if negated:
            neg = Tok("not", "not", "PART", "RB", "Polarity=Neg")
        elif never or (not question and extras and rng.random() < P_NEVER):
            neg = adv_tok("never")
        elif not question and extras and rng.random() < P_PRE_ADVERB:
            neg = adv_tok(PRE_ADVERBS.pick(rng))
        left: list[tuple[Tok, str]] = []
        if fronted_object is not None:
            left.append((fronted_object, "obj"))
        subj_rel = "nsubj"
        if question and group:
            left.append(group[0])
            left.append((subject.head, subj_rel))
        else:
            left.append((subject.head, subj_rel))
            if group:
                left.append(group[0])
        if neg is not None:
            left.append((neg, "advmod"))
        left.extend(group[1:])
        for tok, rel in reversed(left):
            head.attach(tok, rel, left=True, first=True)
        if kind == "trans" and fronted_object is None:
            if obj is None:
                obj = self.noun_phrase("obj", None, depth)
            head.attach(obj.head, "obj", left=False)
        if extras:
            self._clause_extras(head, kind, depth, subordinate and not question)
        return head

    def _verbal(self, subject: Phrase, kind, tense, needs_aux, verb, depth):
        """The main verb and its auxiliaries [(tok, deprel)], the finite one first."""
        rng = self.rng
        if verb is None:
            verb = (TRANSITIVE if kind == "trans" else INTRANSITIVE).pick(rng)
        n, p = subject.number, subject.person
        if tense in ("pres", "past"):
            if needs_aux:  # do-support
                return verb_tok(verb, "VB"), [(aux_tok(DO, tense, n, p), "aux")]
            return verb_tok(verb, finite_kind(tense, n, p), n, p), []
        if tense in ("fut", "modal"):
            modal = "will" if tense == "fut" else MODALS.pick(rng)
            return verb_tok(verb, "VB"), [(modal_tok(modal), "aux")]
        past = "past" if rng.random() < 0.4 else "pres"
        if tense == "prog":
            return verb_tok(verb, "VBG"), [(be_tok(past, n, p), "aux")]
        return verb_tok(verb, "VBN"), [(aux_tok(HAVE, past, n, p), "aux")]

    def _copular(self, subject: Phrase, tense, depth, predicate=None):
        """The predicate (adjective, nominal or PP; or ``predicate``) and the copula group."""
        rng = self.rng
        n, p = subject.number, subject.person
        r = rng.random()
        if predicate is not None:
            head = predicate
        elif r < 0.5:
            head = adj_tok(ADJECTIVES.pick(rng))
            if rng.random() < 0.15:
                head.attach(adv_tok(DEGREE_ADVERBS.pick(rng)), "advmod", left=True)
            if rng.random() < 0.1:
                other = adj_tok(ADJECTIVES.pick(rng))
                other.attach(cconj_tok(COORDINATORS.pick(rng)), "cc", left=True)
                head.attach(other, "conj", left=False)
        elif r < 0.8:
            number = "Plur" if n == "Plur" else "Sing"
            det = None if number == "Plur" else "a"
            head = self.common_noun_phrase(number, depth + 1, "any", det=det).head
        else:
            pobj = self.noun_phrase("pobj", None, depth + 1)
            head = pobj.head
            prep = CLAUSE_PREPOSITIONS.pick(rng)
            head.attach(Tok(prep, prep, "ADP", "IN"), "case", left=True, first=True)
        if tense in ("pres", "past", "prog"):
            return head, [(be_tok("past" if tense == "past" else "pres", n, p), "cop")]
        if tense in ("fut", "modal"):
            modal = "will" if tense == "fut" else MODALS.pick(rng)
            return head, [(modal_tok(modal), "aux"), (verb_tok(BE, "VB", upos="AUX"), "cop")]
        have = aux_tok(HAVE, "pres", n, p)
        return head, [(have, "aux"), (verb_tok(BE, "VBN", upos="AUX"), "cop")]

    def _clause_extras(self, head: Tok, kind: str, depth: int, subordinate: bool) -> None:
        """PPs, a post-verbal adverb and (at the top) a subordinate clause."""
        rng = self.rng
        if kind != "cop" and rng.random() < P_CLAUSE_PP:
            self._clause_pp(head, depth)
            if rng.random() < P_SECOND_PP:
                self._clause_pp(head, depth)
        if kind != "cop" and rng.random() < P_POST_ADVERB:
            head.attach(adv_tok(POST_ADVERBS.pick(rng)), "advmod", left=False)
        if subordinate and depth == 0 and rng.random() < P_SUBORDINATE:
            mark = SUBORDINATORS.pick(rng)
            sub = self.clause(depth + 1, subordinate=False)
            sub.attach(Tok(mark, mark, "SCONJ", "IN"), "mark", left=True, first=True)
            if rng.random() < 0.3:  # fronted: "When ..., the dog sleeps"
                sub.attach(punct_tok(","), "punct", left=False)
                head.attach(sub, "advcl", left=True, first=True)
            else:
                head.attach(sub, "advcl", left=False)

    def _clause_pp(self, head: Tok, depth: int) -> None:
        rng = self.rng
        prep = CLAUSE_PREPOSITIONS.pick(rng)
        if prep in ("in", "after", "during") and rng.random() < 0.1:
            year = str(rng.randint(1800, 2020))
            pobj = Tok(year, year, "NUM", "CD", "NumForm=Digit|NumType=Card")
        else:
            pobj = self.noun_phrase("pobj", None, depth + 1).head
        pobj.attach(Tok(prep, prep, "ADP", "IN"), "case", left=True, first=True)
        head.attach(pobj, "obl", left=False)

    # --- sentences ----------------------------------------------------------------------

    def sentence(self, subject: Phrase | None = None, **clause_opts) -> Sentence:
        """A random sentence: a clause, maybe coordinated with another, and punctuation."""
        rng = self.rng
        question = subject is None and not clause_opts and rng.random() < P_QUESTION
        root = self.clause(0, subject=subject, question=question, **clause_opts)
        root.deprel = "root"
        if not question and not clause_opts and rng.random() < P_CLAUSE_COORDINATION:
            second = self.clause(1, subordinate=False)
            second.attach(cconj_tok(COORDINATORS.pick(rng)), "cc", left=True, first=True)
            if rng.random() < 0.5:
                second.attach(punct_tok(","), "punct", left=True, first=True)
            root.attach(second, "conj", left=False)
        root.attach(punct_tok("?" if question else "."), "punct", left=False)
        return Sentence(root)


def _det_feats(form: str) -> str:
    for dets in lx.DETERMINERS.values():
        for f, fe in dets:
            if f == form:
                return fe
    return "_"
