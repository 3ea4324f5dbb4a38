"""Benchmark: Embryo's pretraining step vs. a naive Hugging Face MLM loop, and vs. matmul peak.

Usage (from the repository root)::

    .venv/bin/python benchmarks/throughput.py [--hidden 256] [--layers 4] [--heads 4]
        [--vocab 30522] [--batch 32] [--block 128] [--steps 1] [--windows 12]
        [--warmup 2] [--threads N] [--json PATH]

What is compared. Both variants train the same BERT (same config, same initial weights,
dropout 0.1, float32) with batches of ``--batch`` sequences of at most ``--block`` tokens
from the same text, one optimizer step per iteration, data preparation included:

* naive HF: what a reasonable Hugging Face user writes with default settings, as
  ``run_mlm.py --line_by_line`` does: every paragraph of the corpus tokenized on its own
  with truncation to ``--block`` tokens, a shuffling ``DataLoader`` with
  ``DataCollatorForLanguageModeling(mlm_probability=0.15)`` (which pads to the longest
  sequence of the batch), ``BertForMaskedLM`` called as
  ``model(input_ids, attention_mask, labels=labels)`` (vocabulary logits at every
  position), ``torch.optim.AdamW``; forward, backward, step.
* embryo: the workflow's own training step, :meth:`embryo.train.segment.Trainer.step` as
  :func:`embryo.train.segment.run_segment` builds it (:func:`~embryo.train.segment.build_trainer`:
  one process, no accumulation, no sentence order, no teacher), with the workflow's
  default settings (``config/schema.yaml``, through :func:`embryo.config.settings.segment`):
  the corpus tokenized and packed into full blocks by :func:`embryo.data.blocks.pack_corpus`
  (no padding), the batch of :func:`embryo.train.segment.batch_indices`,
  :func:`embryo.train.objective.mask_tokens`, :class:`embryo.train.objective.PretrainingLoss`
  (the MLM head at the masked positions only), :func:`embryo.train.optimizer.adamw` (fused)
  with the linear schedule, gradient clipping at 1.0, all through ``accelerate``. What is
  timed is the code the workflow runs, not a copy of it.

Data: WikiText-2 ``valid.txt`` from ``../shared/data`` (read as Embryo reads WikiText:
headings dropped, ``@-@`` joins restored), or, with a printed notice when that mirror is
absent, the built-in synthetic corpus (:mod:`embryo.data.builtin`). The tokenizer is Embryo's
WordPiece (:mod:`embryo.data.tokenizer`) trained on that text with ``vocab_size=--vocab``; a
small corpus yields fewer entries, so the model's vocabulary is padded to ``--vocab``
(30522 by default, BERT's): the extra rows never occur in the input, but the MLM head
scores every row, which is what makes the head the largest matrix product of a small BERT.

Timing: after ``--warmup`` untimed steps of each variant, ``--windows`` pairs of timed
windows of ``--steps`` steps, one window of each variant back to back, in ABBA order, so
that load from other work on the machine hits both alike. Throughput is counted in REAL
(non-padding) tokens per second and in sequences per second; each variant's median over
its windows is reported, and the speed-up is the median (with quartiles) of the ratios
within pairs. On a shared machine single windows vary a lot; the paired ratio much less.

FLOPs. Matrix products only (embedding look-ups, softmax, layer norms, GELU and the
optimizer are not counted), per training step and summed over its sequences:

    C = 3 * [ 2 * N * n  +  4 * L * n^2 * d  +  2 * (d^2 + d * V) * m ]

with n the tokens the encoder runs over in a sequence, m the positions the MLM head
scores, d the hidden size, L the layers, V the vocabulary and N = L * (4 d^2 + 2 d d_ff)
the encoder's non-embedding weights. This is Kaplan et al. 2020, "Scaling Laws for Neural
Language Models", §2.1 (Table 1): the forward pass costs 2N per token plus the attention
term, the backward pass twice the forward, hence C ~ 6N per token. Kaplan et al. count
2 * L * n_ctx * d_attn for the attention; a bidirectional encoder computes the full n x n
score matrix and the weighted sum of the values, 2 n d each per token and layer, hence
4 * L * n^2 * d per sequence. The MLM head is a d x d transform and the d x V decoder.

* embryo (executed = useful): n = block, m = the masked positions (~15%).
* naive HF, useful: what Embryo's step would need for the same real tokens: n = the
  sequence's real length, m = its masked positions; the fair basis for comparison.
* naive HF, executed: n = the padded length, m = every padded position.

The machine's peak is the best of several float32 ``torch.matmul`` of 2048 x 2048
matrices (2 * 2048^3 FLOPs each) with the same thread count, measured before and after
training (the better of the two kept). This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
WIKITEXT = "wikitext-2/valid.txt"
SEED = 0
MLM_PROBABILITY = 0.15


# --------------------------------------------------------------------------- data


def corpus_texts(workdir: Path) -> tuple[list[str], str]:
    """The training texts (paragraphs) and a description of where they came from."""
    from embryo.data.builtin import generate
    from embryo.data.corpus import load_corpus

    if (SHARED_DATA / WIKITEXT).is_file():
        spec = {"source": "local", "files": [WIKITEXT], "format": "wikitext"}
        return load_corpus(spec, SHARED_DATA)["train"], f"WikiText-2 {SHARED_DATA / WIKITEXT}"
    print(f"notice: {SHARED_DATA} is absent; using Embryo's built-in synthetic corpus instead")
    generate(workdir / "builtin", seed=SEED)
    return load_corpus({"source": "builtin"}, workdir / "builtin")["train"], "built-in corpus"


def prepare_data(texts: list[str], workdir: Path, vocab: int, block: int):
    """Train the WordPiece tokenizer and pack the texts into blocks, as the workflow does."""
    import pandas as pd
    from transformers import AutoTokenizer

    from embryo.data.blocks import load_blocks, pack_corpus
    from embryo.data.tokenizer import train_tokenizer

    tokenizer_dir = workdir / "tokenizer"
    train_tokenizer(texts, tokenizer_dir, algorithm="wordpiece", vocab_size=vocab, lowercase=True)
    train, validation = workdir / "train.parquet", workdir / "validation.parquet"
    pd.DataFrame({"text": texts}).to_parquet(train)
    pd.DataFrame({"text": texts[:100]}).to_parquet(validation)  # required, never used here
    stats = pack_corpus(tokenizer_dir, train, validation, workdir / "blocks", block_size=block)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    return tokenizer, load_blocks(workdir / "blocks")["train"], stats["train"]


# --------------------------------------------------------------------------- model and FLOPs


def workflow_settings(args):
    """The settings of a pretraining segment as the workflow builds them: a minimal config
    of one BERT run, validated (defaults from the schema), then
    :func:`embryo.config.settings.segment` at the last step the benchmark takes."""
    from embryo.config.schema import load_schema, validate
    from embryo.config.settings import segment

    total = args.warmup + args.windows * args.steps
    model = {"hidden_size": args.hidden, "num_layers": args.layers, "num_heads": args.heads,
             "intermediate_size": 4 * args.hidden}  # fmt: skip
    config = {
        "corpora": {"c": {"source": "builtin"}},
        "tokenizers": {"t": {"corpus": "c", "algorithm": "wordpiece"}},
        "runs": {"bench": {"architecture": "bert", "tokenizer": "t", "seed": SEED,
                           "block_size": args.block, "checkpoints": [0, total],
                           "model": model, "optimizer": {"batch_size": args.batch},
                           "objective": {"mlm_probability": MLM_PROBABILITY}}},
    }  # fmt: skip
    config = validate(config, load_schema(REPO / "config" / "schema.yaml"), check_files=False)
    return segment(config, "bench", total)


def initial_model(tokenizer, settings, args):
    """A seeded BERT as :func:`embryo.models.families.new_model` makes it, vocabulary
    padded to --vocab."""
    from transformers import AutoModelForMaskedLM

    from embryo.models.families import build_config

    config = build_config("bert", settings.model, tokenizer, args.block)
    config.vocab_size = max(args.vocab, len(tokenizer))
    torch.manual_seed(SEED)
    return AutoModelForMaskedLM.from_config(config)


def training_flops(config, lengths, predicted: int) -> float:
    """Matrix-product FLOPs of one training step (see the module docstring for the formula).

    ``lengths``: tokens the encoder runs over, per sequence; ``predicted``: positions the
    MLM head scores, over the batch.
    """
    d, layers, vocab = config.hidden_size, config.num_hidden_layers, config.vocab_size
    n_enc = layers * (4 * d * d + 2 * d * config.intermediate_size)
    lengths = [int(n) for n in lengths]
    forward = (
        2 * n_enc * sum(lengths)
        + 4 * layers * d * sum(n * n for n in lengths)
        + 2 * (d * d + d * vocab) * int(predicted)
    )
    return 3.0 * forward


def matmul_peak(size: int = 2048, repeats: int = 8) -> float:
    """The best GFLOP/s of ``repeats`` float32 matmuls of two ``size`` x ``size`` matrices."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


