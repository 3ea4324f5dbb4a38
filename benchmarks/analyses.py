"""Benchmark: each per-checkpoint analysis on a BERT-base-shaped checkpoint, and against
the tool a researcher would otherwise use.

Usage: python benchmarks/analyses.py [--size base] [--sentences 200] [--facts 25]
       [--pairs 3] [--blocks 32] [--rounds 3] [--json out.json]

A checkpoint of the asked shape (``base``: BERT-base, 12 layers of 768, 110M parameters,
a WordPiece vocabulary of 30,522 trained on WikiText-2; randomly initialised: the time of
an analysis does not depend on what the weights know) is saved as ``save_pretrained``
does, and each analysis is timed as its job runs it, from the checkpoint directory to its
result (loading included): the all-layer features of ``--sentences`` UD EWT test
sentences, mask prediction and reconstruction by POS on them, LAMA on ``--facts`` facts of
every T-REx relation, BLiMP on ``--pairs`` pairs of every paradigm, the weight analysis,
and the masked-LM validation loss on ``--blocks`` blocks of 128 tokens of WikiText-2.

Two of them against the alternative, in ``--rounds`` rounds of ABBA order (the ratio of
each round, then their median and range):

- BLiMP's pseudo-log-likelihoods (:func:`embryo.embryology.blimp.pseudo_log_likelihoods`,
  at the workflow's default ``analyses.batch_size`` of 64 sequences) against minicons'
  ``MaskedLMScorer.sequence_score`` (``PLL_metric="original"``, sum of natural-log
  probabilities) on the same model and sentences, ``--minicons-chunk`` sentences a call
  (8: its fastest on this machine among 1, 8, 32 and 64; it pads the masked copies of a
  call's sentences to one length); the scores must agree to 1e-4. Target: at least 2x.
- The feature cache (:func:`embryo.embryology.features.extract_features`) against a plain
  loop: one ``model(..., output_hidden_states=True)`` per sentence, each word the mean of
  its pieces' vectors (``word_ids``); the vectors must agree to float16 rounding.

Every analysis runs batched and under ``torch.inference_mode`` or ``no_grad``, reading the
checkpoint once. This asserts nothing: it prints a table (and writes ``--json``); docs/performance.md
reports what it printed. minicons is in the test extra (``pip install -e .[test]``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SHAPES = {  # hidden, layers, heads, intermediate, vocabulary
    "base": (768, 12, 12, 3072, 30522),
    "tiny": (64, 2, 2, 128, 2000),
}


def checkpoint(out: Path, size: str) -> Path:
    """A randomly initialised BERT of ``size`` and its WordPiece tokenizer, trained on
    WikiText-2, saved with save_pretrained."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from embryo.data.tokenizer import train_tokenizer

    hidden, layers, heads, inter, vocab = SHAPES[size]
    text = (DATA / "wikitext-2" / "valid.txt").read_text().splitlines()
    train_tokenizer(
        (t for t in text if t.strip() and not t.startswith(" =")),
        out,
        algorithm="wordpiece",
        vocab_size=vocab,
        lowercase=True,
    )
    tokenizer = AutoTokenizer.from_pretrained(out)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=inter,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertForMaskedLM(config).save_pretrained(out)
    return out


def timed(fn, *args, **kw):
    started = time.perf_counter()
    result = fn(*args, **kw)
    return time.perf_counter() - started, result


def plain_features(model_dir, sentences, device="cpu"):
    """The plain loop: one forward pass per sentence, the mean of each word's pieces."""
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval().to(device)
    out = []
    with torch.inference_mode():
        for s in sentences:
            enc = tokenizer(s.words, is_split_into_words=True, return_tensors="pt")
            ids = enc.word_ids()
            enc = enc.to(device)
            states = torch.stack(model(**enc, output_hidden_states=True).hidden_states, 1)[0]
            for w in range(len(s.words)):
                pieces = [t for t, i in enumerate(ids) if i == w]
                out.append(states[:, pieces].mean(1).float().cpu().numpy())
    return np.stack(out)


