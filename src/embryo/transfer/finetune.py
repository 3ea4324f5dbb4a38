"""Fine-tuning one checkpoint on one GLUE-format task: the job of the downstream grid.

One job fine-tunes the whole model (``AutoModelForSequenceClassification`` on the
exported masked LM) for a fixed number of epochs and reports the dev metrics after the
last epoch (no model selection on dev; after every epoch too with ``eval_every_epoch``).
The schema's defaults follow Tamkin et al. (2020, §3): AdamW, lr 2e-5, batch 8, 3 epochs, maximum
length 128, linear decay without warm-up, gradient norm clipped at 1 (the
``run_glue`` defaults their code used).

The masked-LM checkpoints have no pooler (BERT and ALBERT masked LMs drop it), so the
pooler and the classifier are newly initialised for every job, from the job's seed; the
job records which parameters were new. The training subset of size ``n`` is drawn from
the seed (:func:`training_subset`), so seeds vary both the subset and the initialisation,
as in the paper's repeated runs. Everything random is a function of the seed: the same
job gives the same metrics.

Speed (``benchmarks/finetune.py`` compares the job with the Hugging Face ``Trainer``):
a batch is the paper's random draw, but it is computed without padding (``packing``,
:func:`pack_rows`): its examples are packed into rows as wide as its longest example, each
with its own positions and attending only to itself (a block-diagonal attention mask), and
the classifier reads each example's first token, so that every example's logits are those
of the example alone (up to float rounding; the padding-free batches of ``transformers``'
``DataCollatorWithFlattening``, here with a mask, since BERTs have no variable-length
attention kernel) and the update is the whole batch's mean loss: one forward and backward
pass over hardly more tokens than the batch holds. With ``packing: false`` the batch is
computed as up to ``micro_batches`` pieces of similar length (:func:`length_pieces`), each
padded to its own longest example, gradients accumulated with weights that make the update
the whole batch's: the same optimisation, more padding and passes. ``group_by_length``
regroups the epoch's order as ``transformers``' ``LengthGroupedSampler`` does (random mega-batches of 50 batches, each sorted by length),
which changes which examples share a batch: off by default, as it cost dev accuracy in
``benchmarks/finetune.py``. The dev split is predicted once, in batches of similar length,
under ``torch.inference_mode``; AdamW is the fused kernel. On a CUDA GPU with bf16 (``precision: auto``) the forward and backward
passes run under bf16 autocast, weights and optimizer state staying in float32.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

from embryo.runtime.atomic import write_json, write_parquet
from embryo.runtime.errors import EmbryoError
from embryo.transfer.batches import autocast, batch_tensors


class FinetuneSettings(NamedTuple):
    """Hyper-parameters of every fine-tuning job (``finetuning`` in the config)."""

    lr: float
    batch_size: int
    epochs: int
    warmup_ratio: float
    weight_decay: float
    beta1: float
    beta2: float
    eps: float
    max_grad_norm: float
    eval_batch_size: int
    group_by_length: bool = False
    packing: bool = True
    micro_batches: int = 4
    piece_overhead: float = 256.0  # tokens: the fixed cost of one more forward and backward
    eval_every_epoch: bool = False
    precision: str = "auto"  # auto: bf16 autocast on a CUDA GPU that has it; fp32; bf16
    subsets: str = "independent"  # or nested: each size a prefix of one permutation per seed


def training_subset(n_rows: int, n: int | None, seed: int, *, nested: bool = False):
    """Indices of a training subset of ``n`` rows (all rows for None), drawn from ``seed``.

    The same seed gives the same subset. Independent (the default): the subset of a
    smaller n is drawn apart from a larger one's. ``nested``: every size is a prefix of one
    permutation of the rows per seed, so a seed's smaller subsets lie inside its larger
    ones, as Tamkin et al.'s ``examples/run_glue.py`` draws them (L425:
    ``torch.randperm(len(dataset))[:subset_size]`` after ``set_seed`` at L677, the same
    permutation whatever the size). Asking for more rows than the task has is an error.
    """
    import numpy as np

    if n is None:
        return np.arange(n_rows)
    if n > n_rows:
        raise EmbryoError(f"a training subset of {n} rows was asked for; the task has {n_rows}")
    if nested:
        return np.sort(np.random.default_rng([seed, 0x5EB]).permutation(n_rows)[:n])
    rng = np.random.default_rng([seed, n, 0x5EB])
    return np.sort(rng.choice(n_rows, size=n, replace=False))


def autocast_dtype(precision: str, device):
    """The autocast dtype of ``precision`` on ``device`` (None: plain float32).

    ``auto`` is bf16 on a CUDA GPU that supports it (Ampere and later), float32 elsewhere
    (CPUs without bf16 matrix units run bf16 slower than float32); ``bf16`` asks for it
    and fails clearly on a device without it."""
    import torch

    cuda = str(device).startswith("cuda")
    if precision == "fp32" or (precision == "auto" and not cuda):
        return None
    if cuda and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if precision == "auto":
        return None
    raise EmbryoError(f"finetuning.precision is bf16, but {device} has no bf16 support")


def length_pieces(batch, sizes, pieces: int, overhead: float = 0.0) -> list:
    """``batch`` (row indices) as at most ``pieces`` groups of rows of similar length: the
    rows sorted by length (``sizes[row]``), cut where the estimated cost is least, by dynamic
    programming over the cut points (exact). A group costs its padded size (its rows times
    its longest row) plus ``overhead`` tokens (the fixed cost of a forward and backward pass,
    in tokens of padded size). Computing the groups one by one and accumulating their
    losses, each weighted by its share of the batch's rows, gives the gradient of the whole
    batch's mean loss (padding changes nothing under the attention mask)."""
    import numpy as np

    batch = np.asarray(batch)
    order = batch[np.argsort(sizes[batch], kind="stable")]
    lengths, n = sizes[order].tolist(), len(batch)
    pieces = max(1, min(pieces, n))
    # best[k][j]: the least cost of the first j rows in k groups; cut[k][j]: its last cut
    inf = float("inf")
    best = [[0.0] + [inf] * n] + [[inf] * (n + 1) for _ in range(pieces)]
    cut = [[0] * (n + 1) for _ in range(pieces + 1)]
    for k in range(1, pieces + 1):
        for j in range(k, n + 1):
            for i in range(k - 1, j):
                cost = best[k - 1][i] + (j - i) * lengths[j - 1] + overhead
                if cost < best[k][j]:
                    best[k][j], cut[k][j] = cost, i
    k = min(range(1, pieces + 1), key=lambda k: (best[k][n], k))
    groups, j = [], n
    while j > 0:
        i = cut[k][j]
        groups.append(order[i:j])
        j, k = i, k - 1
    return groups[::-1]