# --------------------------------------------------------------------------- the two variants


class NaiveHF:
    """The naive Hugging Face loop: line-by-line tokenization, padded batches, full-vocab logits."""

    name = "naive HF"

    def __init__(self, model, tokenizer, texts, args):
        import datasets
        from torch.utils.data import DataLoader
        from transformers import DataCollatorForLanguageModeling

        raw = datasets.Dataset.from_dict({"text": texts})
        tokenized = raw.map(
            lambda batch: tokenizer(batch["text"], truncation=True, max_length=args.block),
            batched=True,
            remove_columns=["text"],
        )
        collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=MLM_PROBABILITY)
        self.loader = DataLoader(
            tokenized,
            batch_size=args.batch,
            shuffle=True,
            collate_fn=collator,
            drop_last=True,
            generator=torch.Generator().manual_seed(SEED),
        )
        self.batches = iter(self.loader)
        self.model = model.train()
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
        self.lines = len(tokenized)

    def next_batch(self):
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)

    def step(self) -> dict:
        batch = self.next_batch()
        input_ids, attention_mask, labels = (
            batch[k] for k in ("input_ids", "attention_mask", "labels")
        )
        loss = self.model(input_ids, attention_mask, labels=labels).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        config = self.model.config
        rows, padded = input_ids.shape
        return {
            "sequences": rows,
            "tokens": int(attention_mask.sum()),
            "useful_flops": training_flops(
                config, attention_mask.sum(1).tolist(), (labels != -100).sum()
            ),
            "executed_flops": training_flops(config, [padded] * rows, rows * padded),
            "loss": loss.item(),
        }


