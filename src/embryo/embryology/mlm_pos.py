"""Token reconstruction and mask prediction accuracy per part of speech.

Chiang, Huang & Lee (2020), §3 "Token reconstruction and mask prediction": a checkpoint
is asked to *reconstruct* the tokens of an unmasked sentence (the MLM output at each
position should be the input token) and to *predict* masked tokens; accuracy is reported
per part of speech, to see which kinds of words the model learns first. Here a word is
right only if every one of its sub-word pieces is predicted right, and for mask prediction
all pieces of the target word are masked at once (one masked copy of the sentence per
word). Words come from a gold treebank (:mod:`embryo.data.treebank`); tags are UPOS and XPOS.
"""

from __future__ import annotations

from embryo.data.treebank import word_pieces
from embryo.models.loading import max_positions
from embryo.runtime.errors import EmbryoError

MODES = ("reconstruction", "mask_prediction")
TAGSETS = ("upos", "xpos")
COLUMNS = ["mode", "tagset", "tag", "correct", "total", "accuracy", "frequency", "skipped"]


def masked_copies(
    ids: list[int], spans: list[tuple[int, int]], mask_id: int
) -> list[tuple[list[int], tuple[int, int]]]:
    """One copy of ``ids`` per word with a non-empty span, with all of that word's pieces
    replaced by ``mask_id``; returns ``(masked_ids, (a, b))`` pairs in word order."""
    return [(ids[:a] + [mask_id] * (b - a) + ids[b:], (a, b)) for a, b in spans if b > a]


def _logits(model, input_ids, selected):
    """Vocabulary logits at the ``selected`` positions (tests replace this function)."""
    from embryo.models.loading import masked_logits

    return masked_logits(model, input_ids, selected)[0]


def _predict(model, sequences, positions, *, batch_size: int, device: str) -> list[dict]:
    """Argmax MLM prediction at ``positions[i]`` of ``sequences[i]``: a {position: id} per sequence.

    Sequences are batched with others of exactly the same length, so no padding and no
    attention mask are needed and a sequence's prediction does not depend on its batch
    mates (every masked copy of a sentence has the sentence's length, so batches fill up).
    """
    import torch
    from tqdm import tqdm

    from embryo.models.loading import same_length_batches

    asked = [i for i in range(len(sequences)) if positions[i]]
    batches = same_length_batches(asked, [len(sequences[i]) for i in asked], batch_size)
    out = [{} for _ in sequences]
    for batch in tqdm(batches, desc="mlm by pos", mininterval=10, leave=False):
        input_ids = torch.tensor([sequences[i] for i in batch], device=device)
        selected = torch.zeros_like(input_ids, dtype=torch.bool)
        for row, i in enumerate(batch):
            selected[row, positions[i]] = True
        predicted = _logits(model, input_ids, selected).argmax(-1).tolist()
        # Boolean indexing is row-major: rows in batch order, positions ascending.
        rows = selected.nonzero().tolist()
        for (row, pos), pred in zip(rows, predicted, strict=True):
            out[batch[row]][pos] = pred
    return out


def score_words(model, tokenizer, sentences, *, batch_size: int = 64, max_length: int = 128):
    """Per-word outcomes: a list of dicts (sentence, word, upos, xpos, reconstruction,
    mask_prediction), the two outcomes True/False, or None for a word skipped (empty span).
    ``model`` is an eval-mode masked LM on its device; call under ``torch.no_grad()``."""
    mask_id = tokenizer.mask_token_id
    if mask_id is None:
        raise EmbryoError(f"tokenizer {tokenizer.name_or_path!r} has no mask token")
    device = next(model.parameters()).device
    encoded = [word_pieces(tokenizer, s.words, max_length=max_length) for s in sentences]

    # Reconstruction: one unmasked sequence per sentence, every kept piece predicted.
    recon = _predict(
        model,
        [ids for ids, _ in encoded],
        [[p for a, b in spans for p in range(a, b)] for _, spans in encoded],
        batch_size=batch_size,
        device=device,
    )
    # Mask prediction: one copy per kept word with all its pieces masked.
    copies, owners = [], []
    for k, (ids, spans) in enumerate(encoded):
        for masked, span in masked_copies(ids, spans, mask_id):
            copies.append(masked)
            owners.append((k, span))
    masked_pred = _predict(
        model,
        copies,
        [list(range(a, b)) for _, (a, b) in owners],
        batch_size=batch_size,
        device=device,
    )
    by_word = {(k, span): pred for (k, span), pred in zip(owners, masked_pred, strict=True)}

    records = []
    for k, (sentence, (ids, spans)) in enumerate(zip(sentences, encoded, strict=True)):
        for w, (a, b) in enumerate(spans):
            rec = {"sentence": k, "word": w, "upos": sentence.upos[w], "xpos": sentence.xpos[w]}
            if b > a:
                rec["reconstruction"] = all(recon[k][p] == ids[p] for p in range(a, b))
                pred = by_word[(k, (a, b))]
                rec["mask_prediction"] = all(pred[p] == ids[p] for p in range(a, b))
            else:
                rec["reconstruction"] = rec["mask_prediction"] = None
            records.append(rec)
    return records