def pack_rows(lengths, width: int):
    """Place examples of ``lengths`` into rows of ``width`` tokens by first fit decreasing
    (the longest first, each into the first row with room): ``(row, offset)`` of each
    example, as two integer arrays in the examples' order. No example may exceed ``width``."""
    import numpy as np

    lengths = np.asarray(lengths, dtype=np.int64)
    row, offset, free = np.empty_like(lengths), np.empty_like(lengths), []
    for e in np.argsort(-lengths, kind="stable"):
        k = int(lengths[e])
        r = next((r for r, room in enumerate(free) if room >= k), len(free))
        if r == len(free):
            free.append(width)
        row[e], offset[e] = r, width - free[r]
        free[r] -= k
    return row, offset


def packs(model) -> bool:
    """Whether ``finetuning.packing`` can compute this model: a family whose attention takes
    a block-diagonal mask (:mod:`embryo.models.families`: every family embryo knows but
    DeBERTa) and SDPA or eager attention. Where it cannot, batches are computed in pieces."""
    from embryo.models import families

    known = families.of(model)
    return (
        known is not None
        and known.packed_attention is not None
        and model.config._attn_implementation in ("sdpa", "eager")
    )


def packed_tensors(rows: dict, index, lengths, model, device):
    """A batch of ``index`` packed (:func:`pack_rows`) into rows as wide as its longest
    example: ``(inputs, first, example, labels)``, where ``inputs`` holds ``input_ids``,
    ``token_type_ids`` (where the model takes them), each example's own ``position_ids``
    (as when it is alone: from the family's first position) and the attention in which a
    token attends to the tokens of its own example only (the family's
    ``packed_attention``; padding attends to the row's padding, so that no softmax row is
    empty); ``first`` is the flat position of each example's first token and ``example``
    the example of every flat position (``len(index)`` for padding). ``lengths`` are the
    examples' lengths; the model is one that :func:`packs`."""
    import numpy as np
    import torch

    from embryo.models import families
    from embryo.models.loading import encoder_inputs

    width = int(lengths.max())
    row, offset = pack_rows(lengths, width)
    shape = (int(row.max()) + 1, width)
    ids = np.full(shape, model.config.pad_token_id or 0, dtype=np.int64)
    types, positions = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    example = np.full(shape, len(index), dtype=np.int64)  # padding: an example of its own
    start = families.first_position(model.config)
    for e, i in enumerate(index):
        r, o, k = row[e], offset[e], lengths[e]
        ids[r, o : o + k] = rows["input_ids"][i]
        types[r, o : o + k] = rows["token_type_ids"][i]
        positions[r, o : o + k] = np.arange(start, start + k)
        example[r, o : o + k] = e
    same = torch.from_numpy(example[:, :, None] == example[:, None, :]).to(device)
    positions = torch.from_numpy(positions).to(device)
    attention = families.of(model).packed_attention(model, same, positions)
    inputs = encoder_inputs(
        model,
        input_ids=torch.from_numpy(ids).to(device),
        token_type_ids=torch.from_numpy(types).to(device),
        **attention,
    )
    labels = torch.tensor([rows["label"][i] for i in index], device=device)
    first = torch.from_numpy(row * width + offset).to(device)
    return inputs, first, torch.from_numpy(example.reshape(-1)).to(device), labels