class Embryo:
    """The workflow's training step, :meth:`embryo.train.segment.Trainer.step`."""

    name = "embryo"

    def __init__(self, model, tokenizer, blocks, settings):
        from accelerate import Accelerator

        from embryo.train.segment import build_trainer

        accelerator = Accelerator(mixed_precision=settings.optimizer.mixed_precision, cpu=True)
        self.trainer = build_trainer(settings, model, tokenizer, blocks, accelerator)
        self.settings, self.t = settings, 0

    def step(self) -> dict:
        self.t += 1
        result = self.trainer.step(self.t)
        rows, length = self.settings.optimizer.batch_size, self.settings.block_size
        flops = training_flops(self.trainer.model.config, [length] * rows, result.masked)
        return {
            "sequences": rows,
            "tokens": rows * length,
            "useful_flops": flops,
            "executed_flops": flops,
            "loss": result.loss,
        }


# --------------------------------------------------------------------------- measurement


def timed_window(variant, steps: int) -> dict:
    """Run ``steps`` steps of ``variant``; their totals and the wall time."""
    started = time.perf_counter()
    results = [variant.step() for _ in range(steps)]
    seconds = time.perf_counter() - started
    totals = {k: sum(r[k] for r in results) for k in results[0] if k != "loss"}
    return {
        "seconds": seconds,
        **totals,
        "tokens_per_s": totals["tokens"] / seconds,
        "sequences_per_s": totals["sequences"] / seconds,
        "useful_gflops": totals["useful_flops"] / seconds / 1e9,
        "executed_gflops": totals["executed_flops"] / seconds / 1e9,
        "last_loss": results[-1]["loss"],
    }


def measure(naive, embryo, args) -> list[dict]:
    """Warm up both, then ``--windows`` pairs of timed windows in ABBA order.

    Returns one ``{"naive HF": window, "embryo": window}`` per pair; the two windows of a
    pair run back to back, so their ratio is little affected by slower changes of load.
    """
    for _ in range(args.warmup):
        naive.step()
        embryo.step()
    pairs = []
    for w in range(args.windows):
        order = (naive, embryo) if w % 2 == 0 else (embryo, naive)
        pair = {v.name: timed_window(v, args.steps) for v in order}
        n, e = pair[naive.name], pair[embryo.name]
        print(
            f"  pair {w + 1:2}/{args.windows}: naive HF {n['tokens_per_s']:6.0f} tok/s "
            f"({n['seconds'] / args.steps:5.2f} s/step), embryo {e['tokens_per_s']:6.0f} tok/s "
            f"({e['seconds'] / args.steps:5.2f} s/step), ratio "
            f"{e['tokens_per_s'] / n['tokens_per_s']:.2f}x",
            flush=True,
        )
        pairs.append(pair)
    return pairs


def summary(windows: list[dict], peak: float) -> dict:
    """Medians over a variant's windows, and the fraction of the matmul peak."""
    keys = ("tokens_per_s", "sequences_per_s", "useful_gflops", "executed_gflops")
    out = {k: statistics.median(w[k] for w in windows) for k in keys}
    out["useful_fraction_of_peak"] = out["useful_gflops"] / peak
    out["executed_fraction_of_peak"] = out["executed_gflops"] / peak
    out["real_tokens_per_sequence"] = sum(w["tokens"] for w in windows) / sum(
        w["sequences"] for w in windows
    )
    return out


