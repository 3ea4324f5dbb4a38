"""GLUE-style fine-tuning tasks over the built-in language (rows only; files.py writes them).

- SST-2-like sentiment: the polarity of a sentiment adjective or verb, flipped by "not" or
  "never", or the clause after "but": word identity alone is not enough, a bag of words
  still beats chance.
- CoLA-like acceptability: grammar sentences against corruptions of the same distribution
  (agreement errors, adjacent-word swaps, a dropped or an added object) that mostly keep
  the bag of words, so order matters and a bag-of-words classifier is near chance.
- MRPC-like paraphrase: the same fact in two phrasings against a different fact about the
  same subject (another relation, another object, or the same object under another relation).
- STS-B-like similarity: sentences stating one to three facts; the score grows with the
  facts they share (0-5, continuous).

Labels are balanced exactly (half of each) before shuffling.
"""

from __future__ import annotations

from embryo.data.builtin import lexicon as lx
from embryo.data.builtin import world as w
from embryo.data.builtin.grammar import (
    DEGREE_ADVERBS,
    Grammar,
    Phrase,
    Sentence,
    Tok,
    adj_tok,
    adv_tok,
    cconj_tok,
    det_tok,
    detokenize,
    noun_tok,
    pronoun_tok,
    punct_tok,
)


def _labels(rng, n: int) -> list[int]:
    labels = [i % 2 for i in range(n)]
    rng.shuffle(labels)
    return labels


# --- SST-2 -----------------------------------------------------------------------------

P_NEGATED = 0.25
P_CONTRAST = 0.1
REVIEW_DETERMINERS = ("the", "this", "that")
PEOPLE_SUBJECTS = ("i", "we", "you")


def _review_subject(g: Grammar) -> Phrase:
    rng = g.rng
    noun = rng.choice(lx.REVIEW_NOUNS if rng.random() < 0.75 else lx.REVIEW_PEOPLE)
    number = "Plur" if noun in lx.REVIEW_PEOPLE and rng.random() < 0.5 else "Sing"
    head = noun_tok(noun, number)
    if rng.random() < 0.25:
        head.attach(adj_tok(rng.choice(lx.NEUTRAL_ADJECTIVES)), "amod", left=True)
    det = "the" if number == "Plur" else rng.choice(REVIEW_DETERMINERS)
    det_feats = lx.DEMONSTRATIVE_FEATS.get(det, "Definite=Def|PronType=Art")
    head.attach(det_tok(det, det_feats), "det", left=True, first=True)
    return Phrase(head, number)


def _sentiment_clause(g: Grammar, polarity: int, negation: str | None) -> Tok:
    """A clause whose sentiment word has ``polarity`` (before ``negation`` applies)."""
    rng = g.rng
    tense = rng.choice(("pres", "past", "past", "perf"))
    opts = dict(tense=tense, negated=negation == "not", never=negation == "never", extras=False)
    kind = rng.random()
    if kind < 0.5:  # "the film is (very) wonderful"
        adjs = lx.POSITIVE_ADJECTIVES if polarity > 0 else lx.NEGATIVE_ADJECTIVES
        pred = adj_tok(rng.choice(adjs))
        if rng.random() < 0.3:
            pred.attach(adv_tok(DEGREE_ADVERBS.pick(rng)), "advmod", left=True)
        if rng.random() < 0.15:
            other = adj_tok(rng.choice(adjs))
            other.attach(cconj_tok("and"), "cc", left=True)
            pred.attach(other, "conj", left=False)
        return g.clause(1, subject=_review_subject(g), kind="cop", predicate=pred, **opts)
    verbs = [v for v in lx.VERBS if v.polarity == polarity]
    if kind < 0.8:  # "i loved the film"
        verb = rng.choice([v for v in verbs if v.transitive])
        who = rng.choice(PEOPLE_SUBJECTS)
        entry = next(p for p in lx.PRONOUNS if p[0] == who)
        subject = Phrase(pronoun_tok(entry, "Nom"), entry[3], entry[4])
        return g.clause(1, subject=subject, verb=verb, obj=_review_subject(g), **opts)
    verb = rng.choice([v for v in verbs if not v.transitive])  # "the plot fails"
    return g.clause(1, subject=_review_subject(g), verb=verb, **opts)


