"""Task probing per layer: the probing baseline of Tamkin et al. (2020, §3.3).

The paper truncates the pretrained BERT after layer k, freezes it, and trains only a
classifier on its sentence representation, for k = 1..12; the layers that probe well
are then compared with the layers whose reinitialisation hurts fine-tuning.

Here one job covers every k of one checkpoint and task: a single forward pass per batch
with ``output_hidden_states`` gives the sentence representation at every layer (layer 0
= the embedding output), and the layer-k representation of the full model *is* the output
of the model truncated after layer k (the layers above do not influence it). A linear
classifier per layer — logistic regression on standardised features for classification,
ridge regression for regression — is trained on the training split (or a subset drawn
with seed 0) and scored on dev with the task's metrics.

Differences from the paper's code, on purpose: the representation is the mean over the
non-padding positions (or the first, [CLS], position with ``pooling: cls``) instead of
BERT's pretrained pooler, which masked-LM checkpoints do not have; and the classifier is
fitted to convergence (L-BFGS) instead of by SGD with early stopping.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

from embryo.runtime.errors import EmbryoError

POOLINGS = ("mean", "cls")


class TaskProbeSettings(NamedTuple):
    """A task probe's settings (``transferability.probing``; the batch is fine-tuning's
    ``eval_batch_size``)."""

    pooling: str
    train_size: int | None
    regularization: float
    batch_size: int


def sentence_features(
    model_dir, splits: list[dict], *, pooling: str = "mean", batch_size: int = 64, device=None
) -> list:
    """Pooled representation of every row of each split at every layer, the checkpoint
    loaded once: one float32 array [n_rows, L + 1, hidden] per split."""
    import numpy as np
    import torch

    from embryo.models.loading import load_masked_lm
    from embryo.transfer.batches import batch_tensors

    if pooling not in POOLINGS:
        raise EmbryoError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
    model, tokenizer = load_masked_lm(model_dir, device)
    encoder = model.base_model
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    shape = (encoder.config.num_hidden_layers + 1, encoder.config.hidden_size)
    features = []
    for rows in splits:
        order = np.argsort([len(x) for x in rows["input_ids"]], kind="stable")
        out = np.zeros((len(order), *shape), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                inputs, _ = batch_tensors(rows, index, pad_id, encoder.device, model)
                hidden = encoder(**inputs, output_hidden_states=True).hidden_states
                states = torch.stack(hidden, 1)
                if pooling == "cls":
                    pooled = states[:, :, 0]
                else:
                    mask = inputs["attention_mask"][:, None, :, None].to(states.dtype)
                    pooled = (states * mask).sum(2) / mask.sum(2)
                out[index] = pooled.float().cpu().numpy()
        features.append(out)
    return features


def probe_layers(train_x, train_y, dev_x, dev_y, info: dict, *, regularization: float = 1.0):
    """Fit one linear model per layer on ``train_x`` [n, L+1, H]; the task's dev metrics per layer."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from embryo.transfer.metrics import score

    results = []
    for layer in range(train_x.shape[1]):
        if info["type"] == "regression":
            head = Ridge(alpha=1.0 / regularization)
        else:
            head = LogisticRegression(C=regularization, max_iter=2000)
        model = make_pipeline(StandardScaler(), head)
        model.fit(train_x[:, layer], np.asarray(train_y))
        predicted = model.predict(dev_x[:, layer])
        gold = np.asarray(dev_y)
        results.append({m: score(m, predicted, gold) for m in info["metrics"]})
    return results


def task_probe(
    model_dir, task_dir, out_dir, *, settings: TaskProbeSettings, provenance: dict | None = None
) -> list[dict]:
    """Probe every layer of ``model_dir`` on the prepared task; write ``layer-{k}.json`` each."""
    from embryo.runtime.atomic import atomic_path, write_json
    from embryo.transfer.finetune import read_prepared, training_subset

    started = time.perf_counter()
    task_dir = Path(task_dir)
    info = json.loads((task_dir / "task.json").read_text())
    train, dev = read_prepared(task_dir, "train"), read_prepared(task_dir, "dev")
    subset = training_subset(len(train["label"]), settings.train_size, 0)
    train = {k: [v[i] for i in subset] for k, v in train.items()}
    train_x, dev_x = sentence_features(
        model_dir, [train, dev], pooling=settings.pooling, batch_size=settings.batch_size
    )
    per_layer = probe_layers(
        train_x, train["label"], dev_x, dev["label"], info, regularization=settings.regularization
    )
    seconds = time.perf_counter() - started
    records = [
        {
            **(provenance or {}),
            "task": info["name"],
            "layer": layer,
            "metric": info["metrics"][0],
            "score": metrics[info["metrics"][0]],
            "metrics": metrics,
            "pooling": settings.pooling,
            "n_train": len(subset),
            "n_dev": len(dev["label"]),
            "seconds": seconds,
        }
        for layer, metrics in enumerate(per_layer)
    ]
    with atomic_path(out_dir, directory=True) as tmp:
        for record in records:
            write_json(Path(tmp) / f"layer-{record['layer']}.json", record)
    return records
