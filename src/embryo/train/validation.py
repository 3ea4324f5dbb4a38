"""A run's validation curve: one row per checkpoint, its masked-LM loss on validation blocks.

A trained run's rows come from its segments' ``metrics.json`` (each segment scores its
checkpoint as it saves it). An imported series' checkpoints are scored here, one job per
checkpoint (:func:`score_checkpoint`), by the same measure (:func:`embryo.train.segment.evaluate`:
the same blocks and the same masks, drawn from the run's seed, at every checkpoint) on the
validation split of the corpus that the run names, packed with the series' own tokenizer,
so that an imported series gets the curve a trained run has.
"""

from __future__ import annotations

import json
from pathlib import Path

from embryo.runtime.atomic import write_json, write_text


def score_checkpoint(
    model_dir,
    blocks_dir,
    out_path,
    *,
    step: int,
    seed: int,
    probability: float,
    batch_size: int,
    max_blocks,
) -> dict:
    """Masked-LM validation loss, perplexity and accuracy of the checkpoint ``model_dir`` on
    the validation blocks in ``blocks_dir`` (:func:`embryo.data.blocks.pack_corpus`, packed
    with this checkpoint's tokenizer); written to ``out_path`` as a segment's
    ``metrics.json`` would hold them."""
    import torch

    from embryo.data.blocks import load_blocks
    from embryo.models.loading import load_masked_lm, max_positions
    from embryo.runtime.errors import EmbryoError
    from embryo.train.segment import evaluate

    model, tokenizer = load_masked_lm(model_dir)
    blocks = load_blocks(blocks_dir)["validation"]
    width = len(blocks[0]["input_ids"])
    if width > max_positions(model):
        raise EmbryoError(
            f"{blocks_dir}: blocks of {width} tokens, but {model_dir} admits "
            f"{max_positions(model)} positions; lower the run's block_size"
        )
    with torch.inference_mode():
        metrics = evaluate(
            model,
            blocks,
            tokenizer,
            seed=seed,
            probability=probability,
            batch_size=batch_size,
            max_blocks=max_blocks,
        )
    metrics = {"step": step, **metrics}
    write_json(out_path, metrics)
    return metrics


BLOCK_KEYS = ("val_block_loss", "val_block_tokens")


def validation_table(inputs, out_csv, *, run: str, items=None) -> None:
    """One row per checkpoint: the run's validation loss and perplexity curve, as CSV.
    ``inputs`` are segment directories (their ``metrics.json``) or the files
    :func:`score_checkpoint` writes. ``items``: where the per-block losses go (Parquet:
    run, step, block, loss (summed over its masked tokens), tokens), the units the
    findings resample; a checkpoint scored before they were kept has none."""
    import pandas as pd

    from embryo.runtime.atomic import write_parquet

    rows, blocks = [], []
    for path in map(Path, inputs):
        metrics = path / "metrics.json" if path.is_dir() else path
        row = {"run": run, **json.loads(metrics.read_text())}
        loss, tokens = (row.pop(k, None) for k in BLOCK_KEYS)
        if loss is not None:
            blocks.append(
                pd.DataFrame(
                    {
                        "run": run,
                        "step": row["step"],
                        "block": range(len(loss)),
                        "loss": loss,
                        "tokens": tokens,
                    }
                )
            )
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("step")
    if items is not None:
        columns = ["run", "step", "block", "loss", "tokens"]
        frame = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=columns)
        write_parquet(items, frame.astype({"step": int, "block": int}))
    write_text(out_csv, table.to_csv(index=False))