def _sst_sentence(g: Grammar, label: int) -> str:
    rng = g.rng
    polarity = 1 if label else -1
    if rng.random() < P_CONTRAST:  # "the plot is dull , but the music is lovely"
        root = _sentiment_clause(g, -polarity, None)
        second = _sentiment_clause(g, polarity, None)
        second.attach(cconj_tok("but"), "cc", left=True, first=True)
        second.attach(punct_tok(","), "punct", left=True, first=True)
        root.attach(second, "conj", left=False)
    else:
        negation = None
        if rng.random() < P_NEGATED:
            negation = "not" if rng.random() < 0.6 else "never"
            polarity = -polarity
        root = _sentiment_clause(g, polarity, negation)
    root.deprel = "root"
    if rng.random() < 0.7:
        root.attach(punct_tok("."), "punct", left=False)
    return Sentence(root).tokenized().lower()


def sst2(rng, n: int) -> list[tuple[str, int]]:
    g = Grammar(rng)
    return [(_sst_sentence(g, y), y) for y in _labels(rng, n)]


# --- CoLA ------------------------------------------------------------------------------

COLA_SOURCES = ("bi01", "bi02", "bi03", "bi04", "bi05")
AGREEMENT_SWAPS = {
    "is": "are",
    "are": "is",
    "was": "were",
    "were": "was",
    "has": "have",
    "have": "has",
    "does": "do",
    "do": "does",
}
for _verb in lx.VERBS:
    AGREEMENT_SWAPS[_verb.third] = _verb.lemma
    AGREEMENT_SWAPS[_verb.lemma] = _verb.third


def _cola_base(g: Grammar) -> Sentence:
    rng = g.rng
    number = rng.choice(("Sing", "Plur"))
    kind = rng.choice(("trans", "intrans"))
    tense = rng.choice(("pres", "pres", "past", "prog", "perf", "fut"))
    subject = g.common_noun_phrase(number, 1, "animate")
    root = g.clause(0, subject=subject, kind=kind, tense=tense, subordinate=False)
    root.deprel = "root"
    root.attach(punct_tok("."), "punct", left=False)
    return Sentence(root)


def _words(sentence: Sentence) -> list[tuple[str, str]]:
    """(form, UPOS) with sentence-initial capitalisation undone."""
    out = [(t.form, t.upos) for t in sentence.tokens]
    if out[0][1] != "PROPN" and out[0][0] != "I":
        out[0] = (out[0][0].lower(), out[0][1])
    return out


def _subtree_span(sentence: Sentence, index: int) -> tuple[int, int]:
    """The (start, end) token span of the subtree headed by token ``index`` (0-based)."""
    inside = {index}
    changed = True
    while changed:
        changed = False
        for i, h in enumerate(sentence.heads):
            if h - 1 in inside and i not in inside:
                inside.add(i)
                changed = True
    return min(inside), max(inside) + 1


def _corrupt(g: Grammar, sentence: Sentence) -> list[str] | None:
    """An ungrammatical variant of ``sentence``: the corruptions are tried in a random
    order (agreement and word order more often than argument structure); None if none applies.
    """
    rng = g.rng
    order = rng.choices(("agreement", "order", "argument"), weights=(0.35, 0.35, 0.3), k=6) + [
        "agreement",
        "order",
        "argument",
    ]
    for kind in dict.fromkeys(order):
        forms = CORRUPTIONS[kind](g, sentence)
        if forms is not None:
            return forms
    return None


def _agreement_error(g: Grammar, sentence: Sentence) -> list[str] | None:
    """The finite verb or auxiliary of the main clause takes the other number."""
    words = _words(sentence)
    root = sentence.heads.index(0)
    for i, tok in enumerate(sentence.tokens):
        attached = i == root or (sentence.heads[i] - 1 == root and tok.deprel in ("aux", "cop"))
        if attached and tok.xpos in ("VBZ", "VBP") and tok.form.lower() in AGREEMENT_SWAPS:
            forms = [f for f, _ in words]
            forms[i] = AGREEMENT_SWAPS[forms[i]]
            return forms
    return None