def packed_logits(model, inputs, first, example):
    """The logits of each example of packed rows: the encoder over the rows, then the
    model's own classification head on each example (its family's ``packed_classifier``:
    BERT's pooler, dropout and classifier; RoBERTa's head on the first token; ...)."""
    from embryo.models import families

    hidden = model.base_model(**inputs).last_hidden_state
    flat = hidden.reshape(-1, hidden.shape[-1])
    return families.of(model).packed_classifier(model, flat, first, example)


def classification_loss(model, logits, labels):
    """The mean loss ``AutoModelForSequenceClassification`` computes: cross entropy, or
    the mean squared error for regression."""
    import torch

    if model.config.problem_type == "regression":
        return torch.nn.functional.mse_loss(logits[:, 0], labels.to(logits.dtype))
    return torch.nn.functional.cross_entropy(logits, labels)


def backward(
    model, rows: dict, batch, sizes, hparams: FinetuneSettings, dtype, *, spans: bool = False
):
    """The forward and backward passes of one batch (packed, or in pieces of similar length
    whose losses are weighted by their share of the batch); the batch's mean loss.
    ``spans``: an extractive QA batch (:func:`embryo.transfer.qa.span_loss`, in pieces)."""
    from embryo.transfer.qa import span_loss

    if hparams.packing and packs(model) and not spans:
        inputs, first, example, labels = packed_tensors(
            rows, batch, sizes[batch], model, model.device
        )
        with autocast(model.device, dtype):
            logits = packed_logits(model, inputs, first, example)
            loss = classification_loss(model, logits, labels)
        loss.backward()
        return loss.detach()
    loss, pad_id = 0.0, model.config.pad_token_id or 0
    for piece in length_pieces(batch, sizes, hparams.micro_batches, hparams.piece_overhead):
        with autocast(model.device, dtype):
            if spans:
                part = span_loss(model, rows, piece, pad_id)
            else:
                inputs, labels = batch_tensors(rows, piece, pad_id, model.device, model)
                part = model(**inputs, labels=labels).loss
            part = part * (len(piece) / len(batch))
        part.backward()
        loss += part.detach()
    return loss


def epoch_order(subset, lengths, *, batch_size: int, grouped: bool, seed: int):
    """The training examples of one epoch in the order they are batched (consecutive
    ``batch_size`` chunks): a permutation of ``subset`` drawn from ``seed``, regrouped by
    length when ``grouped``, as ``transformers.trainer_pt_utils.get_length_grouped_indices``
    (``LengthGroupedSampler``) groups, from a ``torch.Generator`` seeded with ``seed``.
    ``lengths[i]`` is the length of ``subset[i]``."""
    import numpy as np
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    if not grouped:
        return np.random.default_rng(seed).permutation(subset)
    generator = torch.Generator().manual_seed(seed)
    indices = get_length_grouped_indices(list(lengths), batch_size, generator=generator)
    return np.asarray(subset)[indices]