def minicons_pll(model_dir, sentences, chunk: int = 8, device="cpu"):
    """minicons' PLL. minicons 0.3.39 encodes with ``batch_encode_plus``, which
    transformers 5 dropped for ``__call__`` (the same encoding): given back here, the rest
    of minicons as released."""
    from minicons import scorer

    lm = scorer.MaskedLMScorer(str(model_dir), device, PLL_metric="original")
    if not hasattr(type(lm.tokenizer), "batch_encode_plus"):
        lm.tokenizer.batch_encode_plus = lm.tokenizer.__call__
    scores = []
    for i in range(0, len(sentences), chunk):
        scores += lm.sequence_score(sentences[i : i + chunk], reduction=lambda x: x.sum(0).item())
    return scores


def embryo_pll(model_dir, sentences, device="cpu"):
    import torch

    from embryo.embryology.blimp import pseudo_log_likelihoods
    from embryo.models.loading import load_masked_lm

    model, tokenizer = load_masked_lm(model_dir, device)
    with torch.inference_mode():
        return pseudo_log_likelihoods(model, tokenizer, sentences, batch_size=64)


def abba(rounds: int, a, b):
    """``rounds`` rounds of a, b, b, a; per round the ratio of b's time to a's (the mean of
    its two runs each), and a's and b's last results."""
    ratios, times = [], {"a": [], "b": []}
    for _ in range(rounds):
        ta1, ra = timed(a)
        tb1, rb = timed(b)
        tb2, _ = timed(b)
        ta2, _ = timed(a)
        times["a"] += [ta1, ta2]
        times["b"] += [tb1, tb2]
        ratios.append((tb1 + tb2) / (ta1 + ta2))
    return ratios, times, ra, rb