def _word_order_error(g: Grammar, sentence: Sentence) -> list[str] | None:
    """Two adjacent words of different classes (not punctuation or adverbs) swap places."""
    rng = g.rng
    words = _words(sentence)
    pairs = [
        i
        for i in range(len(words) - 1)
        if words[i][1] != words[i + 1][1]
        and "PUNCT" not in (words[i][1], words[i + 1][1])
        and "ADV" not in (words[i][1], words[i + 1][1])
    ]
    if not pairs:
        return None
    i = rng.choice(pairs)
    forms = [f for f, _ in words]
    forms[i], forms[i + 1] = forms[i + 1], forms[i]
    return forms


def _argument_error(g: Grammar, sentence: Sentence) -> list[str] | None:
    """A transitive verb loses its object, or an intransitive one gets an object."""
    forms = [f for f, _ in _words(sentence)]
    root = sentence.heads.index(0)
    obj = [
        i
        for i, t in enumerate(sentence.tokens)
        if t.deprel == "obj" and sentence.heads[i] - 1 == root
    ]
    verb = sentence.tokens[root]
    if obj and verb.lemma in lx.STRICTLY_TRANSITIVE:  # a transitive verb loses its object
        start, end = _subtree_span(sentence, obj[0])
        return forms[:start] + forms[end:]
    if not obj and verb.lemma in lx.STRICTLY_INTRANSITIVE:  # an intransitive verb gets one
        np = g.common_noun_phrase(None, 2, "any", modifiers=False)
        extra = [t.form for t in Sentence(np.head).tokens]
        extra[0] = extra[0].lower()
        return forms[: root + 1] + extra + forms[root + 1 :]
    return None


CORRUPTIONS = {
    "agreement": _agreement_error,
    "order": _word_order_error,
    "argument": _argument_error,
}


def _cola_text(forms: list[str]) -> str:
    forms = list(forms)
    forms[0] = forms[0][:1].upper() + forms[0][1:]
    return detokenize(forms)


def cola(rng, n: int) -> list[tuple[str, int, str, str]]:
    """(source, label, original mark, sentence) rows."""
    g = Grammar(rng)
    rows = []
    for label in _labels(rng, n):
        forms = None
        while forms is None:
            sentence = _cola_base(g)
            forms = _corrupt(g, sentence) if label == 0 else [f for f, _ in _words(sentence)]
        rows.append((rng.choice(COLA_SOURCES), label, "" if label else "*", _cola_text(forms)))
    return rows


# --- MRPC ------------------------------------------------------------------------------

DECORATIONS = (
    (),
    (),
    (),
    ("according", "to", "the", "records", ","),
    ("it", "is", "known", "that"),
    ("as", "reported", ","),
)
RELATED = {
    "P19": "P20",
    "P20": "P19",
    "P103": "P1412",
    "P1412": "P103",
    "P159": "P740",
    "P740": "P159",
}


def _fact_text(rng, fact: w.Fact, phrasing: str | None = None) -> str:
    phrasing = phrasing or rng.choice(w.PHRASINGS[fact.relation])
    words = w.state(fact, phrasing)
    prefix = rng.choice(DECORATIONS)
    if prefix and not phrasing.startswith("["):  # "..., the government of X sits in Y"
        words[0] = words[0].lower()
    words = list(prefix) + words
    words[0] = words[0][:1].upper() + words[0][1:]
    return detokenize(words)


def _non_paraphrase(rng, world: w.World, fact: w.Fact) -> w.Fact:
    """Another fact about the same subject: the same object under a related relation,
    another relation, or the same relation with another object (whichever exist)."""
    related = (
        [w.Fact(RELATED[fact.relation], fact.subject, fact.object)]
        if fact.relation in RELATED
        else []
    )
    others = [f for f in world.facts_about(fact.subject) if f.relation != fact.relation]
    swapped = [
        w.Fact(fact.relation, fact.subject, e)
        for e in world.entities[fact.object.kind]
        if e is not fact.object
    ]
    r = rng.random()
    preferred = related if r < 0.35 else others if r < 0.65 else swapped
    return rng.choice(preferred or swapped or others or related)