def read_prepared(task_dir: Path, split: str) -> dict:
    """A split of a task prepared by :func:`embryo.data.tasks.prepare_task`, as columns."""
    import pyarrow.parquet as pq

    return pq.read_table(task_dir / f"{split}.parquet").to_pydict()


def predict(model, rows: dict, info: dict, *, batch_size: int, pad_id: int, dtype=None):
    """The model's prediction for every row of ``rows`` (the dev split), batched by length:
    the class index, or the score for a regression task (under ``dtype`` autocast, if
    given)."""
    import numpy as np
    import torch

    order = np.argsort([len(x) for x in rows["input_ids"]], kind="stable")
    predictions = np.empty(len(order), dtype=float)
    model.eval()
    with torch.inference_mode(), autocast(model.device, dtype):
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            inputs, _ = batch_tensors(rows, index, pad_id, model.device, model)
            logits = model(**inputs).logits
            out = logits[:, 0] if info["type"] == "regression" else logits.argmax(-1)
            predictions[index] = out.float().cpu().numpy()
    model.train()
    return predictions


def dev_scores(predictions, rows: dict, info: dict) -> dict:
    """The task's metrics of ``predictions`` against the labels of ``rows``."""
    import numpy as np

    from embryo.transfer.metrics import score

    gold = np.asarray(rows["label"])
    return {m: score(m, predictions, gold) for m in info["metrics"]}


def prediction_items(predictions, rows: dict, **keys):
    """The per-example file of a job: the ``keys`` columns, then ``item`` (dev row), the
    gold ``label`` and the ``prediction``."""
    import pandas as pd

    columns = {"item": range(len(predictions)), "label": rows["label"], "prediction": predictions}
    return pd.DataFrame({**{k: [v] * len(predictions) for k, v in keys.items()}, **columns})


