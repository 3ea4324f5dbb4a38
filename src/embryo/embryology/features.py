"""Word representations from every layer of a checkpoint, cached once per checkpoint and split.

The embryology paper probes each layer of ALBERT with linear classifiers (Chiang et al.
2020, §4, "Linguistic knowledge"): a word is represented, at each layer, by the mean of
its sub-word pieces' hidden states. :func:`extract_features` runs the model's base
encoder once per batch of treebank sentences with ``output_hidden_states=True`` and keeps
all layers at once (layer 0 = the embedding output), so every probing task and every
layer reads the same cached file instead of running the model again.

File layout (safetensors, written atomically), over all sentences' words in treebank order:

    features          float16 [n_words, n_layers + 1, hidden]
    sentence_offsets  int64   [n_sentences + 1]; sentence i's words are offsets[i]:offsets[i+1]
    kept              bool    [n_words]; False for a word dropped by ``max_length`` (zeros)
"""

from __future__ import annotations

import time
from pathlib import Path

from embryo.data.treebank import word_pieces
from embryo.models.loading import load_masked_lm, max_positions
from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError

KEYS = ("features", "sentence_offsets", "kept")
_FLOAT16_MAX = 65504.0


def _words(sentence) -> list[str]:
    """A :class:`~embryo.data.treebank.Sentence`'s words, or a plain list of words."""
    return list(getattr(sentence, "words", sentence))


def _pooling(batch_spans, n_words: int, width: int):
    """Matrix [batch, n_words, width] whose row (b, w) averages unit w's pieces (zeros if dropped)."""
    import torch

    pool = torch.zeros(len(batch_spans), n_words, width)
    for r, spans in enumerate(batch_spans):
        for w, (a, b) in enumerate(spans):
            if b > a:
                pool[r, w, a:b] = 1.0 / (b - a)
    return pool


def extract_features(
    model_dir,
    sentences,
    out_path,
    *,
    spans=None,
    batch_size: int = 32,
    max_length: int = 128,
    device=None,
) -> dict:
    """Cache the mean-of-pieces representation of every word at every layer; return stats.

    One forward pass of the base encoder per batch of ``batch_size`` sentences (batched
    by length to save padding; stored in treebank order). ``sentences`` are
    :class:`~embryo.data.treebank.Sentence` objects or lists of words. With ``spans``
    (per sentence, a list of ``(start, end)`` word ranges) the file holds those spans
    instead of the words, each the mean of all its pieces (edge probing,
    :mod:`embryo.embryology.edge_probing`); "words" below then counts spans. Returns
    ``{"words", "kept", "sentences", "layers", "hidden", "forward_calls", "seconds"}``
    where ``layers`` counts the embedding output too.
    """
    import numpy as np
    import torch
    from safetensors.numpy import save_file
    from tqdm import tqdm

    started = time.perf_counter()
    if batch_size < 1:
        raise EmbryoError(f"extract_features: batch_size should be >= 1, not {batch_size}")
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise EmbryoError(f"{model_dir}: expected a save_pretrained checkpoint (config.json)")
    model, tokenizer = load_masked_lm(model_dir, device)
    encoder = model.base_model
    device = encoder.device
    n_layers = encoder.config.num_hidden_layers + 1
    hidden = encoder.config.hidden_size
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    words = [_words(s) for s in sentences]
    units = spans if spans is not None else [[(w, w + 1) for w in range(len(ws))] for ws in words]
    if len(units) != len(words):
        raise EmbryoError(f"extract_features: {len(units)} span lists for {len(words)} sentences")
    lengths = np.array([len(u) for u in units], dtype=np.int64)
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    features = np.zeros((int(offsets[-1]), n_layers, hidden), dtype=np.float16)
    kept = np.zeros(int(offsets[-1]), dtype=bool)
    max_length = min(max_length, max_positions(encoder))
    encoded = [word_pieces(tokenizer, w, max_length=max_length) for w in words]
    # each unit's pieces: from its first word's first piece to its last word's last (a
    # suffix cut by max_length leaves a unit whose last word is cut with none)
    pieces = [
        [(e[1][a][0], e[1][b - 1][1]) if e[1][b - 1][1] > e[1][b - 1][0] else (0, 0) for a, b in u]
        for e, u in zip(encoded, units, strict=True)
    ]
    order = sorted(range(len(words)), key=lambda i: (len(encoded[i][0]), i))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

    with torch.inference_mode():
        for batch in tqdm(batches, desc="features", mininterval=10, disable=len(batches) < 2):
            width = max(len(encoded[i][0]) for i in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                ids[r, : len(encoded[i][0])] = torch.tensor(encoded[i][0])
                mask[r, : len(encoded[i][0])] = 1
            out = encoder(
                input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True
            )
            if len(out.hidden_states) != n_layers:
                raise EmbryoError(
                    f"{model_dir}: expected {n_layers} hidden states, got {len(out.hidden_states)}"
                )
            states = torch.stack(out.hidden_states, dim=1).float()  # [B, L+1, T, H]
            pool = _pooling([pieces[i] for i in batch], int(lengths[batch].max()), width)
            pooled = torch.einsum("bwt,blth->bwlh", pool.to(states.device), states)
            pooled = pooled.clamp(-_FLOAT16_MAX, _FLOAT16_MAX).cpu().numpy().astype(np.float16)
            for r, i in enumerate(batch):
                first, n = int(offsets[i]), int(lengths[i])
                features[first : first + n] = pooled[r, :n]
                kept[first : first + n] = [b > a for a, b in pieces[i]]

    metadata = {"model_dir": str(model_dir), "max_length": str(max_length), "layers": str(n_layers)}
    with atomic_path(out_path) as tmp:
        tensors = {"features": features, "sentence_offsets": offsets, "kept": kept}
        save_file(tensors, str(tmp), metadata=metadata)
    return {
        "words": int(offsets[-1]),
        "kept": int(kept.sum()),
        "sentences": len(words),
        "layers": n_layers,
        "hidden": hidden,
        "forward_calls": len(batches),
        "seconds": round(time.perf_counter() - started, 3),
    }


def load_features(path) -> dict:
    """Read a file written by :func:`extract_features`: ``{"features", "sentence_offsets", "kept"}``."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.is_file():
        raise EmbryoError(f"{path}: features file not found")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise EmbryoError(f"{path}: not a safetensors features file ({err})") from None
    missing = [k for k in KEYS if k not in tensors]
    if missing:
        raise EmbryoError(f"{path}: missing {missing}; expected keys {list(KEYS)}")
    feats, offsets, kept = (tensors[k] for k in KEYS)
    if feats.ndim != 3 or kept.shape != feats.shape[:1] or offsets[-1] != feats.shape[0]:
        raise EmbryoError(
            f"{path}: inconsistent shapes features {feats.shape}, kept {kept.shape}, "
            f"last sentence offset {offsets[-1]}; expected [n_words, layers, hidden], [n_words], n_words"
        )
    return {k: tensors[k] for k in KEYS}
