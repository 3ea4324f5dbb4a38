"""Benchmark: Embryo's pretraining step vs. Hugging Face MLM loops, and vs. matmul peak.

Usage (from the repository root)::

    .venv/bin/python benchmarks/throughput.py [--hidden 256] [--layers 4] [--heads 4]
        [--vocab 30522] [--batch 32] [--block 128] [--steps 1] [--windows 12]
        [--warmup 2] [--threads N] [--compile] [--json PATH]

What is compared. Every variant trains the same BERT (same config, same initial weights,
dropout 0.1, float32) with batches of ``--batch`` sequences of at most ``--block`` tokens
from the same text, one optimizer step per iteration, data preparation included:

* naive HF: what a reasonable Hugging Face user writes with default settings, as
  ``run_mlm.py --line_by_line`` does: every paragraph of the corpus tokenized on its own
  with truncation to ``--block`` tokens, a shuffling ``DataLoader`` with
  ``DataCollatorForLanguageModeling(mlm_probability=0.15)`` (which pads to the longest
  sequence of the batch), ``BertForMaskedLM`` called as
  ``model(input_ids, attention_mask, labels=labels)`` (vocabulary logits at every
  position), ``torch.optim.AdamW``; forward, backward, step.
* packed HF: the strongest plain Hugging Face baseline, what a careful user writes:
  ``run_mlm.py`` without ``--line_by_line`` (paragraphs tokenized with their special
  tokens, concatenated and cut into full blocks by its ``group_texts``: no padding), the
  same collator, the model's full-vocabulary head, SDPA attention (the ``transformers``
  default, printed), fused ``AdamW`` (the ``Trainer``'s default optimizer).
* packed HF compiled (``--compile``): the same model under ``torch.compile`` (inductor;
  the blocks' fixed shape compiles once).
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
* embryo compiled (``--compile``): the same with its encoder under ``torch.compile`` (the
  MLM head runs on a varying number of masked positions and stays eager).

Data: WikiText-2 ``valid.txt`` from ``../shared/data`` (read as Embryo reads WikiText:
headings dropped, ``@-@`` joins restored), or, with a printed notice when that mirror is
absent, the built-in synthetic corpus (:mod:`embryo.data.builtin`). The tokenizer is Embryo's
WordPiece (:mod:`embryo.data.tokenizer`) trained on that text with ``vocab_size=--vocab``; a
small corpus yields fewer entries, so the model's vocabulary is padded to ``--vocab``
(30522 by default, BERT's): the extra rows never occur in the input, but the MLM head
scores every row, which is what makes the head the largest matrix product of a small BERT.

Timing: after ``--warmup`` untimed steps of each variant (which include compilation),
``--windows`` rounds of timed windows of ``--steps`` steps, one window of each variant back
to back, the order reversed every other round (ABBA), so that load from other work on the
machine hits all alike. Throughput is counted in REAL
(non-padding) tokens per second and in sequences per second; each variant's median over
its windows is reported, and every speed-up of an embryo variant over a baseline is the
median (with quartiles) of the ratios within rounds. On a shared machine single windows
vary a lot; the paired ratio much less.

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
* HF loops, useful: what Embryo's step would need for the same real tokens: n = the
  sequence's real length, m = its masked positions; the fair basis for comparison.
* HF loops, executed: n = the padded length, m = every padded position (for packed HF
  n = the block, m = every position: the full-vocabulary head).

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
    model = {
        "hidden_size": args.hidden,
        "num_layers": args.layers,
        "num_heads": args.heads,
        "intermediate_size": 4 * args.hidden,
    }
    config = {
        "corpora": {"c": {"source": "builtin"}},
        "tokenizers": {"t": {"corpus": "c", "algorithm": "wordpiece"}},
        "runs": {
            "bench": {
                "architecture": "bert",
                "tokenizer": "t",
                "seed": SEED,
                "block_size": args.block,
                "checkpoints": [0, total],
                "model": model,
                "optimizer": {"batch_size": args.batch},
                "objective": {"mlm_probability": MLM_PROBABILITY},
            }
        },
    }
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


# --------------------------------------------------------------------------- the variants


class HFLoop:
    """A Hugging Face MLM loop over a tokenized ``datasets.Dataset``: a shuffling
    ``DataLoader`` with ``DataCollatorForLanguageModeling``, the model's own loss (vocabulary
    logits at every position), AdamW; forward, backward, step."""

    name = "HF"

    def __init__(self, model, tokenizer, dataset, args, *, fused: bool = False):
        from torch.utils.data import DataLoader
        from transformers import DataCollatorForLanguageModeling

        collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=MLM_PROBABILITY)
        self.loader = DataLoader(
            dataset,
            batch_size=args.batch,
            shuffle=True,
            collate_fn=collator,
            drop_last=True,
            generator=torch.Generator().manual_seed(SEED),
        )
        self.batches = iter(self.loader)
        self.model = model.train()
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, fused=fused)
        self.lines = len(dataset)

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
        loss = self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
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


class NaiveHF(HFLoop):
    """The naive loop: ``run_mlm.py --line_by_line`` (every paragraph on its own, truncated
    to ``--block``, batches padded to their longest), ``torch.optim.AdamW`` as it comes."""

    name = "naive HF"

    def __init__(self, model, tokenizer, texts, args):
        import datasets

        tokenized = datasets.Dataset.from_dict({"text": texts}).map(
            lambda batch: tokenizer(batch["text"], truncation=True, max_length=args.block),
            batched=True,
            remove_columns=["text"],
        )
        super().__init__(model, tokenizer, tokenized, args)


def group_texts(examples: dict, block: int) -> dict:
    """``run_mlm.py``'s ``group_texts``: every column concatenated and cut into blocks of
    ``block`` tokens, the remainder dropped."""
    from itertools import chain

    concatenated = {k: list(chain(*examples[k])) for k in examples}
    total = len(concatenated["input_ids"]) // block * block
    return {k: [t[i : i + block] for i in range(0, total, block)] for k, t in concatenated.items()}


class PackedHF(HFLoop):
    """What a careful Hugging Face user writes: ``run_mlm.py`` without ``--line_by_line``
    (paragraphs tokenized with their special tokens, concatenated and cut into full blocks
    by ``group_texts``: no padding), ``DataCollatorForLanguageModeling``, the model's full
    vocabulary head, SDPA attention (the ``transformers`` default), fused AdamW (the
    ``Trainer``'s default optimizer); with ``compiled``, the model under ``torch.compile``."""

    name = "packed HF"

    def __init__(self, model, tokenizer, texts, args, *, compiled: bool = False):
        import datasets

        tokenized = datasets.Dataset.from_dict({"text": texts}).map(
            lambda batch: tokenizer(batch["text"], return_special_tokens_mask=True),
            batched=True,
            remove_columns=["text"],
        )
        blocks = tokenized.map(lambda b: group_texts(b, args.block), batched=True)
        if compiled:
            self.name = "packed HF compiled"
            model.compile()
        super().__init__(model, tokenizer, blocks, args, fused=True)


class Embryo:
    """The workflow's training step, :meth:`embryo.train.segment.Trainer.step`."""

    name = "embryo"

    def __init__(self, model, tokenizer, blocks, settings, *, compiled: bool = False):
        from accelerate import Accelerator

        from embryo.train.segment import build_trainer

        if compiled:  # the encoder (fixed shapes); the head runs on a varying number of rows
            self.name = "embryo compiled"
            model.base_model.compile()
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


def measure(variants: list, args) -> list[dict]:
    """Warm up every variant, then ``--windows`` rounds of one timed window each, the order
    reversed every other round (ABBA).

    Returns one ``{name: window}`` per round; the windows of a round run back to back, so
    their ratios are little affected by slower changes of load.
    """
    for _ in range(args.warmup):
        for variant in variants:
            variant.step()
    rounds = []
    for w in range(args.windows):
        order = variants if w % 2 == 0 else variants[::-1]
        windows = {v.name: timed_window(v, args.steps) for v in order}
        print(
            f"  round {w + 1:2}/{args.windows}: "
            + ", ".join(f"{name} {windows[name]['tokens_per_s']:6.0f} tok/s" for name in windows),
            flush=True,
        )
        rounds.append(windows)
    return rounds


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


def paired_ratio(rounds: list[dict], ours: str, base: str, key: str) -> tuple[float, float, float]:
    """Quartiles (25%, median, 75%) of ``ours`` / ``base`` over the rounds."""
    ratios = [r[ours][key] / r[base][key] for r in rounds]
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return q1, median, q3


def report(rounds: list[dict], peak: float) -> dict:
    """Print every variant's summary and every embryo variant's speed-up over every
    baseline; return them for the JSON file."""
    names = list(rounds[0])
    result = {"matmul_peak_gflops": peak, "variants": {}, "ratios": {}}
    for name in names:
        s = summary([r[name] for r in rounds], peak)
        result["variants"][name] = {**s, "windows": [r[name] for r in rounds]}
        print(
            f"{name:>18}: {s['tokens_per_s']:6.0f} real tok/s, "
            f"{s['sequences_per_s']:5.2f} seq/s ({s['real_tokens_per_sequence']:.1f} real "
            f"tokens per sequence); useful {s['useful_gflops']:5.1f} GFLOP/s = "
            f"{s['useful_fraction_of_peak']:5.1%} of peak, executed "
            f"{s['executed_gflops']:5.1f} GFLOP/s = {s['executed_fraction_of_peak']:5.1%}"
        )
    ours = [n for n in names if n.startswith("embryo")]
    for mine in ours:
        for base in (n for n in names if not n.startswith("embryo")):
            q1, median, q3 = paired_ratio(rounds, mine, base, "tokens_per_s")
            result["ratios"][f"{mine} / {base}"] = {"median": median, "q1": q1, "q3": q3}
            print(
                f"{mine} over {base}: {median:.2f}x real tokens/s (median of {len(rounds)} "
                f"rounds, quartiles {q1:.2f}x-{q3:.2f}x)"
            )
    print(f"matmul peak {peak:.1f} GFLOP/s")
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
    parser.add_argument(
        "--compile", action="store_true", help="also packed HF and embryo under torch.compile"
    )
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
        variants = [
            NaiveHF(copy.deepcopy(model), tokenizer, texts, args),
            PackedHF(copy.deepcopy(model), tokenizer, texts, args),
        ]
        if args.compile:
            variants.append(PackedHF(copy.deepcopy(model), tokenizer, texts, args, compiled=True))
        variants.append(Embryo(copy.deepcopy(model), tokenizer, blocks, settings))
        if args.compile:
            variants.append(
                Embryo(copy.deepcopy(model), tokenizer, blocks, settings, compiled=True)
            )
        print(
            f"data: {source}: {len(texts)} paragraphs, tokenizer of {len(tokenizer)} entries, "
            f"model vocabulary {model.config.vocab_size}; naive HF: {variants[0].lines} lines "
            f"truncated to {args.block}; packed HF: {variants[1].lines} blocks of {args.block}; "
            f"embryo: {pack_stats['blocks']} blocks of {args.block}"
        )
        print(
            f"model: BERT hidden {args.hidden}, {args.layers} layers, {args.heads} heads, "
            f"intermediate {4 * args.hidden}, {sum(p.numel() for p in model.parameters()):,} "
            f"parameters, attention {model.config._attn_implementation}; batch {args.batch}"
        )
        peak_before = matmul_peak()
        print(f"matmul peak (float32 2048^3, best of 8): {peak_before:.1f} GFLOP/s")
        rounds = measure(variants, args)
        peak = max(peak_before, matmul_peak())
    result = report(rounds, peak)
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
