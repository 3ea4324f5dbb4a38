"""Edge-probing data: jiant's JSON format, and spans derived from dependency trees.

Tenney et al. (2019, "What do you learn from context? Probing for sentence structure in
contextualized word representations", §2-3) cast structure as labelled spans: each
record is a sentence and its targets, one span (constituent labels) or two (semantic
role labelling: predicate and argument; coreference: two mentions), each with a label.
jiant distributes the data as JSON lines (``edges/ontonotes/const/train.json`` etc.)::

    {"text": "The owl sleeps .", "targets": [{"span1": [0, 2], "label": "NP"}, ...]}

spans are ``[start, end)`` over the text's space-separated tokens, and the Embryology
code reads exactly these files (Sec-3:Edge-Probing/preprocess/extract_feature.py,
``data['text'].split(' ')``, ``target['span1']``, ``target['label']``). A label given as a
list of one string is that string; a target with several labels (multi-label tasks
such as SPR) is refused, since the probes here are softmax classifiers with one label
per target, as theirs (main.py).

The built-in language writes its constituents and predicate-argument spans in this format
(:func:`constituents`, :func:`predicate_arguments`), read off its dependency trees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError, where


class Target(NamedTuple):
    span1: tuple[int, int]
    span2: tuple[int, int] | None
    label: str


class Record(NamedTuple):
    words: list[str]
    targets: list[Target]


def _span(value, n_words: int, path, line: int, key: str) -> tuple[int, int]:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok:
        raise EmbryoError(f"{where(path, line)}: {key} should be [start, end], not {value!r}")
    start, end = value
    if not 0 <= start < end <= n_words:
        raise EmbryoError(
            f"{where(path, line)}: {key} {value} is not a span of the text's {n_words} tokens "
            "([start, end), 0 <= start < end)"
        )
    return start, end


def _label(value, path, line: int) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EmbryoError(
            f"{where(path, line)}: label should be one string, not {value!r} (one label per "
            "target: multi-label targets are not supported)"
        )
    return str(value)


def read_edges(path, max_records: int | None = None) -> list[Record]:
    """Read a jiant edge-probing file: one record per non-blank line, errors by line."""
    path = Path(path)
    if not path.is_file():
        raise EmbryoError(f"{path}: edge-probing file not found")
    records = []
    with path.open(encoding="utf-8-sig") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            if max_records is not None and len(records) >= max_records:
                break
            try:
                data = json.loads(text)
            except json.JSONDecodeError as err:
                raise EmbryoError(f"{where(path, line)}: not JSON ({err.msg})") from None
            if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                raise EmbryoError(f'{where(path, line)}: expected an object with a "text" string')
            targets = data.get("targets")
            if not isinstance(targets, list):
                raise EmbryoError(f'{where(path, line)}: expected a "targets" list')
            words = data["text"].split(" ")
            parsed = []
            for target in targets:
                if not isinstance(target, dict) or "span1" not in target or "label" not in target:
                    raise EmbryoError(
                        f'{where(path, line)}: a target needs "span1" and "label", got {target!r}'
                    )
                span2 = target.get("span2")
                parsed.append(
                    Target(
                        _span(target["span1"], len(words), path, line, "span1"),
                        None if span2 is None else _span(span2, len(words), path, line, "span2"),
                        _label(target["label"], path, line),
                    )
                )
            pairs = {t.span2 is not None for t in parsed}
            if len(pairs) > 1:
                raise EmbryoError(
                    f"{where(path, line)}: some targets have span2 and some not; a task is "
                    "either single-span or span-pair"
                )
            records.append(Record(words, parsed))
    if not records:
        raise EmbryoError(f"{path}: no records")
    return records


def write_edges(path, records) -> int:
    """Write ``records`` (:class:`Record`) as a jiant edge-probing file; return the targets."""
    lines, n = [], 0
    for words, targets in records:
        out = []
        for span1, span2, label in targets:
            item = {"span1": list(span1), "label": label}
            if span2 is not None:
                item["span2"] = list(span2)
            out.append(item)
        n += len(out)
        lines.append(json.dumps({"text": " ".join(words), "targets": out}) + "\n")
    with atomic_path(path) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")
    return n


# ---- spans of a dependency tree --------------------------------------------------------

# dependents that belong to a noun phrase (UD), as opposed to the clause around its head
_NOMINAL = {
    "det",
    "amod",
    "compound",
    "nmod",
    "nmod:poss",
    "nummod",
    "flat",
    "acl:relcl",
    "acl",
    "appos",
    "conj",
    "cc",
}
_NOMINALS = {"NOUN", "PROPN", "PRON", "NUM"}
_INSIDE = {"flat", "compound", "fixed", "goeswith", "nummod"}  # parts of a nominal's head
_TEMPORAL = {
    "yesterday",
    "today",
    "tomorrow",
    "often",
    "never",
    "always",
    "sometimes",
    "now",
    "then",
    "soon",
    "again",
    "rarely",
    "usually",
}
_LOCATIVE = {
    "in",
    "at",
    "on",
    "near",
    "under",
    "behind",
    "inside",
    "across",
    "from",
    "to",
    "into",
    "over",
    "beside",
    "around",
}


def _children(sentence) -> list[list[int]]:
    kids = [[] for _ in sentence.words]
    for i, head in enumerate(sentence.heads):
        if head >= 0:
            kids[head].append(i)
    return kids


def _yields(sentence, kids) -> list[tuple[int, int]]:
    """Each word's subtree as [first, last + 1)."""
    out: list[tuple[int, int] | None] = [None] * len(sentence.words)

    def visit(i):
        if out[i] is None:
            first, last = i, i + 1
            for k in kids[i]:
                a, b = visit(k)
                first, last = min(first, a), max(last, b)
            out[i] = (first, last)
        return out[i]

    for i in range(len(sentence.words)):
        visit(i)
    return out


