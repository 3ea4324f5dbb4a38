"""Benchmark: probing all layers at once vs one layer; feature extraction is one pass for all tasks.

Usage: python benchmarks/probing.py [--words 20000] [--hidden 256] [--layers 12]

1. Probing cost. Synthetic word features [words, layers + 1, hidden] with class-dependent
   means; times :func:`embryo.embryology.probing.probe_all_layers` on every layer (one batched job)
   and on layer 0 only, and prints the ratio. Training layers one by one would cost
   about (layers + 1) times one layer.
2. Extraction passes. A tiny random BERT encodes synthetic sentences once; a global
   forward hook counts encoder calls during extraction and during probing of all three
   tasks from the cached file (expected: one call per batch, then none).

This is a benchmark, not a test: it asserts nothing and prints a small table, with a line
saying whether the 2x target of issue 4 holds at the width asked for. Measured on 2 CPU
cores: 1.96x at hidden 128, 9.9x at hidden 768 (see that line for why).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedModel

from embryo.config.schema import fill_defaults, load_schema
from embryo.config.settings import build
from embryo.data.tokenizer import train_tokenizer
from embryo.data.treebank import Sentence
from embryo.embryology.features import extract_features, load_features
from embryo.embryology.probing import TASKS, ProbeSettings, probe_all_layers
from embryo.models.families import model_spec, new_model

REPO = Path(__file__).resolve().parents[1]


def probe_settings(**overrides) -> ProbeSettings:
    """The workflow's probe settings: the schema's defaults (config/schema.yaml), overridden."""
    schema = load_schema(REPO / "config" / "schema.yaml")
    section = schema["properties"]["analyses"]["properties"]["probing"]
    values = fill_defaults({}, section, schema) | overrides
    return build(ProbeSettings, values, "analyses.probing")


def synthetic_sentences(n_words: int, n_classes: int, rng, length: int = 10) -> list[Sentence]:
    """Sentences of random tags from ``n_classes``, a small vocabulary, right-branching heads."""
    vocab = [f"w{i}" for i in range(max(50, n_words // 20))]
    sents = []
    for k in range(math.ceil(n_words / length)):
        tags = [f"T{t}" for t in rng.integers(0, n_classes, length)]
        words = [str(w) for w in rng.choice(vocab, length)]
        heads = list(range(1, length)) + [-1]
        sents.append(Sentence(str(k), words, tags, tags, heads, [t.lower() for t in tags]))
    return sents


def synthetic_features(sents, layers: int, hidden: int, rng, means: dict) -> dict:
    """Features whose mean depends on the word's tag (more so in later layers)."""
    rows = np.stack([means[t] for s in sents for t in s.upos])  # [words, hidden]
    scale = np.linspace(0.2, 1.0, layers + 1)[None, :, None]
    noise = rng.normal(0, 1, (len(rows), layers + 1, hidden))
    lengths = [len(s.words) for s in sents]
    return {
        "features": (rows[:, None, :] * scale + noise).astype(np.float16),
        "sentence_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "kept": np.ones(len(rows), dtype=bool),
    }


def only_layer(feats: dict, layer: int) -> dict:
    return {**feats, "features": np.ascontiguousarray(feats["features"][:, layer : layer + 1])}


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def encoder_calls():
    """Count forward calls of base encoders (e.g. ``BertModel``) with a global hook."""
    calls = []

    def hook(module, args, output):
        if isinstance(module, PreTrainedModel) and module.base_model is module:
            calls.append(1)

    return calls, torch.nn.modules.module.register_module_forward_hook(hook)


