"""Linguistic knowledge: BLiMP minimal pairs scored by masked-LM pseudo-log-likelihood.

BLiMP (Warstadt et al. 2020) pairs a grammatical sentence with a minimally different
ungrammatical one, 67 paradigms grouped by field (morphology, syntax, semantics, ...). A
model gets a pair right when it scores the good sentence higher. A masked LM has no
sentence probability, so each sentence is scored by its pseudo-log-likelihood (Salazar et
al. 2020, "Masked Language Model Scoring", §2.1, eq. 2)::

    PLL(S) = sum over pieces t of log P(w_t | S without w_t)

masking one piece at a time. Every piece of the input is scored, the unknown token
included; only the tokens the tokenizer adds around the sentence ([CLS] and [SEP], or
<s> and </s>) are not. ``method="word_l2r"`` is Kauf & Ivanova's PLL-word-l2r (2023, "A
Better Way to Do Masked Language Model Scoring", §3): scoring piece t of a word also
masks the pieces of that word to its right, so that a word split into several pieces is
not scored from its own later pieces (which makes the original over-rate such words).
All masked copies of all sentences are batched together, each with others of the same
length (no padding needed), and vocabulary logits are computed at the scored positions
only.
"""

from __future__ import annotations

from embryo.models.loading import max_positions
from embryo.runtime.errors import EmbryoError

COLUMNS = ["paradigm", "field", "linguistics_term", "pairs", "skipped_too_long", "accuracy"]
SUMMARY_COLUMNS = ["field", "paradigms", "accuracy"]
METHODS = ("original", "word_l2r")


def _logits(model, input_ids, selected):
    """Vocabulary logits at the ``selected`` positions (tests replace this function)."""
    from embryo.models.loading import masked_logits

    return masked_logits(model, input_ids, selected)[0]


def masked_copies(encoding, method: str) -> list[tuple[int, list[int]]]:
    """The copies a sentence is scored on: ``(scored position, positions masked)`` each.

    ``encoding`` is the tokenizer's output for the sentence (with its special-token mask
    and word ids). Every piece but the added special tokens is scored; ``original`` masks
    it alone, ``word_l2r`` it and the later pieces of its word. E.g. ``[CLS] a b1 b2 [SEP]``
    (b1 b2 one word): original ``(1, [1]), (2, [2]), (3, [3])``; word_l2r
    ``(1, [1]), (2, [2, 3]), (3, [3])``.
    """
    if method not in METHODS:
        raise EmbryoError(f"unknown PLL method {method!r}; expected one of {METHODS}")
    scored = [t for t, special in enumerate(encoding["special_tokens_mask"]) if not special]
    if method == "original":
        return [(t, [t]) for t in scored]
    words = encoding.word_ids()  # a fast tokenizer's: the word of each piece
    copies = []
    for t in scored:
        later = [u for u in scored if u > t and words[t] is not None and words[u] == words[t]]
        copies.append((t, [t, *later]))
    return copies


def pseudo_log_likelihoods(
    model, tokenizer, sentences, *, batch_size: int = 64, method: str = "original"
) -> list[float]:
    """PLL (natural log) of each sentence under an eval-mode masked LM on its device.

    Sentences are encoded with the tokenizer's special tokens; every other piece, the
    unknown token included, is scored in a copy of its own (:func:`masked_copies`: the
    piece masked, and with ``word_l2r`` the later pieces of its word too) and its
    log-probability (full softmax over the vocabulary) summed (Salazar et al. 2020, eq. 2).
    A sentence without pieces scores 0. Call under ``torch.no_grad()``.
    """
    import torch
    from tqdm import tqdm

    from embryo.models.loading import same_length_batches

    mask_id = tokenizer.mask_token_id
    if mask_id is None:
        raise EmbryoError(f"tokenizer {tokenizer.name_or_path!r} has no mask token")
    if batch_size < 1:
        raise EmbryoError(f"batch_size should be >= 1, not {batch_size!r}")
    device = next(model.parameters()).device
    encodings = [tokenizer(s, return_special_tokens_mask=True) for s in sentences]
    encoded = [e["input_ids"] for e in encodings]
    # one copy per (sentence, scored position), grouped by sequence length
    copies = [
        (k, t, masked) for k, e in enumerate(encodings) for t, masked in masked_copies(e, method)
    ]
    batches = same_length_batches(copies, [len(encoded[k]) for k, _, _ in copies], batch_size)
    totals = [0.0] * len(encoded)
    for batch in tqdm(batches, desc="pll", mininterval=10, leave=False):
        rows = []
        for k, _, masked in batch:
            ids = list(encoded[k])
            for u in masked:
                ids[u] = mask_id
            rows.append(ids)
        input_ids = torch.tensor(rows, device=device)
        selected = torch.zeros_like(input_ids, dtype=torch.bool)
        selected[torch.arange(len(batch)), torch.tensor([t for _, t, _ in batch])] = True
        logp = torch.log_softmax(_logits(model, input_ids, selected).float(), dim=-1)
        target = torch.tensor([encoded[k][t] for k, t, _ in batch], device=logp.device)
        scores = logp.gather(1, target[:, None])[:, 0].double().tolist()
        for (k, _, _), score in zip(batch, scores, strict=True):
            totals[k] += score
    return totals