def main(argv=None) -> int:
    import numpy as np
    import torch

    from embryo.data.blimp import load_blimp
    from embryo.data.lama import load_lama
    from embryo.data.treebank import read_conllu
    from embryo.embryology.blimp import blimp_items
    from embryo.embryology.features import extract_features, load_features
    from embryo.embryology.lama import lama_items
    from embryo.embryology.mlm_pos import mlm_items
    from embryo.models.weights import weight_table

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=sorted(SHAPES), default="base")
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--facts", type=int, default=25, help="per T-REx relation")
    parser.add_argument("--pairs", type=int, default=3, help="per BLiMP paradigm")
    parser.add_argument("--blocks", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--minicons-chunk", type=int, default=8, help="sentences per call")
    parser.add_argument("--device", default=None, help="default: cuda if visible, else cpu")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")

    work = Path(tempfile.mkdtemp(prefix="embryo-analyses-"))
    model_dir = checkpoint(work / "model", args.size)
    sentences = read_conllu(DATA / "ud" / "en_ewt-ud-test.conllu", max_sentences=args.sentences)
    facts = load_lama(DATA / "lama", max_facts_per_relation=args.facts)
    pairs = load_blimp(DATA / "blimp", max_pairs=args.pairs)
    words = sum(len(s.words) for s in sentences)
    rows = {}

    def record(name, seconds, items, unit):
        rows[name] = {
            "seconds": seconds,
            "items": items,
            "unit": unit,
            "per_second": items / seconds,
        }
        print(
            f"{name:<28} {seconds:8.1f} s  {items:6d} {unit:<10} {items / seconds:8.1f} {unit}/s",
            flush=True,
        )

    hidden, layers, _, _, vocab = SHAPES[args.size]
    print(
        f"checkpoint: {args.size} ({layers} layers of {hidden}, vocabulary {vocab}); "
        f"{device}, {torch.get_num_threads()} threads; {len(sentences)} sentences, {len(facts)} facts, "
        f"{len(pairs)} pairs"
    )
    seconds, _ = timed(
        extract_features, model_dir, sentences, work / "f.safetensors", device=device
    )
    record("features (every layer)", seconds, words, "words")
    seconds, _ = timed(mlm_items, model_dir, sentences, device=device)
    record("mask prediction by POS", seconds, words, "words")
    seconds, ranks = timed(lama_items, model_dir, facts, device=device)
    record("LAMA", seconds, int(ranks["rank"].notna().sum()), "facts")
    seconds, scored = timed(blimp_items, model_dir, pairs, device=device)
    record("BLiMP (PLL)", seconds, int(scored["correct"].notna().sum()), "pairs")
    seconds, _ = timed(weight_table, model_dir, model_dir, run="r", step=0, reference_step=0)
    record("weights", seconds, 1, "checkpoint")
    seconds = validation_seconds(model_dir, work, args.blocks)
    record("validation loss", seconds, args.blocks, "blocks")

    texts = list(dict.fromkeys(s for p in pairs for s in (p["sentence_good"], p["sentence_bad"])))
    ratios, times, ours, theirs = abba(
        args.rounds,
        lambda: embryo_pll(model_dir, texts, device),
        lambda: minicons_pll(model_dir, texts, args.minicons_chunk, device),
    )
    diff = float(np.max(np.abs(np.asarray(ours) - np.asarray(theirs))))
    pll = {
        "sentences": len(texts),
        "minicons_chunk": args.minicons_chunk,
        "ratio_median": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "embryo_seconds": times["a"],
        "minicons_seconds": times["b"],
        "max_abs_difference": diff,
    }
    print(
        f"\nBLiMP PLL, {len(texts)} sentences: embryo {statistics.median(times['a']):.1f} s, "
        f"minicons {statistics.median(times['b']):.1f} s: {pll['ratio_median']:.2f}x "
        f"({min(ratios):.2f}-{max(ratios):.2f}) over minicons (target 2x); largest score "
        f"difference {diff:.2e} (target 1e-4)"
    )

    def ours_features():
        extract_features(model_dir, sentences, work / "g.safetensors", device=device)
        return load_features(work / "g.safetensors")["features"].astype(np.float32)

    ratios, times, ours, theirs = abba(
        args.rounds, ours_features, lambda: plain_features(model_dir, sentences, device)
    )
    scale = float(np.abs(theirs).max())
    diff = float(np.max(np.abs(ours - theirs)))
    feats = {
        "words": words,
        "ratio_median": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "embryo_seconds": times["a"],
        "plain_seconds": times["b"],
        "max_abs_difference": diff,
        "scale": scale,
    }
    print(
        f"features, {words} words: embryo {statistics.median(times['a']):.1f} s, plain "
        f"loop {statistics.median(times['b']):.1f} s: {feats['ratio_median']:.2f}x "
        f"({min(ratios):.2f}-{max(ratios):.2f}); largest difference {diff:.1e} of values up "
        f"to {scale:.1f} (float16 storage)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "size": args.size,
                    "device": device,
                    "threads": torch.get_num_threads(),
                    "analyses": rows,
                    "pll_vs_minicons": pll,
                    "features_vs_plain": feats,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


def validation_seconds(model_dir, work: Path, blocks: int) -> float:
    """The validation job on WikiText-2's test split, packed in blocks of 128 with the
    checkpoint's tokenizer (the packing is not timed: it is a job of its own)."""
    import pandas as pd

    from embryo.data.blocks import pack_corpus
    from embryo.train.validation import score_checkpoint

    lines = [t for t in (DATA / "wikitext-2" / "test.txt").read_text().splitlines() if t.strip()]
    for split in ("train", "validation"):
        pd.DataFrame({"text": lines, "doc": range(len(lines))}).to_parquet(
            work / f"{split}.parquet"
        )
    pack_corpus(
        model_dir,
        work / "train.parquet",
        work / "validation.parquet",
        work / "blocks",
        block_size=128,
    )
    seconds, _ = timed(
        score_checkpoint,
        model_dir,
        work / "blocks",
        work / "v.json",
        step=0,
        seed=0,
        probability=0.15,
        batch_size=16,
        max_blocks=blocks,
    )
    return seconds


if __name__ == "__main__":
    raise SystemExit(main())