def bench_probing(args, rng) -> None:
    train = synthetic_sentences(args.words, args.classes, rng)
    test = synthetic_sentences(args.words // 4, args.classes, rng)
    means = {f"T{t}": rng.normal(0, 0.1, args.hidden) for t in range(args.classes)}
    train_f = synthetic_features(train, args.layers, args.hidden, rng, means)
    test_f = synthetic_features(test, args.layers, args.hidden, rng, means)
    kw = {"task": args.task, "settings": probe_settings(epochs=args.epochs)}
    one, t_one = timed(
        lambda: probe_all_layers(only_layer(train_f, 0), train, only_layer(test_f, 0), test, **kw)
    )
    full, t_all = timed(lambda: probe_all_layers(train_f, train, test_f, test, **kw))
    n = args.layers + 1
    print(
        f"\nprobing ({args.task}, {full[0]['n_train']} train items, hidden {args.hidden}, "
        f"{n} layers incl. embeddings, {args.epochs} epochs, torch threads {torch.get_num_threads()})"
    )
    print(f"{'job':<32}{'seconds':>10}{'layers':>8}{'acc (last)':>12}")
    print(f"{'one layer':<32}{t_one:>10.2f}{1:>8}{one[-1]['accuracy']:>12.3f}")
    print(f"{'all layers, one batched job':<32}{t_all:>10.2f}{n:>8}{full[-1]['accuracy']:>12.3f}")
    print(f"{'layers one by one (estimate)':<32}{n * t_one:>10.2f}{n:>8}{'':>12}")
    ratio = t_all / t_one
    print(f"ratio all layers / one layer: {ratio:.2f} (one by one: {n})")
    verdict = "met" if ratio <= 2 else "NOT met"
    print(
        f"target 'all layers <= 2x one layer': {verdict} at hidden {args.hidden}. The fixed "
        "costs (batch gathering, half-to-float copies, Python steps) are shared by all layers, "
        "but the arithmetic is not: whitening costs words x hidden^2 and each Adam step "
        "words x hidden x classes per layer. At the tiny models' widths (<= 256) the shared "
        "costs dominate and the target holds; at BERT-base width (768) arithmetic dominates "
        f"and the ratio tends to the number of layers ({n})."
    )


def bench_extraction(args, rng) -> None:
    sents = synthetic_sentences(args.sentences * 10, 5, rng)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        texts = [" ".join(s.words) for s in sents]
        train_tokenizer(texts, tmp / "tok", algorithm="wordpiece", vocab_size=200, lowercase=True)
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tmp / "tok")
        dims = {
            "size": "tiny",
            "hidden_size": 32,
            "num_layers": 2,
            "num_heads": 2,
            "intermediate_size": 64,
            "dropout": 0.1,
            "initializer_range": 0.02,
        }
        model = new_model("bert", model_spec("bert", dims), tokenizer, 64, seed=0, sop=False)
        model.save_pretrained(tmp / "model")
        tokenizer.save_pretrained(tmp / "model")
        calls, handle = encoder_calls()
        try:
            stats = extract_features(tmp / "model", sents, tmp / "f.safetensors", batch_size=32)
            extraction_calls = len(calls)
            feats = load_features(tmp / "f.safetensors")
            for task in TASKS:
                probe_all_layers(
                    feats, sents, feats, sents, task, settings=probe_settings(epochs=1)
                )
        finally:
            handle.remove()
    print(f"\nfeature extraction ({len(sents)} sentences, batch 32, {stats['layers']} layers)")
    print(f"{'stage':<40}{'encoder calls':>14}")
    print(f"{'extraction (all layers at once)':<40}{extraction_calls:>14}")
    print(
        f"{'probing ' + ', '.join(TASKS) + ' from the cache':<40}{len(calls) - extraction_calls:>14}"
    )
    print(f"batches: {math.ceil(len(sents) / 32)}; extraction took {stats['seconds']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=20000, help="training words (test: 1/4)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=12, help="transformer layers (+ embeddings)")
    parser.add_argument("--classes", type=int, default=17)
    parser.add_argument("--task", choices=TASKS, default="upos")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument(
        "--sentences", type=int, default=64, help="sentences for the extraction part"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    bench_probing(args, rng)
    bench_extraction(args, rng)


if __name__ == "__main__":
    main()
