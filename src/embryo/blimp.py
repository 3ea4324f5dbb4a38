"""Linguistic knowledge: BLiMP minimal pairs scored by masked-LM pseudo-log-likelihood.

BLiMP (Warstadt et al. 2020) pairs a grammatical sentence with a minimally different
ungrammatical one, 67 paradigms grouped by field (morphology, syntax, semantics, ...). A
model gets a pair right when it scores the good sentence higher. A masked LM has no
sentence probability, so each sentence is scored by its pseudo-log-likelihood (Salazar et
al. 2020, "Masked Language Model Scoring", §2.1)::

    PLL(S) = sum over pieces t of log P(w_t | S without w_t)

masking one piece at a time (special tokens are not scored). All one-masked copies of all
sentences are batched together, each with others of the same length (no padding needed),
and vocabulary logits are computed at the masked positions only.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from embryo.errors import EmbryoError
from embryo.jsonl import read_records
from embryo.models import max_positions

REQUIRED = ("sentence_good", "sentence_bad", "field", "linguistics_term", "UID")
COLUMNS = ["paradigm", "field", "linguistics_term", "pairs", "skipped_too_long", "accuracy"]
SUMMARY_COLUMNS = ["field", "paradigms", "accuracy"]


def load_blimp(root, *, paradigms=None, max_pairs: int | None = None) -> list[dict]:
    """BLiMP pairs from ``root/{paradigm}.jsonl`` (files in name order, lines in order).

    Each pair is a dict with `REQUIRED` keys (``UID`` = paradigm) plus ``pairID``.
    ``paradigms`` selects file stems (an unknown one is an EmbryoError); ``max_pairs``
    keeps the first pairs of each paradigm. Malformed lines raise EmbryoError (file:line).
    """
    root = Path(root)
    files = sorted(root.glob("*.jsonl"))
    if not files:
        raise EmbryoError(f"{root}: no BLiMP *.jsonl file found")
    available = [p.stem for p in files]
    if paradigms is not None:
        paradigms = [paradigms] if isinstance(paradigms, str) else list(paradigms)
        unknown = [p for p in paradigms if p not in available]
        if unknown:
            raise EmbryoError(f"{root}: unknown BLiMP paradigms {unknown}; found {available}")
        files = [p for p in files if p.stem in paradigms]
    pairs = []
    for path in files:
        n_kept = 0
        for _, rec in read_records(path, REQUIRED):
            if max_pairs is not None and n_kept >= max_pairs:
                break
            pair = {key: rec[key] for key in REQUIRED}
            pair["pairID"] = str(rec.get("pairID", n_kept))
            pairs.append(pair)
            n_kept += 1
    return pairs


def _logits(model, input_ids, selected):
    """Vocabulary logits at the ``selected`` positions (tests replace this function)."""
    from embryo.objective import masked_logits

    return masked_logits(model, input_ids, selected)[0]


def _special_ids(tokenizer) -> set[int]:
    return set(tokenizer.all_special_ids)


def pseudo_log_likelihoods(model, tokenizer, sentences, *, batch_size: int = 64) -> list[float]:
    """PLL (natural log) of each sentence under an eval-mode masked LM on its device.

    Sentences are encoded with the tokenizer's special tokens; every other piece is
    masked in its own copy and its log-probability (full softmax over the vocabulary)
    summed (Salazar et al. 2020, eq. 2). A sentence without pieces scores 0. Call under
    ``torch.no_grad()``.
    """
    import torch
    from tqdm import tqdm

    mask_id = tokenizer.mask_token_id
    if mask_id is None:
        raise EmbryoError(f"tokenizer {tokenizer.name_or_path!r} has no mask token")
    if batch_size < 1:
        raise EmbryoError(f"batch_size should be >= 1, not {batch_size!r}")
    device = next(model.parameters()).device
    special = _special_ids(tokenizer)
    encoded = [tokenizer(s)["input_ids"] for s in sentences]
    # One copy per (sentence, piece position), grouped by sequence length.
    by_length = defaultdict(list)
    for k, ids in enumerate(encoded):
        for t, piece in enumerate(ids):
            if piece not in special:
                by_length[len(ids)].append((k, t))
    batches = [
        group[i : i + batch_size]
        for _, group in sorted(by_length.items())
        for i in range(0, len(group), batch_size)
    ]
    totals = [0.0] * len(encoded)
    for batch in tqdm(batches, desc="pll", mininterval=10, leave=False):
        rows = []
        for k, t in batch:
            ids = list(encoded[k])
            ids[t] = mask_id
            rows.append(ids)
        input_ids = torch.tensor(rows, device=device)
        selected = torch.zeros_like(input_ids, dtype=torch.bool)
        selected[torch.arange(len(batch)), torch.tensor([t for _, t in batch])] = True
        logp = torch.log_softmax(_logits(model, input_ids, selected).float(), dim=-1)
        target = torch.tensor([encoded[k][t] for k, t in batch], device=logp.device)
        scores = logp.gather(1, target[:, None])[:, 0].double().tolist()
        for (k, _), score in zip(batch, scores, strict=True):
            totals[k] += score
    return totals


def score_pairs(model, tokenizer, pairs, *, batch_size: int = 64):
    """Accuracy per paradigm (`COLUMNS`) for an eval-mode model on its device."""
    import pandas as pd

    limit = max_positions(model)
    fits = {}
    for pair in pairs:
        for s in (pair["sentence_good"], pair["sentence_bad"]):
            if s not in fits:
                fits[s] = len(tokenizer(s)["input_ids"]) <= limit
    unique = [s for s, ok in fits.items() if ok]
    pll = dict(
        zip(
            unique,
            pseudo_log_likelihoods(model, tokenizer, unique, batch_size=batch_size),
            strict=True,
        )
    )
    rows = {}
    for pair in pairs:
        row = rows.setdefault(
            pair["UID"],
            {
                "paradigm": pair["UID"],
                "field": pair["field"],
                "linguistics_term": pair["linguistics_term"],
                "pairs": 0,
                "skipped_too_long": 0,
                "correct": 0,
            },
        )
        good, bad = pair["sentence_good"], pair["sentence_bad"]
        if not (fits[good] and fits[bad]):
            row["skipped_too_long"] += 1
            continue
        row["pairs"] += 1
        row["correct"] += int(pll[good] > pll[bad])
    out = []
    for row in rows.values():
        correct = row.pop("correct")
        row["accuracy"] = correct / row["pairs"] if row["pairs"] else float("nan")
        out.append(row)
    return pd.DataFrame(out, columns=COLUMNS)


def blimp_scores(model_dir, pairs, *, batch_size: int = 64, device=None):
    """BLiMP accuracy per paradigm of the checkpoint ``model_dir`` on ``pairs`` (:func:`load_blimp`).

    One row per paradigm with `COLUMNS`: ``pairs`` scored, ``skipped_too_long`` (a
    sentence beyond the model's positions), ``accuracy`` = share of scored pairs with
    PLL(good) > PLL(bad) (a tie counts as wrong; NaN when no pair was scored).
    """
    import torch

    from embryo.models import load_masked_lm

    model, tokenizer = load_masked_lm(model_dir, device)
    with torch.no_grad():
        return score_pairs(model, tokenizer, list(pairs), batch_size=batch_size)


def blimp_summary(df):
    """Mean accuracy over paradigms (with a scored pair; macro average), for field "all"
    and per field in order of appearance; columns `SUMMARY_COLUMNS`."""
    import pandas as pd

    scored = df[df["pairs"] > 0]
    rows = [{"field": "all", "paradigms": len(scored), "accuracy": scored["accuracy"].mean()}]
    for field in dict.fromkeys(scored["field"]):
        part = scored[scored["field"] == field]
        rows.append({"field": field, "paradigms": len(part), "accuracy": part["accuracy"].mean()})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
