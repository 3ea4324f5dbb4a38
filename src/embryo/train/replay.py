"""What a pretraining step saw: the blocks of its batch and the documents they come from.

A step's batch is a function of the run's data-order seed, the batch size and the step
(:func:`embryo.train.segment.batch_indices`), so it can be told after the fact without
logging anything during training: step t takes samples (t-1)·B .. t·B-1 of an endless
stream that visits the blocks in a fresh seeded permutation every epoch. Each block
records the corpus documents its tokens come from (``docs``, :mod:`embryo.data.blocks`),
numbered as in the prepared corpus's ``doc`` column (``results/corpora/{corpus}/train.parquet``).

``snakemake results/{run}/replay/step-{step}.csv`` writes the table of a step;
``make replay RUN=... STEP=...`` writes and prints it.
"""

from __future__ import annotations

import sys

from embryo.data.records import open_parquet
from embryo.runtime.errors import EmbryoError
from embryo.train.segment import batch_indices


def first_texts(corpus_parquet, docs) -> dict[int, str]:
    """The first text of each document in ``docs``, read from the prepared corpus one
    record batch at a time (stops once every document is found)."""
    wanted, found, row = set(docs), {}, 0
    parquet = open_parquet(corpus_parquet, required=("text",))
    numbered = "doc" in parquet.schema_arrow.names  # else each text its own document
    for batch in parquet.iter_batches(columns=["text", "doc"] if numbered else ["text"]):
        texts = batch.column("text").to_pylist()
        numbers = batch.column("doc").to_pylist() if numbered else range(row, row + len(texts))
        row += len(texts)
        for text, doc in zip(texts, numbers, strict=True):
            if doc in wanted and doc not in found:
                found[doc] = text
        if len(found) == len(wanted):
            break
    return found


def replay(
    blocks_dir,
    corpus_parquet,
    tokenizer_dir,
    *,
    step: int,
    batch_size: int,
    seed: int,
    total_steps: int,
    preview: int = 12,
):
    """The table of step ``step``'s batch: one row per sequence, in the batch's order,
    with its block, the epoch of the stream, the documents its tokens come from, the
    first text of its first document, and its first ``preview`` tokens."""
    import pandas as pd
    from transformers import AutoTokenizer

    from embryo.data.blocks import load_blocks

    if not 1 <= step <= total_steps:
        raise EmbryoError(f"step {step}: the run's optimizer steps are 1 to {total_steps}")
    train = load_blocks(blocks_dir)["train"]
    if "docs" not in train.column_names:
        raise EmbryoError(f"{blocks_dir}: blocks without docs; rerun tokenize_corpus")
    indices = batch_indices(step, batch_size, len(train), seed)
    rows = train.select(indices)
    texts = first_texts(corpus_parquet, {d for docs in rows["docs"] for d in docs})
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    samples = range((step - 1) * batch_size, step * batch_size)
    return pd.DataFrame(
        {
            "step": step,
            "position": range(batch_size),
            "block": indices,
            "epoch": [s // len(train) for s in samples],
            "docs": [" ".join(map(str, docs)) for docs in rows["docs"]],
            "first_doc_text": [texts[docs[0]][:80] for docs in rows["docs"]],
            "tokens": [tokenizer.decode(ids[1 : preview + 1]) for ids in rows["input_ids"]],
        }
    )


def main(argv=None) -> int:
    """``python -m embryo.train.replay FILE``: print a replay table written by the workflow."""
    import pandas as pd

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m embryo.train.replay results/{run}/replay/step-{step}.csv")
        return 2
    with pd.option_context(
        "display.max_rows", None, "display.width", 200, "display.max_colwidth", 60
    ):
        print(pd.read_csv(argv[0]).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