def _has_subject(i: int, kids, deps) -> bool:
    return any(deps[k] in ("nsubj", "nsubj:pass") for k in kids[i])


def _cover(i: int, parts, yields) -> tuple[int, int] | None:
    """The span of word ``i`` and the subtrees of ``parts``, if it is contiguous."""
    spans = [(i, i + 1), *(yields[k] for k in parts)]
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        if start != end:
            return None
    return spans[0][0], spans[-1][1]


def constituents(sentence) -> list[Target]:
    """Labelled constituents of a projective dependency tree, in the Penn Treebank's
    nonterminal labels (the edge-probing constituent task): NP (a nominal with its
    determiners, modifiers, relative clauses and conjuncts), PP (a case-marked nominal
    with its preposition), ADJP (an adjective with its adverbs), VP (a clause's verb group
    and what follows it, when the subject comes first), S (a clause, its subordinator
    and final punctuation left out) and SBAR (a subordinate or relative clause with its
    subordinator or relative pronoun). ``sentence``: a :class:`~embryo.data.treebank.Sentence`.
    Sorted by span, one label per span (the outermost where labels would stack)."""
    kids, deps, upos = _children(sentence), sentence.deprels, sentence.upos
    yields = _yields(sentence, kids)
    found: dict[tuple[int, int], str] = {}

    def add(span, label):
        if span is not None:
            found[span] = label  # visited innermost first: an outer label replaces

    order = sorted(range(len(upos)), key=lambda i: yields[i][1] - yields[i][0])
    for i in order:
        own = [k for k in kids[i] if deps[k] != "punct"]
        subject = [k for k in own if deps[k] in ("nsubj", "nsubj:pass")]
        clause = bool(subject) or deps[i] in ("root", "acl:relcl", "advcl", "ccomp")
        if upos[i] in _NOMINALS and deps[i] not in _INSIDE:  # or a predicate nominal
            core = [k for k in own if deps[k] in _NOMINAL]
            wh = sentence.xpos[i] in ("WDT", "WP")
            add(_cover(i, core, yields), "WHNP" if wh else "NP")
            case = [k for k in own if deps[k] == "case"]
            if case:
                add(_cover(i, core + case, yields), "PP")
        elif upos[i] == "ADJ" and not clause:
            degree = [k for k in own if deps[k] == "advmod"]
            if degree:
                add(_cover(i, degree, yields), "ADJP")
        if not clause or upos[i] not in {*_NOMINALS, "VERB", "ADJ"}:
            continue
        lead = [k for k in own if deps[k] == "mark" or sentence.xpos[k] in ("WDT", "WP")]
        body = [k for k in own if k not in lead and deps[k] != "cc"]
        # a clause coordinated with this one (UD: a conj of its head) is outside its S
        joined = [k for k in body if deps[k] == "conj" and _has_subject(k, kids, deps)]
        inner = [k for k in body if k not in joined]
        s = _cover(i, inner, yields)
        if subject and s is not None and yields[subject[0]][0] == s[0]:  # subject first
            after = max(yields[k][1] for k in subject)
            span = _cover(i, [k for k in inner if yields[k][0] >= after], yields)
            if span is not None and span[0] >= after:
                add(span, "VP")
        add(s, "S")
        if joined:
            add(_cover(i, body, yields), "S")
        if lead and deps[i] != "root":
            add(_cover(i, [k for k in own if deps[k] != "cc"], yields), "SBAR")
    return [Target(span, None, label) for span, label in sorted(found.items())]


def predicate_arguments(sentence) -> list[Target]:
    """Semantic roles of each verb, read off its dependents (PropBank-style labels, the
    edge-probing SRL task: span1 the predicate, span2 the argument's subtree): nsubj ARG0,
    obj and nsubj:pass ARG1, iobj ARG2, a locative oblique ARGM-LOC and another
    ARGM-ADV, a temporal adverb ARGM-TMP, negation ARGM-NEG, a modal ARGM-MOD."""
    kids = _children(sentence)
    yields = _yields(sentence, kids)
    out = []
    for v, tag in enumerate(sentence.upos):
        if tag != "VERB":
            continue
        for k in kids[v]:
            role = _role(sentence, kids, k)
            if role is not None:
                out.append(Target((v, v + 1), yields[k], role))
    return out


def _role(sentence, kids, k: int) -> str | None:
    dep, word = sentence.deprels[k], sentence.words[k].lower()
    if dep == "nsubj":
        return "ARG0"
    if dep in ("obj", "nsubj:pass"):
        return "ARG1"
    if dep == "iobj":
        return "ARG2"
    if dep == "obl":
        case = [sentence.words[c].lower() for c in kids[k] if sentence.deprels[c] == "case"]
        return "ARGM-LOC" if case and case[0] in _LOCATIVE else "ARGM-ADV"
    if dep == "advmod":
        if word in ("not", "n't"):
            return "ARGM-NEG"
        return "ARGM-TMP" if word in _TEMPORAL else "ARGM-ADV"
    if dep == "aux" and sentence.xpos[k] == "MD":
        return "ARGM-MOD"
    return None