ITEM_COLUMNS = [
    "item",
    "paradigm",
    "pair",
    "field",
    "linguistics_term",
    "skipped_too_long",
    "pll_good",
    "pll_bad",
    "correct",
]


def pair_items(model, tokenizer, pairs, *, batch_size: int = 64, method: str = "original"):
    """Both sentences' PLL for every pair (`ITEM_COLUMNS`), for an eval-mode model on its device.

    ``item`` numbers the pairs in order, ``pair`` is BLiMP's pairID within the paradigm;
    ``correct`` = PLL(good) > PLL(bad) (a tie counts as wrong). A pair with a sentence
    beyond the model's positions is ``skipped_too_long``: PLLs and outcome missing. Each
    distinct sentence is scored once.
    """
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
            pseudo_log_likelihoods(model, tokenizer, unique, batch_size=batch_size, method=method),
            strict=True,
        )
    )
    items = []
    for k, pair in enumerate(pairs):
        good, bad = pair["sentence_good"], pair["sentence_bad"]
        scored = fits[good] and fits[bad]
        items.append(
            {
                "item": k,
                "paradigm": pair["UID"],
                "pair": str(pair.get("pairID", k)),
                "field": pair["field"],
                "linguistics_term": pair["linguistics_term"],
                "skipped_too_long": not scored,
                "pll_good": pll[good] if scored else None,
                "pll_bad": pll[bad] if scored else None,
                "correct": pll[good] > pll[bad] if scored else None,
            }
        )
    table = pd.DataFrame(items, columns=ITEM_COLUMNS)
    table["correct"] = table["correct"].astype("boolean")
    for column in ("pll_good", "pll_bad"):
        table[column] = table[column].astype(float)
    return table


def summarise(items):
    """Accuracy per paradigm (`COLUMNS`) from :func:`pair_items`, in order of appearance.

    ``pairs`` scored, ``skipped_too_long``, ``accuracy`` = share of scored pairs with
    PLL(good) > PLL(bad) (NaN when no pair was scored).
    """
    import pandas as pd

    rows = []
    for paradigm, group in items.groupby("paradigm", sort=False):
        correct = group["correct"].dropna().astype(bool)
        rows.append(
            {
                "paradigm": paradigm,
                "field": group["field"].iloc[0],
                "linguistics_term": group["linguistics_term"].iloc[0],
                "pairs": len(correct),
                "skipped_too_long": int(group["skipped_too_long"].sum()),
                "accuracy": float(correct.mean()) if len(correct) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def score_pairs(model, tokenizer, pairs, *, batch_size: int = 64, method: str = "original"):
    """Accuracy per paradigm (`COLUMNS`): :func:`summarise` of :func:`pair_items`."""
    return summarise(pair_items(model, tokenizer, pairs, batch_size=batch_size, method=method))


def blimp_items(model_dir, pairs, *, batch_size: int = 64, method: str = "original", device=None):
    """:func:`pair_items` of the checkpoint ``model_dir`` on ``pairs`` (:func:`embryo.data.blimp.load_blimp`).

    ``method``: the PLL's (:func:`masked_copies`).
    """
    import torch

    from embryo.models.loading import load_masked_lm

    model, tokenizer = load_masked_lm(model_dir, device)
    with torch.no_grad():
        return pair_items(model, tokenizer, list(pairs), batch_size=batch_size, method=method)


def blimp_scores(model_dir, pairs, **options):
    """BLiMP accuracy per paradigm of the checkpoint ``model_dir`` on ``pairs``.

    One row per paradigm with `COLUMNS`: :func:`summarise` of :func:`blimp_items` (same
    options).
    """
    return summarise(blimp_items(model_dir, pairs, **options))


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
