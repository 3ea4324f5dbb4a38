"""LAMA exposure: block visits equal the training loop's batches; co-occurrence by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from embryo.embryology.exposure import (
    Span,
    block_texts,
    cooccurrence,
    exposure_table,
    exposures,
    visits,
)
from embryo.results.exposure import binned, bins
from embryo.runtime.errors import EmbryoError
from embryo.train.segment import batch_indices


@pytest.mark.parametrize("step", [0, 1, 7, 10, 23])
def test_visits_are_the_batches_of_steps_one_to_s(step):
    """10 blocks, batch 4: step 23 has drawn 92 samples, 9 full epochs and 2 more."""
    drawn = [batch_indices(t, 4, 10, seed=3) for t in range(1, step + 1)]
    expected = np.bincount(np.concatenate(drawn), minlength=10) if drawn else np.zeros(10)
    assert visits(step, 4, 10, seed=3).tolist() == expected.tolist()
    assert visits(step, 4, 10, seed=3).sum() == 4 * step


def test_cooccurrence_by_hand():
    texts = [
        "dante was born in florence .",  # fact 0
        "florence is in italy ; dante alighieri",  # facts 0 and 2 (dante alighieri, italy)
        "the city of paris , capital of france",  # fact 1 (paris, france)
        "parisian food in france",  # no "paris" word: nothing
        "Dante Alighieri wrote in Italy",  # labels are matched lower-cased: fact 2 and no 0
    ]
    facts = [("Dante", "Florence"), ("Paris", "France"), ("Dante Alighieri", "Italy")]
    matrix = cooccurrence(texts, facts).toarray()
    assert matrix.tolist() == [[1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert (cooccurrence(iter(texts), facts).toarray() == matrix).all()  # a stream of texts
    # a subject that holds its object, or is it, needs the object once more apart from it
    inside = [("New England", "England"), ("Thor", "Thor")]
    texts = ["new england is large", "new england and england", "thor", "thor , son of thor"]
    assert cooccurrence(texts, inside).toarray().tolist() == [[0, 0], [1, 0], [0, 0], [0, 1]]
    assert cooccurrence(iter([]), facts).shape == (0, 3)
    with pytest.raises(EmbryoError, match="a label without a word"):
        cooccurrence(texts, [("Dante", " . ")])


def test_exposures_sum_visits_over_the_spans_of_a_branch():
    """Parent steps 1..6 from blocks A (seed 1), branch steps 7..10 from blocks B (seed 2)."""
    from scipy import sparse

    a = sparse.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]]))
    b = sparse.csr_matrix(np.array([[0, 1], [1, 1]]))
    spans = [Span("A", 0, 6, 2, 1), Span("B", 6, 10, 3, 2)]
    got = exposures(spans, [0, 4, 6, 10], {"A": a, "B": b})

    def by_loop(blocks, matrix, first, last, batch, seed):
        total = np.zeros(2, dtype=int)
        for t in range(first, last + 1):
            for i in batch_indices(t, batch, matrix.shape[0], seed):
                total += matrix.toarray()[i]
        return total

    assert got[0].tolist() == [0, 0]
    assert got[1].tolist() == by_loop("A", a, 1, 4, 2, 1).tolist()
    assert got[2].tolist() == by_loop("A", a, 1, 6, 2, 1).tolist()
    assert got[3].tolist() == (by_loop("A", a, 1, 6, 2, 1) + by_loop("B", b, 7, 10, 3, 2)).tolist()


def test_bins_are_powers_of_two():
    assert bins([0, 1, 2, 3, 4, 7, 8, 1000]).tolist() == [0, 1, 2, 2, 4, 4, 8, 512]


def test_binned_p_at_1_with_clopper_pearson_interval():
    table = pd.DataFrame(
        {
            "step": 5,
            "exposure": [0, 0, 0, 0, 3, 2],
            "correct": [True, False, False, False, True, True],
        }
    )
    out = binned(table).set_index("bin")
    assert out.loc[0, "facts"] == 4 and out.loc[0, "p_at_1"] == 0.25
    assert out.loc[2, "facts"] == 2 and out.loc[2, "p_at_1"] == 1.0
    # Clopper-Pearson for 1 of 4 at 95%: [0.0063, 0.8059]
    assert out.loc[0, "low"] == pytest.approx(0.00631, abs=1e-4)
    assert out.loc[0, "high"] == pytest.approx(0.80588, abs=1e-4)


def test_exposure_table_counts_the_run_s_own_blocks(tiny_blocks, tiny_tokenizer):
    """End to end on packed blocks: a fact of two words of the tiny corpus is counted in
    the blocks that training drew, by the loop's own batch indices."""
    texts = list(block_texts(tiny_blocks, tiny_tokenizer))
    first = texts[0].split()
    sub, obj = first[0], first[1]
    items = {
        step: pd.DataFrame(
            {
                "item": [0, 1],
                "relation": "P1",
                "label": "x",
                "type": "N-1",
                "sub_label": [sub, "zzzz"],
                "obj_label": [obj, "qqqq"],
                "skipped": ["", "multi_piece"],
                "rank": pd.array([1 if step else 5, None], dtype="Int64"),
            }
        )
        for step in (0, 3, 9)
    }
    spans = [Span(str(tiny_blocks), 0, 9, 4, 0)]
    table = exposure_table(spans, {str(tiny_blocks): tiny_tokenizer}, items)
    assert table["item"].tolist() == [0, 0, 0]  # the skipped fact is left out
    assert table["correct"].tolist() == [False, True, True]
    held = [i for i, text in enumerate(texts) if {sub, obj} <= set(text.split())]
    for step, exposure in zip(table["step"], table["exposure"], strict=True):
        drawn = [i for t in range(1, step + 1) for i in batch_indices(t, 4, len(texts), 0)]
        assert exposure == sum(i in held for i in drawn)
