"""LAMA exposure: how often a fact's subject and object were seen together, against P@1.

For each LAMA fact scored at a checkpoint (:mod:`embryo.embryology.lama`), its
*exposure* at step S is the number of training sequences, among the ``S * batch_size``
that steps 1..S fed the model (repeats counted: a block seen in two epochs counts
twice), whose text holds both the fact's subject and its object. This is the count of
Kandpal et al. (2023, "Large Language Models Struggle to Learn Long-Tail Knowledge",
§3: documents in which the question's and the answer's entities co-occur, against QA
accuracy), taken where the model can link them, one training sequence, and up to each
checkpoint rather than over the whole corpus, so that when a fact is learned can be set
against how often it had been seen.

Which sequences a step held is a function of the run's data-order seed, batch size and
step (:func:`embryo.train.segment.batch_indices`): nothing is logged during training.
A branch (``runs.<run>.branch``) saw its parent's batches up to the branch step, then its
own: :func:`exposures` takes the run's spans, oldest first.

Matching: a block's text is its tokens decoded (special tokens dropped), and a label
occurs in it when its words (``\\w+`` runs, lower-cased) appear there as consecutive
words; subject and object must occur apart (no word shared), so that a subject holding
its object ("New England", "England") is not its own co-occurrence. An [UNK] piece or a
label the tokenizer cannot spell therefore never matches: the count is of what the model
could read.
"""

from __future__ import annotations

import re
from array import array
from typing import NamedTuple

from embryo.runtime.errors import EmbryoError

WORD = re.compile(r"\w+")
COLUMNS = [
    "step",
    "item",
    "relation",
    "type",
    "sub_label",
    "obj_label",
    "exposure",
    "rank",
    "correct",
]


class Span(NamedTuple):
    """Steps ``after + 1 .. through`` of a run, drawn from one block set in one order."""

    blocks: str
    after: int
    through: int
    batch_size: int
    seed: int


def words(text: str) -> tuple[str, ...]:
    return tuple(WORD.findall(text.lower()))


def visits(step: int, batch_size: int, n_blocks: int, seed: int):
    """How many times each block was drawn by steps 1..``step`` of one data order (an
    array of ``n_blocks`` counts): the stream of :func:`~embryo.train.segment.batch_indices`
    visits every block once per full epoch, then the first samples of the next epoch's
    permutation (drawn as there: ``default_rng([seed, epoch])``)."""
    import numpy as np

    epochs, rest = divmod(step * batch_size, n_blocks)
    counts = np.full(n_blocks, epochs, dtype=np.int64)
    if rest:
        counts[np.random.default_rng([seed, epochs]).permutation(n_blocks)[:rest]] += 1
    return counts


def cooccurrence(texts, facts):
    """A sparse 0/1 matrix, blocks x facts: block ``b`` (the ``b``-th of the iterable
    ``texts``) holds fact ``f``'s subject and object (``facts``: ``(sub_label,
    obj_label)`` pairs), by :func:`words`."""
    import numpy as np
    from scipy import sparse

    labels: dict[tuple[str, ...], int] = {}
    pairs = []
    for sub, obj in facts:
        s, o = words(sub), words(obj)
        if not s or not o:
            raise EmbryoError(f"LAMA fact ({sub!r}, {obj!r}): a label without a word")
        pairs.append((labels.setdefault(s, len(labels)), labels.setdefault(o, len(labels))))
    by_subject: dict[int, list[tuple[int, int]]] = {}
    for k, (s, o) in enumerate(pairs):
        by_subject.setdefault(s, []).append((o, k))
    starts: dict[str, set[int]] = {}  # a label's first word: the lengths of its labels
    for label in labels:
        starts.setdefault(label[0], set()).add(len(label))
    rows, cols, n_blocks = array("q"), array("q"), 0  # 8 bytes a pair's block and fact
    for b, text in enumerate(texts):
        n_blocks = b + 1
        seq = words(text)
        found: dict[int, list[tuple[int, int]]] = {}  # label: its (first, last + 1) words
        for i, word in enumerate(seq):
            for n in starts.get(word, ()):
                if seq[i : i + n] in labels:
                    found.setdefault(labels[seq[i : i + n]], []).append((i, i + n))
        for s in found.keys() & by_subject.keys():
            for o, k in by_subject[s]:
                if o in found and _apart(found[s], found[o]):
                    rows.append(b)
                    cols.append(k)
    data = np.ones(len(rows), dtype=np.int64)
    rows, cols = np.frombuffer(rows, dtype=np.int64), np.frombuffer(cols, dtype=np.int64)
    return sparse.csr_matrix((data, (rows, cols)), shape=(n_blocks, len(pairs)))