def mrpc(rng, world: w.World, n: int) -> list[tuple[int, int, int, str, str]]:
    """(quality, #1 id, #2 id, #1 string, #2 string) rows."""
    rows = []
    ids = rng.sample(range(100_000, 4_000_000), 2 * n)
    for k, label in enumerate(_labels(rng, n)):
        fact = rng.choice(world.facts)
        if label:
            first, second = rng.sample(w.PHRASINGS[fact.relation], 2)
            a, b = _fact_text(rng, fact, first), _fact_text(rng, fact, second)
        else:
            a, b = _fact_text(rng, fact), _fact_text(rng, _non_paraphrase(rng, world, fact))
        if rng.random() < 0.5:
            a, b = b, a
        rows.append((label, ids[2 * k], ids[2 * k + 1], a, b))
    return rows


# --- STS-B -----------------------------------------------------------------------------


def _subject_first(relation: str) -> list[str]:
    return [p for p in w.PHRASINGS[relation] if p.startswith("[X] ")]


def _facts_sentence(rng, subject: w.Entity, facts: list[w.Fact]) -> str:
    """ "Anna Borel grew up in Velmora , works as a baker and speaks Velish ." (detokenized)."""
    predicates = []
    for fact in facts:
        words = w.state(fact, rng.choice(_subject_first(fact.relation)))
        predicates.append(words[len(subject.label.split()) : -1])
    words = subject.label.split()
    for i, predicate in enumerate(predicates):
        if i and i == len(predicates) - 1:
            words.append("and")
        elif i:
            words.append(",")
        words.extend(predicate)
    return detokenize([*words, "."])


def _fact_sets(rng, world: w.World, people: list[w.Entity], high: bool):
    person = rng.choice(people)
    facts = _stsb_facts(world, person)
    a = rng.sample(facts, min(len(facts), rng.randint(1, 3)))
    if high:  # mostly the same facts
        b = list(a)
        rest = [f for f in facts if f not in a]
        if rest and rng.random() < 0.5:
            b.append(rng.choice(rest))
        elif len(b) > 2 and rng.random() < 0.5:
            b.pop(rng.randrange(len(b)))
        rng.shuffle(b)
        return person, a, person, b
    if rng.random() < 0.4:  # the same person, other facts
        rest = [f for f in facts if f not in a] or facts
        return person, a, person, rng.sample(rest, min(len(rest), rng.randint(1, 2)))
    other = rng.choice([p for p in people if p is not person])
    of = _stsb_facts(world, other)
    return person, a, other, rng.sample(of, min(len(of), rng.randint(1, 3)))


def _stsb_facts(world: w.World, person: w.Entity) -> list[w.Fact]:
    """A person's facts, one per relation (so a sentence never lists a relation twice)."""
    seen, out = set(), []
    for f in world.facts_about(person):
        if f.relation not in seen:
            seen.add(f.relation)
            out.append(f)
    return out


def _similarity(rng, s1, a, s2, b) -> float:
    pairs_a = {(f.relation, f.object.label) for f in a}
    pairs_b = {(f.relation, f.object.label) for f in b}
    shared = len(pairs_a & pairs_b)
    if s1 is s2:
        score = 1.0 + 4.0 * shared / len(pairs_a | pairs_b)
    else:
        same_relation = len({r for r, _ in pairs_a} & {r for r, _ in pairs_b})
        score = min(1.5, 0.5 * shared + 0.2 * same_relation)
    return min(5.0, max(0.0, score + rng.uniform(-0.25, 0.25)))


def stsb(rng, world: w.World, n: int) -> list[tuple[str, str, float]]:
    """(sentence1, sentence2, score) rows; half the scores are at least 2.5."""
    rows = []
    people = [p for p in world.people if len(_stsb_facts(world, p)) >= 2]
    for high in _labels(rng, n):
        while True:
            s1, a, s2, b = _fact_sets(rng, world, people, bool(high))
            score = _similarity(rng, s1, a, s2, b)
            if (score >= 2.5) == bool(high):
                break
        rows.append((_facts_sentence(rng, s1, a), _facts_sentence(rng, s2, b), score))
    return rows
