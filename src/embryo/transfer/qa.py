"""Extractive question answering: the span head, the answer of each question, its scores.

The model is the checkpoint under ``AutoModelForQuestionAnswering`` (a start and an end
logit per piece). A question's answer is read off all its windows
(:mod:`embryo.data.qa`) as Hugging Face's ``run_qa.py`` postprocesses SQuAD 2.0
(``utils_qa.postprocess_qa_predictions`` with ``version_2_with_negative``): the best span
of context pieces (start <= end, at most ``max_answer_length`` pieces, among the
``n_best`` best starts and ends of each window) against the "no answer" score, the
first piece's start and end logits (the lowest over the windows); no answer ("") wins
when its score is higher. The scores are the official SQuAD 2.0 evaluation's
(``evaluate-v2.0.py``: ``normalize_answer``, ``compute_exact``, ``compute_f1``): exact
match and token F1 against the best of the gold answers, after lower-casing and removing
punctuation, articles and extra spaces; an unanswerable question's gold is the empty
answer. Reported as fractions (the official script prints percentages).
"""

from __future__ import annotations

import collections
import re
import string

ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    """Lower case, punctuation and the articles a, an, the removed, spaces collapsed
    (``evaluate-v2.0.py``, ``normalize_answer``)."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: list[str]) -> float:
    """1 if the normalised prediction equals some normalised gold answer (the empty answer
    for an unanswerable question), else 0."""
    golds = golds or [""]
    return float(max(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: list[str]) -> float:
    """The best over the gold answers of the F1 of their normalised tokens (bags of words);
    an empty prediction or gold scores 1 only against an empty other (``compute_f1``)."""

    def f1(pred: str, gold: str) -> float:
        p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
        if not p or not g:
            return float(p == g)
        common = sum((collections.Counter(p) & collections.Counter(g)).values())
        if not common:
            return 0.0
        precision, recall = common / len(p), common / len(g)
        return 2 * precision * recall / (precision + recall)

    return max(f1(prediction, g) for g in (golds or [""]))


def best_answers(
    start_logits,
    end_logits,
    example,
    offsets,
    contexts,
    *,
    n_best: int = 20,
    max_answer_length: int = 30,
) -> list[str]:
    """The answer text of every question (``contexts``: one per question) from its
    windows' logits: ``example[i]`` is window i's question, ``offsets[i]`` its pieces'
    character spans ([-1, -1] outside the context)."""
    import numpy as np

    best = [(-np.inf, "")] * len(contexts)  # (score, text) of the best span
    null = [np.inf] * len(contexts)  # the lowest "no answer" score over the windows
    for i, q in enumerate(example):
        s, e = np.asarray(start_logits[i]), np.asarray(end_logits[i])
        null[q] = min(null[q], float(s[0] + e[0]))
        span = offsets[i]
        for a in np.argsort(s)[::-1][:n_best]:
            for b in np.argsort(e)[::-1][:n_best]:
                if a >= len(span) or b >= len(span) or span[a][0] < 0 or span[b][0] < 0:
                    continue
                if b < a or b - a + 1 > max_answer_length:
                    continue
                score = float(s[a] + e[b])
                if score > best[q][0]:
                    best[q] = (score, contexts[q][span[a][0] : span[b][1]])
    return ["" if null[q] > best[q][0] else best[q][1] for q in range(len(contexts))]


def load_qa_model(model_dir, seed: int):
    """The checkpoint with a span head (``AutoModelForQuestionAnswering``); the new head
    drawn from ``seed``. Returns the model and the names of its new parameters."""
    import torch
    from transformers import AutoModelForQuestionAnswering

    from embryo.models.seeds import derive_seed

    torch.manual_seed(derive_seed(seed, "head"))
    model, loading = AutoModelForQuestionAnswering.from_pretrained(
        model_dir, output_loading_info=True
    )
    return model, sorted(loading["missing_keys"])


def span_loss(model, rows: dict, index, pad_id: int):
    """The span loss of windows ``index`` (the mean of the start and end cross-entropies,
    as the model's own head computes it)."""
    import torch

    from embryo.transfer.batches import batch_tensors

    inputs, _ = batch_tensors(rows, index, pad_id, model.device, model, labels=False)
    start = torch.tensor([rows["start"][i] for i in index], device=model.device)
    end = torch.tensor([rows["end"][i] for i in index], device=model.device)
    return model(**inputs, start_positions=start, end_positions=end).loss


def answers(model, dev: dict, contexts, *, batch_size: int, pad_id: int, dtype=None):
    """Every dev question's predicted answer text (:func:`best_answers`)."""
    import numpy as np
    import torch

    from embryo.transfer.batches import autocast, batch_tensors

    n = len(dev["input_ids"])
    order = np.argsort([len(x) for x in dev["input_ids"]], kind="stable")
    starts, ends = [None] * n, [None] * n
    model.eval()
    with torch.inference_mode(), autocast(model.device, dtype):
        for first in range(0, n, batch_size):
            index = order[first : first + batch_size]
            inputs, _ = batch_tensors(dev, index, pad_id, model.device, model, labels=False)
            out = model(**inputs)
            for row, i in enumerate(index):
                k = len(dev["input_ids"][i])
                starts[i] = out.start_logits[row, :k].float().cpu().numpy()
                ends[i] = out.end_logits[row, :k].float().cpu().numpy()
    model.train()
    return best_answers(starts, ends, dev["example"], dev["offsets"], contexts)


def answer_items(predicted: list[str], golds: list[list[str]], **keys):
    """The per-question file of a QA job: the ``keys``, ``item``, the gold answers
    (``label``, JSON), the ``prediction`` and its ``exact_match`` and ``token_f1``."""
    import json

    import pandas as pd

    return pd.DataFrame(
        {
            **{k: [v] * len(predicted) for k, v in keys.items()},
            "item": range(len(predicted)),
            "label": [json.dumps(g) for g in golds],
            "prediction": predicted,
            "exact_match": [exact_match(p, g) for p, g in zip(predicted, golds, strict=True)],
            "token_f1": [token_f1(p, g) for p, g in zip(predicted, golds, strict=True)],
        }
    )
