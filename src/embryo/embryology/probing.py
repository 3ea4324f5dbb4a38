"""Layer-wise linear probes of linguistic knowledge, with control tasks.

The embryology paper trains a linear classifier on each layer's frozen representations
and tracks its accuracy over pretraining (Chiang et al. 2020, §4): edge probing (Tenney
et al. 2019) on OntoNotes, for part of speech, constituent labels, semantic roles and
coreference over spans — the span tasks are :mod:`embryo.embryology.edge_probing`. The
word-level probes here read a UD treebank instead (open, unlike OntoNotes):

- ``upos`` / ``xpos``: one item per word, the probe sees the word's representation (the
  paper's POS probe, on UD's tags);
- ``deprel``: one item per non-root word, the probe sees ``[dependent; head]`` (gold head)
  and predicts the relation, a word-pair probe in edge probing's style (beyond the paper).

A probe's accuracy alone does not tell what the representation encodes from what the
probe memorises, so each probe is paired with a *control task* (Hewitt & Liang 2019,
"Designing and Interpreting Probes with Control Tasks", §2): every word type gets a
fixed random label drawn from the task's empirical label distribution; *selectivity*
= task accuracy - control accuracy (their §3).

All layers' probes are trained together in one batched computation (a weight tensor
[layers, in_dim, classes], one ``torch.baddbmm`` per step), task and control side by
side, on features cached by :mod:`embryo.embryology.features`, in whitened input coordinates so
that a few epochs of Adam reach the softmax regression's optimum.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from embryo.runtime.errors import EmbryoError

TASKS = ("upos", "xpos", "deprel")


class ProbeSettings(NamedTuple):
    """How every probe is trained (``analyses.probing``): its seed (batch order and control
    labels), epochs, Adam's learning rate, the L2 penalty in whitened coordinates
    (``weight_decay``: the probe's regularisation, which bounds its capacity and so its
    selectivity, Hewitt & Liang 2019, §4), minibatch size and least number of updates."""

    seed: int
    epochs: int
    lr: float
    weight_decay: float
    batch_size: int
    min_steps: int


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise EmbryoError(f"unknown probing task {task!r}; expected one of {TASKS}")


def _items(sentences, task: str):
    """(pairs, labels, word types) of the task's items, words indexed over all sentences."""
    _check_task(task)
    pairs, labels, types = [], [], []
    offset = 0
    for s in sentences:
        if task == "deprel":
            for i, head in enumerate(s.heads):
                if head >= 0:
                    pairs.append((offset + i, offset + head))
                    labels.append(s.deprels[i])
                    types.append(s.words[i])
        else:
            tags = getattr(s, task)
            pairs.extend((offset + i,) for i in range(len(tags)))
            labels.extend(tags)
            types.extend(s.words)
        offset += len(s.words)
    return pairs, labels, types


def probe_labels(sentences, task: str):
    """Items of ``task`` over ``sentences``: ``(pair_index, labels)``.

    ``pair_index`` is int64 [n_items, 1] (word) for upos/xpos and [n_items, 2]
    (dependent, head) for deprel, indexing words of all sentences concatenated in
    order (the rows of the features file); ``labels`` is a list of strings.
    """
    import numpy as np

    pairs, labels, _ = _items(sentences, task)
    width = 2 if task == "deprel" else 1
    return np.array(pairs, dtype=np.int64).reshape(-1, width), labels


