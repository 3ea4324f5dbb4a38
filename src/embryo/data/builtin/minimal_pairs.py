"""BLiMP-style minimal pairs for phenomena the grammar controls.

Each paradigm builds a grammatical sentence as a tree and derives the ungrammatical one by
changing one thing: the verb's number (with or without an attractor noun of the other
number in between), the noun's number after a demonstrative, the verb's valency, or the
adjective-noun order. Paradigms that mirror a BLiMP paradigm use its name and fields.
"""

from __future__ import annotations

from embryo.data.builtin import lexicon as lx
from embryo.data.builtin.grammar import (
    Grammar,
    Phrase,
    Sentence,
    Tok,
    adj_tok,
    detokenize,
    noun_tok,
    punct_tok,
)
from embryo.data.builtin.tasks import AGREEMENT_SWAPS

# paradigm -> (field, linguistics_term, lexically_identical)
PARADIGMS = {
    "regular_plural_subject_verb_agreement_1": ("morphology", "subject_verb_agreement", False),
    "distractor_agreement_relational_noun": ("morphology", "subject_verb_agreement", False),
    "distractor_agreement_relative_clause": ("morphology", "subject_verb_agreement", False),
    "determiner_noun_agreement_1": ("morphology", "determiner_noun_agreement", True),
    "determiner_noun_agreement_with_adjective_1": (
        "morphology",
        "determiner_noun_agreement",
        True,
    ),
    "transitive": ("syntax", "argument_structure", False),
    "intransitive": ("syntax", "argument_structure", False),
    "adjective_noun_order": ("syntax", "word_order", True),
}
OTHER = {"Sing": "Plur", "Plur": "Sing"}
# verbs that must / cannot take an object, in frequency order
STRICT_TRANSITIVE = lx.Pool([v for v in lx.TRANSITIVE_VERBS if v.lemma in lx.STRICTLY_TRANSITIVE])
STRICT_INTRANSITIVE = lx.Pool(
    [v for v in lx.INTRANSITIVE_VERBS if v.lemma in lx.STRICTLY_INTRANSITIVE]
)


def _text(forms: list[str]) -> str:
    forms = list(forms)
    forms[0] = forms[0][:1].upper() + forms[0][1:]
    return detokenize(forms)


def _finish(root: Tok) -> tuple[Sentence, list[str]]:
    """The sentence of ``root`` (with a full stop) and its forms, lower-cased at the start."""
    root.deprel = "root"
    root.attach(punct_tok("."), "punct", left=False)
    sentence = Sentence(root)
    forms = sentence.forms
    if sentence.tokens[0].upos != "PROPN":
        forms[0] = forms[0].lower()
    return sentence, forms


def _simple_np(g: Grammar, number=None, kinds="any", adjectives=0) -> Phrase:
    return g.common_noun_phrase(number, 2, kinds, adjectives=adjectives, modifiers=False)


def _subject(g: Grammar) -> Phrase:
    if g.people and g.rng.random() < 0.4:
        return g.person_name(g.rng.choice(g.people), full=True)
    return _simple_np(g, None, "animate")


def _agreement(g: Grammar, paradigm: str) -> dict | None:
    """Good/bad differ in the number of the main clause's finite verb or auxiliary."""
    rng = g.rng
    number = rng.choice(("Sing", "Plur"))
    subject = _simple_np(g, number, "animate", adjectives=rng.choice((0, 0, 1)))
    if paradigm == "distractor_agreement_relational_noun":
        attractor = _simple_np(g, OTHER[number])
        prep = rng.choice(("of", "near", "with", "behind"))
        attractor.head.attach(Tok(prep, prep, "ADP", "IN"), "case", left=True, first=True)
        subject.head.attach(attractor.head, "nmod", left=False)
    elif paradigm == "distractor_agreement_relative_clause":
        rel = Tok("who", "who", "PRON", "WP", "PronType=Rel")
        inner = g.clause(
            1,
            subject=Phrase(rel, number),
            kind="trans",
            tense="past",
            negated=False,
            obj=_simple_np(g, OTHER[number]),
            subordinate=False,
            extras=False,
        )
        subject.head.attach(inner, "acl:relcl", left=False)
    tense = rng.choice(("pres", "pres", "prog", "perf"))
    kind = rng.choice(("trans", "intrans"))
    obj = _simple_np(g) if kind == "trans" else None
    root = g.clause(
        0, subject=subject, kind=kind, tense=tense, negated=False, obj=obj, extras=False
    )
    sentence, forms = _finish(root)
    finite = next((i for i, t in enumerate(sentence.tokens) if _agrees(t, root)), None)
    if finite is None:  # "had": the past perfect does not agree
        return None
    bad = list(forms)
    bad[finite] = AGREEMENT_SWAPS[forms[finite]]
    subject_index = sentence.tokens.index(subject.head)
    return {
        "sentence_good": _text(forms),
        "sentence_bad": _text(bad),
        "one_prefix_prefix": _text(forms[:finite]),
        "one_prefix_word_good": forms[finite],
        "one_prefix_word_bad": bad[finite],
        **({"dependency_length": finite - subject_index} if "distractor" in paradigm else {}),
    }


def _agrees(tok: Tok, root: Tok) -> bool:
    """``tok`` is the finite verb or auxiliary of the main clause, and shows agreement."""
    main = tok is root or (tok.deprel == "aux" and tok in root.left)
    return main and (tok.xpos in ("VBZ", "VBP") or tok.form in ("was", "were"))


