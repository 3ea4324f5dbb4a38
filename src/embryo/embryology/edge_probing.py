"""Edge probing: span and span-pair probes per layer (Tenney et al. 2019).

The Embryology paper probes each ALBERT checkpoint, layer by layer, for part of speech,
constituent labels, semantic roles and coreference on OntoNotes with edge probing
(Chiang et al. 2020, §4; Tenney et al. 2019, "What do you learn from context?", §3). The
data are jiant's edge-probing files (:mod:`embryo.data.edges`): a sentence and targets,
each one span (constituents) or two (SRL's predicate and argument, coreference's
mentions) with a label.

As the Embryology code: a span's vector at a layer is the **mean of all its pieces'
vectors** ([CLS] and [SEP] excluded; Sec-3:Edge-Probing/preprocess/extract_feature.py
L128-139, ``np.stack(span1).mean(0)``), not Tenney et al.'s projected, self-attention
pooled span; a span pair's input is the two vectors concatenated, and the probe is one
linear layer with a softmax (main.py L35-47: 768 or 1536 inputs). Here it is trained as
the word probes are (:mod:`embryo.embryology.probing`): all layers at once, whitened
inputs, with a control task (Hewitt & Liang 2019) whose labels are fixed by the span's
words (a pair: both spans' words), so selectivity is reported beside accuracy. Their
code instead trains with Adam at 1e-4, batch 1024 for 30k steps and halves the rate on
plateaus; its test F1 covers only the last batch (see the README), which we do not copy.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from embryo.embryology.features import extract_features, load_features
from embryo.embryology.probing import control_from_types, probe_items
from embryo.runtime.errors import EmbryoError


def edge_units(records):
    """The spans to pool, and the targets over them.

    Returns ``(spans, pairs, labels, types)``: ``spans[i]`` the distinct spans of record i
    in order (each pooled once, however many targets share it); ``pairs`` int64
    [n_targets, 1 or 2] indexing those spans over all records concatenated; the targets'
    labels; and each target's words (a pair's two spans joined by ``|``), which fix its
    control label.
    """
    import numpy as np

    spans, pairs, labels, types, offset = [], [], [], [], 0
    width = None
    for words, targets in records:
        own = sorted({s for t in targets for s in (t.span1, t.span2) if s is not None})
        index = {s: offset + k for k, s in enumerate(own)}
        for target in targets:
            ends = [target.span1] if target.span2 is None else [target.span1, target.span2]
            if width is None:
                width = len(ends)
            elif width != len(ends):
                raise EmbryoError(
                    "edge probing: single-span and span-pair targets in one task; expected one kind"
                )
            pairs.append([index[s] for s in ends])
            labels.append(target.label)
            types.append("|".join(" ".join(words[a:b]) for a, b in ends))
        spans.append(own)
        offset += len(own)
    if not pairs:
        raise EmbryoError("edge probing: no targets")
    return spans, np.array(pairs, dtype=np.int64), labels, types


def edge_probe(
    model_dir,
    train_records,
    test_records,
    task: str,
    *,
    settings,
    max_length: int,
    batch_size: int,
    work_dir=None,
):
    """Probe every layer of the checkpoint in ``model_dir`` for one edge-probing task.

    The span vectors of both splits are pooled once (:func:`edge_units`;
    :func:`embryo.embryology.features.extract_features` with ``spans``), then the word
    probes' trainer runs on them; a target with a span cut off by ``max_length`` is left
    out (``test_truncated``). Returns ``(items, meta)`` as
    :func:`embryo.embryology.probing.probe_layers`, ``word`` and ``head`` holding each
    test target's first and second span (their index among the test split's pooled
    spans; -1 for single-span tasks).
    """
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        feats, units = {}, {}
        for split, records in (("train", train_records), ("test", test_records)):
            spans, pairs, labels, types = edge_units(records)
            path = Path(tmp) / f"{split}.safetensors"
            extract_features(
                model_dir,
                [r.words for r in records],
                path,
                spans=spans,
                max_length=max_length,
                batch_size=batch_size,
            )
            feats[split], units[split] = load_features(path), (pairs, labels, types)
    train_pairs, train_labels, train_types = units["train"]
    test_pairs, test_labels, test_types = units["test"]
    seed = settings.seed
    return probe_items(
        feats["train"],
        train_pairs,
        train_labels,
        control_from_types(train_types, train_labels, seed, task),
        feats["test"],
        test_pairs,
        test_labels,
        control_from_types(test_types, train_labels, seed, task),
        task,
        settings=settings,
    )