def _uniform(seed: int, task: str, word: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, task, word)."""
    digest = hashlib.sha256(f"{seed}\0{task}\0{word}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2**64


def control_labels(sentences, task: str, seed: int, *, reference=None) -> list[str]:
    """Control-task labels (Hewitt & Liang 2019, §2): one fixed random label per word type.

    Word type ``v`` (the exact form; for deprel the dependent's form) gets the label at
    quantile ``u(seed, v)`` of the empirical label distribution of ``reference``
    (default: ``sentences``). ``u`` is a hash, so a type gets the same label in every
    split as long as the same ``reference`` is used: pass the training sentences when
    labelling the test split.
    """
    _, labels, types = _items(sentences, task)
    return control_from_types(
        types, labels if reference is None else _items(reference, task)[1], seed, task
    )


def control_from_types(types, reference_labels, seed: int, task: str) -> list[str]:
    """:func:`control_labels` for items given as their types: type ``v`` gets the label at
    quantile ``u(seed, task, v)`` of ``reference_labels``' distribution."""
    counts = Counter(reference_labels)
    if not counts:
        raise EmbryoError(f"control_labels: no {task} item to take a label distribution from")
    names = sorted(counts)
    total = sum(counts.values())
    cdf, running = [], 0
    for name in names:
        running += counts[name]
        cdf.append(running / total)
    cdf[-1] = 1.0
    chosen = {}
    for word in types:
        if word not in chosen:
            chosen[word] = names[min(bisect_right(cdf, _uniform(seed, task, word)), len(names) - 1)]
    return [chosen[word] for word in types]


def _as_features(feats, name: str, sentences) -> dict:
    """Load ``feats`` if it is a path; check that it was extracted from ``sentences``."""
    import numpy as np

    from embryo.embryology.features import load_features

    if isinstance(feats, str | Path):
        feats = load_features(feats)
    lengths = np.array([len(s.words) for s in sentences], dtype=np.int64)
    offsets = np.asarray(feats["sentence_offsets"])
    if len(offsets) != len(lengths) + 1 or not np.array_equal(np.diff(offsets), lengths):
        raise EmbryoError(
            f"{name} features hold {len(offsets) - 1} sentences / {offsets[-1]} words; expected "
            f"the {len(lengths)} sentences / {lengths.sum()} words given (extract them again)"
        )
    return feats


def _encode(labels, classes: list[str]):
    """Class indices; a label not in ``classes`` becomes ``len(classes)`` (unknown)."""
    import torch

    index = {c: k for k, c in enumerate(classes)}
    return torch.tensor([index.get(label, len(classes)) for label in labels], dtype=torch.long)


class _Inputs:
    """Probe inputs gathered batch by batch from float16 word features [n_words, L, H].

    The item ``r`` of a task is the words ``pairs[r]`` (one, or dependent and head); its
    input at layer ``l`` is their layer-``l`` features concatenated (``in_dim = k * H``).
    Batches are gathered into reused buffers (fresh multi-megabyte tensors per step cost
    more than the probe's own products), and standardisation and whitening are folded
    into the weights instead of applied to the inputs (see :func:`_effective`).
    """

    def __init__(self, features, pairs, batch_size: int):
        import numpy as np
        import torch

        self.features, self.pairs = features, pairs
        _, self.layers, self.hidden = features.shape
        self.k = pairs.shape[1]
        self.dim = self.k * self.hidden
        self._half = np.empty((batch_size, self.k, self.layers, self.hidden), np.float16)
        self._full = torch.empty(batch_size, self.k, self.layers, self.hidden)

    def __len__(self) -> int:
        return len(self.pairs)

    def parts(self, rows) -> list:
        """Per word of the item, a [L, B, H] float32 view (valid until the next call)."""
        import numpy as np
        import torch

        half = self._half[: len(rows)]
        np.take(self.features, self.pairs[rows], axis=0, out=half, mode="clip")
        full = self._full[: len(rows)]
        full.copy_(torch.from_numpy(half))
        return [full[:, j].transpose(0, 1) for j in range(self.k)]

    def logits(self, rows, weight, bias):
        """``x @ weight + bias`` for every layer: [L, B, C] from weight [L, in_dim, C]."""
        import torch

        out = bias
        for j, x in enumerate(self.parts(rows)):
            out = torch.baddbmm(out, x, weight[:, j * self.hidden : (j + 1) * self.hidden])
        return out

    def full(self, rows):
        import torch

        return torch.cat(self.parts(rows), dim=-1)  # [L, B, in_dim]

    def conditioning(self, batch_size: int, sample: int = 16384, ridge: float = 1e-3):
        """``(mean [L, in_dim], Q [L, in_dim, in_dim])`` such that ``(x - mean) @ Q`` has
        (nearly) identity covariance: standardisation, then whitening by the inverse
        Cholesky factor of the correlation matrix (``ridge`` added to its diagonal keeps
        near-constant directions from blowing up). Estimated on up to ``sample`` evenly
        spaced items: it only has to condition the problem, not be exact.
        """
        import numpy as np
        import torch

        rows = np.unique(np.linspace(0, len(self) - 1, min(len(self), sample)).round().astype(int))
        chunks = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
        total = torch.zeros(self.layers, self.dim, dtype=torch.float64)
        squares = torch.zeros_like(total)
        for chunk in chunks:
            x = self.full(chunk).double()
            total += x.sum(1)
            squares += (x * x).sum(1)
        mean = total / len(rows)
        std = (squares / len(rows) - mean * mean).clamp_min(0).sqrt().clamp_min(1e-6)
        mean, std = mean.float(), std.float()
        corr = torch.zeros(self.layers, self.dim, self.dim)
        for chunk in chunks:
            z = (self.full(chunk) - mean[:, None]) / std[:, None]
            corr += z.transpose(1, 2) @ z
        eye = torch.eye(self.dim)
        factor = torch.linalg.cholesky(corr / len(rows) + ridge * eye)  # corr = R R^T
        whiten = torch.linalg.solve_triangular(factor, eye.expand_as(corr), upper=False)
        return mean, whiten.transpose(1, 2) / std[:, :, None]  # diag(1/std) R^-T


def _effective(white, bias, conditioning, mean):
    """Weights on raw inputs of the probe ``(x - mean) @ Q @ white + bias``.

    With ``Q = conditioning``: ``W = Q @ white`` and ``b = bias - mean @ W``. Training in
    whitened coordinates makes the softmax regression well conditioned (hidden states
    are strongly correlated), so a few epochs of Adam reach its optimum; a linear probe
    with a bias represents the same functions of ``x`` either way.
    """
    import torch

    weight = torch.bmm(conditioning, white)
    return weight, bias - torch.bmm(mean[:, None, :], weight)


def _train(inputs, targets, *, seed, epochs, lr, weight_decay, batch_size, min_steps, desc):
    """Jointly train softmax regressions on every layer, one per label set in ``targets``.

    ``targets`` are (labels [n], n_classes) pairs; their classes sit side by side in one
    weight tensor [L, in_dim, sum of classes], each with its own softmax. Returns the
    effective (weight, bias) on raw inputs.
    """
    import numpy as np
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    mean, conditioning = inputs.conditioning(batch_size)
    layers, n = inputs.layers, len(inputs)
    bounds = np.cumsum([0] + [c for _, c in targets])
    white = torch.zeros(layers, inputs.dim, int(bounds[-1]), requires_grad=True)
    bias = torch.zeros(layers, 1, int(bounds[-1]), requires_grad=True)
    optimizer = torch.optim.Adam([white, bias], lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(n / batch_size)
    epochs = max(epochs, math.ceil(min_steps / steps_per_epoch))
    total = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 - t / total)
    gen = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(epochs), desc=desc, mininterval=10, disable=epochs < 2):
        order = torch.randperm(n, generator=gen).numpy()
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            weight, shift = _effective(white, bias, conditioning, mean)
            logits = inputs.logits(rows, weight, shift)  # [L, B, C]
            # Mean over items, summed over layers and label sets: each probe its own loss.
            loss = 0
            for (labels, _), a, b in zip(targets, bounds[:-1], bounds[1:], strict=True):
                target = labels[rows].repeat(layers)
                loss = loss + layers * F.cross_entropy(logits[..., a:b].flatten(0, 1), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    with torch.no_grad():
        return _effective(white, bias, conditioning, mean)


def _predict(inputs, weight, bias, targets, batch_size: int):
    """Per label set, each layer's predicted class of every item: [L, n] tensors."""
    import numpy as np
    import torch

    bounds = np.cumsum([0] + [c for _, c in targets])
    predicted = [torch.empty(inputs.layers, len(inputs), dtype=torch.long) for _ in targets]
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            rows = np.arange(start, min(start + batch_size, len(inputs)))
            logits = inputs.logits(rows, weight, bias)
            for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
                predicted[k][:, rows] = logits[..., a:b].argmax(-1)
    return predicted


ITEM_COLUMNS = [
    "layer",
    "item",
    "sentence",
    "word",
    "head",
    "label",
    "predicted",
    "control_label",
    "control_predicted",
]


def summarise(items, meta: dict) -> list[dict]:
    """One dict per layer from the per-item predictions of :func:`probe_layers`.

    ``accuracy`` and ``control_accuracy`` are the shares of test items whose prediction
    equals their label (a label never seen in training is never predicted, so counts
    wrong), ``selectivity`` their difference, ``n_test`` the items; ``meta`` adds what
    the training split decides (``task``, ``majority_baseline``, ``n_train``,
    ``n_classes``, ``test_unseen_labels``, ``test_truncated``).
    """
    rows = []
    for layer, group in items.groupby("layer", sort=True):
        accuracy = float((group["predicted"] == group["label"]).mean())
        control = float((group["control_predicted"] == group["control_label"]).mean())
        rows.append(
            {
                "layer": int(layer),
                "task": meta["task"],
                "accuracy": accuracy,
                "control_accuracy": control,
                "selectivity": accuracy - control,
                "majority_baseline": meta["majority_baseline"],
                "n_train": meta["n_train"],
                "n_test": len(group),
                "n_classes": meta["n_classes"],
                "test_unseen_labels": meta["test_unseen_labels"],
                "test_truncated": meta["test_truncated"],
            }
        )
    return rows


def probe_all_layers(*args, **kwargs) -> list[dict]:
    """One dict per layer (0 = embeddings): :func:`summarise` of :func:`probe_layers`.

    Keys ``layer, task, accuracy, control_accuracy, selectivity, majority_baseline,
    n_train, n_test, n_classes, test_unseen_labels, test_truncated``.
    """
    return summarise(*probe_layers(*args, **kwargs))


def probe_layers(
    train_feats,
    train_sents,
    test_feats,
    test_sents,
    task: str,
    *,
    settings: ProbeSettings,
):
    """Train a softmax-regression probe per layer on ``train``, predict the whole ``test``.

    ``*_feats`` are :func:`embryo.embryology.features.load_features` dicts (or their paths) for the
    given sentences. All layers' probes and their control-task twins
    (:func:`control_labels`, same recipe) are trained jointly by minibatch Adam in
    standardised, whitened input coordinates (training statistics; ``weight_decay``
    applies there), from zero weights, with a linearly decaying learning rate, for
    ``epochs`` passes (more on a small training set, to make ``min_steps`` updates);
    ``settings``: :class:`ProbeSettings`. The seed fixes the batch order and the control
    labels. Items touching a word truncated at
    extraction are left out of both splits (``test_truncated`` counts them); a test label
    never seen in training is counted wrong. Returns ``(items, meta)``: per layer (0 =
    embeddings) and test item, a row with `ITEM_COLUMNS` (``item`` numbers the task's
    test items before truncated ones are left out, ``sentence`` is its test sentence,
    ``word`` is the item's word, ``head``
    its head for deprel, else -1, both indexing the test words in order; the gold and
    predicted label of the task and of its control task), and what the training split
    decides, for :func:`summarise`.
    """
    _check_task(task)
    train = _as_features(train_feats, "train", train_sents)
    test = _as_features(test_feats, "test", test_sents)
    train_pairs, train_labels = probe_labels(train_sents, task)
    test_pairs, test_labels = probe_labels(test_sents, task)
    seed = settings.seed
    return probe_items(
        train,
        train_pairs,
        train_labels,
        control_labels(train_sents, task, seed),
        test,
        test_pairs,
        test_labels,
        control_labels(test_sents, task, seed, reference=train_sents),
        task,
        settings=settings,
    )


def probe_items(
    train,
    train_pairs,
    train_labels,
    train_control,
    test,
    test_pairs,
    test_labels,
    test_control,
    task: str,
    *,
    settings: ProbeSettings,
):
    """:func:`probe_layers` on items given directly: ``train`` and ``test`` are features
    dicts (``features`` [n_units, layers, hidden], ``kept``), ``*_pairs`` int64 [n_items,
    1 or 2] the units each item reads (concatenated), with its label and control label.
    Words and word pairs (the treebank tasks) and spans and span pairs (edge probing,
    :mod:`embryo.embryology.edge_probing`) are probed alike."""
    import numpy as np
    import pandas as pd

    seed, batch_size = settings.seed, settings.batch_size
    if train["features"].shape[1:] != test["features"].shape[1:]:
        raise EmbryoError(
            f"train features {train['features'].shape[1:]} and test features "
            f"{test['features'].shape[1:]} differ in [layers, hidden]; expected one checkpoint"
        )
    keep = train["kept"][train_pairs].all(axis=1)
    test_keep = test["kept"][test_pairs].all(axis=1)
    train_pairs, test_pairs = train_pairs[keep], test_pairs[test_keep]
    train_labels = [x for x, k in zip(train_labels, keep, strict=True) if k]
    train_control = [x for x, k in zip(train_control, keep, strict=True) if k]
    test_labels = [x for x, k in zip(test_labels, test_keep, strict=True) if k]
    test_control = [x for x, k in zip(test_control, test_keep, strict=True) if k]
    if not train_labels or not test_labels:
        raise EmbryoError(
            f"probe {task}: {len(train_labels)} training and {len(test_labels)} test items; "
            "expected some of each (are all words truncated?)"
        )

    classes, control_classes = sorted(set(train_labels)), sorted(set(train_control))
    n_classes, n_control = len(classes), len(control_classes)
    y, y_control = _encode(train_labels, classes), _encode(train_control, control_classes)
    y_test = _encode(test_labels, classes)
    y_test_control = _encode(test_control, control_classes)

    inputs = _Inputs(train["features"], train_pairs, batch_size)
    weight, bias = _train(
        inputs,
        [(y, n_classes), (y_control, n_control)],
        seed=seed,
        epochs=settings.epochs,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        batch_size=batch_size,
        min_steps=settings.min_steps,
        desc=f"probe {task}",
    )
    test_inputs = _Inputs(test["features"], test_pairs, batch_size)
    predicted, control_predicted = _predict(
        test_inputs, weight, bias, [(y_test, n_classes), (y_test_control, n_control)], batch_size
    )
    layers, n_test = inputs.layers, len(test_inputs)
    majority = Counter(train_labels).most_common(1)[0][0]
    words = test_pairs[:, 0]
    heads = test_pairs[:, 1] if test_pairs.shape[1] > 1 else np.full(n_test, -1)
    # the test sentence of each item (the unit the findings resample: a sentence's words
    # are not independent)
    offsets = np.asarray(test["sentence_offsets"])
    sentences = np.searchsorted(offsets, words, side="right") - 1
    item_ids = np.flatnonzero(test_keep)
    names = np.array(classes, dtype=object)
    control_names = np.array(control_classes, dtype=object)
    items = pd.DataFrame(
        {
            "layer": np.repeat(np.arange(layers), n_test),
            "item": np.tile(item_ids, layers),
            "sentence": np.tile(sentences, layers),
            "word": np.tile(words, layers),
            "head": np.tile(heads, layers),
            "label": test_labels * layers,
            "predicted": names[predicted.flatten().numpy()],
            "control_label": test_control * layers,
            "control_predicted": control_names[control_predicted.flatten().numpy()],
        },
        columns=ITEM_COLUMNS,
    )
    meta = {
        "task": task,
        "majority_baseline": float(np.mean([label == majority for label in test_labels])),
        "n_train": len(inputs),
        "n_classes": n_classes,
        "test_unseen_labels": int((y_test == n_classes).sum()),
        "test_truncated": int((~test_keep).sum()),
    }
    return items, meta