def _determiner_noun(g: Grammar, paradigm: str) -> dict:
    """ "Anna saw this dog." / "Anna saw this dogs."."""
    rng = g.rng
    number = rng.choice(("Sing", "Plur"))
    det = rng.choice(lx.DEMONSTRATIVES[number])
    adjectives = 1 if "adjective" in paradigm else 0
    obj = g.common_noun_phrase(number, 2, "any", det=det, adjectives=adjectives, modifiers=False)
    root = g.clause(
        0, subject=_subject(g), kind="trans", tense="past", negated=False, obj=obj, extras=False
    )
    sentence, forms = _finish(root)
    noun_index = sentence.tokens.index(obj.head)
    noun = next(n for n in lx.NOUNS if n.lemma == obj.head.lemma)
    bad = list(forms)
    bad[noun_index] = noun_tok(noun, OTHER[number]).form
    return {
        "sentence_good": _text(forms),
        "sentence_bad": _text(bad),
        "one_prefix_prefix": _text(forms[:noun_index]),
        "one_prefix_word_good": forms[noun_index],
        "one_prefix_word_bad": bad[noun_index],
    }


def _valency(g: Grammar, paradigm: str) -> dict:
    """transitive: a transitive verb with its object vs an intransitive one with an object;
    intransitive: an intransitive verb alone vs a transitive one missing its object."""
    rng = g.rng
    subject = _subject(g)
    good_verb, bad_verb = STRICT_TRANSITIVE.pick(rng), STRICT_INTRANSITIVE.pick(rng)
    if paradigm == "intransitive":
        good_verb, bad_verb = bad_verb, good_verb
    obj = _simple_np(g) if paradigm == "transitive" else None
    kind = "trans" if paradigm == "transitive" else "intrans"
    root = g.clause(
        0,
        subject=subject,
        kind=kind,
        tense="past",
        negated=False,
        verb=good_verb,
        obj=obj,
        extras=False,
    )
    sentence, forms = _finish(root)
    verb_index = sentence.tokens.index(root)
    bad = list(forms)
    bad[verb_index] = bad_verb.past
    record = {"sentence_good": _text(forms), "sentence_bad": _text(bad)}
    if paradigm == "transitive":
        record |= {
            "two_prefix_prefix_good": _text(forms[: verb_index + 1]),
            "two_prefix_prefix_bad": _text(bad[: verb_index + 1]),
            "two_prefix_word": detokenize(forms[verb_index + 1 : -1]),
        }
    return record


def _adjective_order(g: Grammar, paradigm: str) -> dict:
    """ "Anna saw the old dog." / "Anna saw the dog old."."""
    rng = g.rng
    obj = g.common_noun_phrase(None, 2, "any", adjectives=0, modifiers=False)
    obj.head.attach(adj_tok(rng.choice(lx.ADJECTIVES)), "amod", left=True)
    root = g.clause(
        0, subject=_subject(g), kind="trans", tense="past", negated=False, obj=obj, extras=False
    )
    sentence, forms = _finish(root)
    noun_index = sentence.tokens.index(obj.head)
    bad = list(forms)
    bad[noun_index - 1], bad[noun_index] = bad[noun_index], bad[noun_index - 1]
    if bad[noun_index - 2] in ("a", "an"):  # the article agrees with the word after it
        bad[noun_index - 2] = lx.article(bad[noun_index - 1])
    return {"sentence_good": _text(forms), "sentence_bad": _text(bad)}


BUILDERS = {
    "regular_plural_subject_verb_agreement_1": _agreement,
    "distractor_agreement_relational_noun": _agreement,
    "distractor_agreement_relative_clause": _agreement,
    "determiner_noun_agreement_1": _determiner_noun,
    "determiner_noun_agreement_with_adjective_1": _determiner_noun,
    "transitive": _valency,
    "intransitive": _valency,
    "adjective_noun_order": _adjective_order,
}


def paradigm_records(rng, paradigm: str, n: int, people=()) -> list[dict]:
    """``n`` distinct pairs of ``paradigm`` in the BLiMP JSON-lines layout."""
    field, term, identical = PARADIGMS[paradigm]
    g = Grammar(rng, people)
    records, seen = [], set()
    attempts = 0
    while len(records) < n and attempts < 50 * n:
        attempts += 1
        pair = BUILDERS[paradigm](g, paradigm)
        if (
            pair is None
            or pair["sentence_good"] in seen
            or pair["sentence_good"] == pair["sentence_bad"]
        ):
            continue
        seen.add(pair["sentence_good"])
        prefix_method = "one_prefix_word_good" in pair
        two_prefix = "two_prefix_word" in pair
        records.append(
            {
                "sentence_good": pair.pop("sentence_good"),
                "sentence_bad": pair.pop("sentence_bad"),
                **{k: v for k, v in pair.items() if k != "dependency_length"},
                **(
                    {"dependency_length": pair["dependency_length"]}
                    if "dependency_length" in pair
                    else {}
                ),
                "field": field,
                "linguistics_term": term,
                "UID": paradigm,
                "simple_LM_method": True,
                "one_prefix_method": prefix_method,
                "two_prefix_method": two_prefix,
                "lexically_identical": identical,
                "pairID": str(len(records)),
            }
        )
    return records