def _apart(first, second) -> bool:
    """Whether an occurrence in ``first`` and one in ``second`` share no word: a subject
    that contains its object ("New England", "England") or is it ("Thor", "Thor") needs
    the object once more on its own."""
    return any(a_end <= b or b_end <= a for a, a_end in first for b, b_end in second)


def block_texts(blocks_dir, tokenizer_dir, *, batch_size: int = 1000):
    """Every training block's text, in order, decoded without special tokens: a generator
    (a corpus's decoded text is never held whole)."""
    from transformers import AutoTokenizer

    from embryo.data.blocks import load_blocks

    decoder = AutoTokenizer.from_pretrained(str(tokenizer_dir)).backend_tokenizer
    train = load_blocks(blocks_dir)["train"]
    for start in range(0, len(train), batch_size):
        ids = train[start : start + batch_size]["input_ids"]
        yield from decoder.decode_batch(ids, skip_special_tokens=True)  # batch_decode's, 2x faster


def exposures(spans: list[Span], steps, matrices):
    """Each fact's exposure at each of ``steps`` (an array, steps x facts): per span, the
    block visits of its steps up to that one times the span's co-occurrence matrix
    (``matrices[span.blocks]``)."""
    import numpy as np

    n_facts = next(iter(matrices.values())).shape[1]
    out = np.zeros((len(steps), n_facts), dtype=np.int64)
    for span in spans:
        matrix = matrices[span.blocks]
        order = (span.batch_size, matrix.shape[0], span.seed)
        before = visits(span.after, *order)  # the draws of the steps before the span
        for row, step in enumerate(steps):
            if step > span.after:
                out[row] += matrix.T @ (visits(min(step, span.through), *order) - before)
    return out


def exposure_table(spans, tokenizers: dict, items: dict):
    """The table (:data:`COLUMNS`) of every scored fact at every analysed step: its
    exposure and whether the checkpoint ranked its object first.

    ``spans``: the run's :class:`Span` list, oldest first; ``tokenizers``: each span's
    blocks directory to its tokenizer; ``items``: step to that checkpoint's LAMA items
    (:func:`embryo.embryology.lama.fact_items`; skipped facts are left out).
    """
    import pandas as pd

    steps = sorted(items)
    if not steps:
        raise EmbryoError("LAMA exposure: no analysed checkpoint")
    first = items[steps[0]]
    facts = list(zip(first["sub_label"], first["obj_label"], strict=True))
    matrices = {
        blocks: cooccurrence(block_texts(blocks, tokenizers[blocks]), facts)
        for blocks in {span.blocks for span in spans}
    }
    counts = exposures(spans, steps, matrices)
    frames = []
    for row, step in enumerate(steps):
        table = items[step]
        if list(zip(table["sub_label"], table["obj_label"], strict=True)) != facts:
            raise EmbryoError(f"LAMA exposure: step {step} scored other facts than step {steps[0]}")
        frame = table.assign(step=step, exposure=counts[row])
        frame = frame[frame["skipped"].fillna("") == ""]
        frame = frame.assign(rank=frame["rank"].astype(int))
        frames.append(frame.assign(correct=frame["rank"] == 1)[COLUMNS])
    return pd.concat(frames, ignore_index=True)