def paired_ratio(pairs: list[dict], key: str) -> tuple[float, float, float]:
    """Quartiles (25%, median, 75%) of embryo / naive HF over the pairs."""
    ratios = [p[Embryo.name][key] / p[NaiveHF.name][key] for p in pairs]
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return q1, median, q3


def report(pairs: list[dict], peak: float) -> dict:
    """Print the summary of both variants and the speed-up; return it for the JSON file."""
    result = {"matmul_peak_gflops": peak}
    for variant in (NaiveHF, Embryo):
        s = summary([p[variant.name] for p in pairs], peak)
        result[variant.name] = {**s, "windows": [p[variant.name] for p in pairs]}
        print(
            f"{variant.name:>8}: {s['tokens_per_s']:6.0f} real tok/s, "
            f"{s['sequences_per_s']:5.2f} seq/s ({s['real_tokens_per_sequence']:.1f} real "
            f"tokens per sequence); useful {s['useful_gflops']:5.1f} GFLOP/s = "
            f"{s['useful_fraction_of_peak']:5.1%} of peak, executed "
            f"{s['executed_gflops']:5.1f} GFLOP/s = {s['executed_fraction_of_peak']:5.1%}"
        )
    for key, unit in (("tokens_per_s", "real tokens/s"), ("sequences_per_s", "sequences/s")):
        q1, median, q3 = paired_ratio(pairs, key)
        result[f"ratio_{key}"] = {"median": median, "q1": q1, "q3": q3}
        print(
            f"speed-up in {unit}: {median:.2f}x (median of {len(pairs)} paired windows, "
            f"quartiles {q1:.2f}x-{q3:.2f}x)"
        )
    embryo, naive = result[Embryo.name], result[NaiveHF.name]
    print(
        f"throughput: embryo {embryo['tokens_per_s']:.0f} tok/s, naive HF "
        f"{naive['tokens_per_s']:.0f} tok/s, ratio {result['ratio_tokens_per_s']['median']:.2f}x; "
        f"matmul peak {peak:.1f} GFLOP/s, embryo reaches "
        f"{embryo['useful_fraction_of_peak']:.1%} of it"
    )
    return result


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4, help="intermediate size: 4 x hidden")
    parser.add_argument("--vocab", type=int, default=30522, help="model vocabulary size")
    parser.add_argument("--batch", type=int, default=32, help="sequences per step")
    parser.add_argument("--block", type=int, default=128, help="block / max sequence length")
    parser.add_argument("--steps", type=int, default=1, help="timed steps per window")
    parser.add_argument("--windows", type=int, default=12, help="timed windows per variant")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per variant")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    import datasets

    datasets.disable_progress_bars()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads, {platform.processor() or 'cpu'}")
    with tempfile.TemporaryDirectory(prefix="embryo-throughput-") as tmp:
        texts, source = corpus_texts(Path(tmp))
        tokenizer, blocks, pack_stats = prepare_data(texts, Path(tmp), args.vocab, args.block)
        settings = workflow_settings(args)
        model = initial_model(tokenizer, settings, args)
        naive = NaiveHF(copy.deepcopy(model), tokenizer, texts, args)
        embryo = Embryo(model, tokenizer, blocks, settings)
        print(
            f"data: {source}: {len(texts)} paragraphs, tokenizer of {len(tokenizer)} entries, "
            f"model vocabulary {model.config.vocab_size}; naive HF: {naive.lines} lines "
            f"truncated to {args.block}; embryo: {pack_stats['blocks']} blocks of {args.block}"
        )
        print(
            f"model: BERT hidden {args.hidden}, {args.layers} layers, {args.heads} heads, "
            f"intermediate {4 * args.hidden}, {sum(p.numel() for p in model.parameters()):,} "
            f"parameters, attention {model.config._attn_implementation}; batch {args.batch}"
        )
        peak_before = matmul_peak()
        print(f"matmul peak (float32 2048^3, best of 8): {peak_before:.1f} GFLOP/s")
        pairs = measure(naive, embryo, args)
        peak = max(peak_before, matmul_peak())
    result = report(pairs, peak)
    if args.json:
        setup = {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "torch": torch.__version__,
            "threads": threads,
            "data": source,
            "tokenizer_entries": len(tokenizer),
            "model_vocab": model.config.vocab_size,
        }
        args.json.write_text(json.dumps({**setup, **result}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