ITEM_COLUMNS = ["item", "sentence", "word", "upos", "xpos", *MODES]


def word_items(records):
    """The per-word outcomes of :func:`score_words` as a DataFrame with `ITEM_COLUMNS`.

    ``item`` numbers the words of all sentences in order (the item id of the per-item
    file); the two outcomes are nullable booleans, missing for a word skipped for length.
    """
    import pandas as pd

    items = pd.DataFrame(list(records), columns=ITEM_COLUMNS[1:])
    items.insert(0, "item", range(len(items)))
    for mode in MODES:
        items[mode] = items[mode].astype("boolean")
    return items


def summarise(items):
    """Rows per (mode, tagset, tag) from per-word outcomes, with `COLUMNS`.

    ``items``: :func:`word_items` (or the :func:`score_words` records). ``accuracy`` =
    correct / total over scored words; ``frequency`` = the tag's share of all scored
    words (summing to 1 per mode and tagset); ``skipped`` counts the tag's words left out
    for length. A tag whose words were all skipped has accuracy NaN.
    """
    import pandas as pd

    if not isinstance(items, pd.DataFrame):
        items = word_items(items)
    rows = []
    for mode in MODES:
        outcome = items[mode]
        for tagset in TAGSETS:
            tags = items[tagset]
            scored = outcome.notna()
            frame = pd.DataFrame(
                {"tag": tags, "scored": scored, "correct": outcome.fillna(False).astype(int)}
            )
            per_tag = frame.groupby("tag", sort=True).agg(
                total=("scored", "sum"), correct=("correct", "sum"), words=("scored", "size")
            )
            n_scored = int(scored.sum())
            for tag, row in per_tag.iterrows():
                n = int(row["total"])
                rows.append(
                    {
                        "mode": mode,
                        "tagset": tagset,
                        "tag": tag,
                        "correct": int(row["correct"]),
                        "total": n,
                        "accuracy": row["correct"] / n if n else float("nan"),
                        "frequency": n / n_scored if n_scored else float("nan"),
                        "skipped": int(row["words"]) - n,
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def mlm_items(
    model_dir,
    sentences,
    *,
    batch_size: int = 64,
    max_length: int = 128,
    device: str | None = None,
):
    """Reconstruction and mask prediction outcome of every word of ``sentences``.

    ``model_dir`` is a checkpoint with its tokenizer; ``sentences`` come from
    :func:`embryo.data.treebank.read_conllu`. Sequences are cut at ``max_length`` pieces (at
    most the model's position limit); words beyond are skipped. Returns
    :func:`word_items`: one row per word.
    """
    import torch

    from embryo.models.loading import load_masked_lm

    if batch_size < 1:
        raise EmbryoError(f"mlm_by_pos: batch_size should be >= 1, not {batch_size!r}")
    model, tokenizer = load_masked_lm(model_dir, device)
    max_length = min(max_length, max_positions(model))
    with torch.no_grad():
        records = score_words(
            model, tokenizer, list(sentences), batch_size=batch_size, max_length=max_length
        )
    return word_items(records)


def mlm_by_pos(model_dir, sentences, **options):
    """Accuracy per UPOS and XPOS tag: :func:`summarise` of :func:`mlm_items` (same options).

    One row per (mode, tagset, tag) with columns `COLUMNS`.
    """
    return summarise(mlm_items(model_dir, sentences, **options))