def load_classifier(model_dir, info: dict, seed: int):
    """The checkpoint as a sequence classifier; new parameters drawn from ``seed``."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from embryo.models.seeds import derive_seed

    torch.manual_seed(derive_seed(seed, "head"))
    model, loading = AutoModelForSequenceClassification.from_pretrained(
        model_dir,
        num_labels=info["num_labels"],
        problem_type="regression"
        if info["type"] == "regression"
        else "single_label_classification",
        output_loading_info=True,
    )
    return model, sorted(loading["missing_keys"])


def finetune(
    model_dir,
    task_dir,
    out_path,
    *,
    n: int | None,
    seed: int,
    hparams: FinetuneSettings,
    reinit: str = "none",
    recipe=None,
    provenance: dict | None = None,
    predictions_path=None,
) -> dict:
    """Fine-tune ``model_dir`` on the prepared task in ``task_dir``; write ``metrics.json``
    and, to ``predictions_path`` (default: beside it, ``*.predictions.parquet``), the last
    epoch's prediction of every dev example (:func:`prediction_items`, with the
    ``provenance`` keys, the task and the seed first), from which the metrics are computed.

    ``reinit`` is a scheme of :mod:`embryo.transfer.reinit`, applied (by ``recipe``, a
    :class:`~embryo.transfer.reinit.Recipe`; default: the model's own initialisation) to
    the loaded checkpoint before fine-tuning; the redrawn layers train at
    ``recipe.lr_multiplier`` times the learning rate. Returns what is written:
    the headline ``metric`` and its ``score``, all ``metrics``, per-epoch dev metrics,
    the training-loss ``curve``, the layers redrawn and their order, the subset size and
    the wall time.
    """
    import numpy as np
    import torch

    from embryo.data.qa import QA
    from embryo.models.loading import default_device, max_positions
    from embryo.models.seeds import derive_seed
    from embryo.train.optimizer import adamw, lr_factor
    from embryo.transfer import qa
    from embryo.transfer.reinit import PLAIN, apply_scheme, encoder_layers

    started = time.perf_counter()
    task_dir = Path(task_dir)
    info = json.loads((task_dir / "task.json").read_text())
    train, dev = read_prepared(task_dir, "train"), read_prepared(task_dir, "dev")
    spans = info["type"] == QA  # extractive QA: windows of questions, a span head
    rows = len(train["input_ids"])
    subset = training_subset(rows, n, seed, nested=hparams.subsets == "nested")
    if spans:
        model, new_parameters = qa.load_qa_model(model_dir, seed)
        questions = read_prepared(task_dir, "dev_examples")
        golds = [json.loads(a) for a in questions["answers"]]
    else:
        model, new_parameters = load_classifier(model_dir, info, seed)
    recipe = recipe or PLAIN
    scheme = apply_scheme(model, reinit, seed=seed, recipe=recipe)
    model.to(default_device())
    longest = max(max(map(len, train["input_ids"])), max(map(len, dev["input_ids"])))
    if longest > max_positions(model):
        raise EmbryoError(
            f"{task_dir}: sequences of up to {longest} pieces, but the model at {model_dir} "
            f"admits {max_positions(model)}; lower finetuning.max_length"
        )
    pad_id = model.config.pad_token_id or 0
    batch_size, epochs = hparams.batch_size, hparams.epochs
    steps_per_epoch = -(-len(subset) // batch_size)
    total = steps_per_epoch * epochs
    warmup = round(hparams.warmup_ratio * total)
    redrawn = [p for i in scheme.reinit for p in encoder_layers(model)[i].parameters()]
    optimizer = adamw(model, hparams, fused=True, scaled=(redrawn, recipe.lr_multiplier))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: lr_factor(i + 1, warmup, total)
    )
    dtype = autocast_dtype(hparams.precision, model.device)
    sizes = np.fromiter(map(len, train["input_ids"]), dtype=np.int64, count=rows)
    lengths = sizes[subset]
    model.train()
    curve, per_epoch, step = [], [], 0
    for epoch in range(1, epochs + 1):
        order = epoch_order(
            subset,
            lengths,
            batch_size=batch_size,
            grouped=hparams.group_by_length,
            seed=derive_seed(seed, "order", epoch),
        )
        for start in range(0, len(order), batch_size):
            step += 1
            torch.manual_seed(derive_seed(seed, "dropout", step))
            loss = backward(
                model, train, order[start : start + batch_size], sizes, hparams, dtype, spans=spans
            )
            torch.nn.utils.clip_grad_norm_(model.parameters(), hparams.max_grad_norm)
            curve.append(
                {"step": step, "epoch": epoch, "loss": loss.item(), "lr": schedule.get_last_lr()[0]}
            )
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        if epoch < epochs and not hparams.eval_every_epoch:
            continue
        if spans:
            answers = qa.answers(
                model,
                dev,
                questions["context"],
                batch_size=hparams.eval_batch_size,
                pad_id=pad_id,
                dtype=dtype,
            )
            items = qa.answer_items(answers, golds)
            dev_metrics = {m: float(items[m].mean()) for m in info["metrics"]}
        else:
            predictions = predict(
                model, dev, info, batch_size=hparams.eval_batch_size, pad_id=pad_id, dtype=dtype
            )
            dev_metrics = dev_scores(predictions, dev, info)
        per_epoch.append({"epoch": epoch, "step": step, **dev_metrics})
        print(f"epoch {epoch}/{epochs} step {step}: {dev_metrics}", flush=True)
    metrics = per_epoch[-1]
    result = {
        **(provenance or {}),
        "task": info["name"],
        "metric": info["metrics"][0],
        "score": metrics[info["metrics"][0]],
        "metrics": {m: metrics[m] for m in info["metrics"]},
        "n_train": len(subset),
        "n_dev": len(golds) if spans else len(dev["label"]),
        "seed": seed,
        "steps": total,
        "epochs": per_epoch,
        "curve": curve,
        "new_parameters": new_parameters,
        "reinit_layers": list(scheme.reinit),
        "layer_order": list(scheme.order),
        "recipe": recipe._asdict() if scheme.changes_layers else None,
        "layers": model.config.num_hidden_layers,
        "precision": "bf16" if dtype is not None else "fp32",
        "packed": bool(hparams.packing and packs(model) and not spans),
        "seconds": time.perf_counter() - started,
    }
    keys = {**(provenance or {}), "task": info["name"], "seed": seed}
    if predictions_path is None:
        predictions_path = Path(out_path).with_suffix(".predictions.parquet")
    per_item = (
        qa.answer_items(answers, golds, **keys)
        if spans
        else prediction_items(predictions, dev, **keys)
    )
    write_parquet(predictions_path, per_item)
    write_json(out_path, result)
    return result
