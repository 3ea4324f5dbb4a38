"""GPU check: short BERT-base and ALBERT-base segments in bf16 on one CUDA device.

Usage (from the repository root; ``make gpu-check`` runs it with the defaults)::

    .venv/bin/python benchmarks/gpu_check.py [--archs bert albert] [--size base]
        [--batch 32] [--block 512] [--steps 20] [--peak-tflops X] [--json PATH]

For each architecture, with the workflow's own code (:func:`embryo.train.segment.run_segment`
and :meth:`~embryo.train.segment.Trainer.step`, settings built from a validated config as
the workflow builds them; ALBERT as the paper preset trains it: MLM + SOP, whole-word
n-gram masking, LAMB):

1. **Throughput**: ``--steps`` optimizer steps of ``--batch`` blocks of ``--block``
   tokens after 3 untimed ones, CUDA synchronised: tokens/s, model FLOPs utilisation
   (matrix-product FLOPs of a step as ``benchmarks/throughput.py`` counts them, Kaplan et
   al. 2020 §2.1, over the GPU's dense bf16 peak: the table below by device name, or
   ``--peak-tflops``) and peak memory (``torch.cuda.max_memory_allocated``).
2. **Chain equals run**: segments 0 -> s/2 -> s against 0 -> s (s = ``--steps``, rounded
   to even), dropout on. With deterministic kernels (``embryo.train.segment.deterministic_cuda``)
   the weights should be equal bit for bit; the check reports the largest weight
   difference and passes when the loss curves agree to a relative ``--tolerance``
   (1e-3) at every step and so do the final validation losses (docs/performance.md, "On a GPU").

Exit status 1 if a chain check fails, 2 if no CUDA device is visible (``--device cpu``
runs the same code on the CPU, for a smoke test: ``tests/test_benchmarks.py``). Data:
WikiText-2 ``valid.txt`` from ``../shared/data`` if present, else the built-in corpus;
tokenizer: Embryo's WordPiece of ``--vocab`` entries trained on it. Takes about 3-5
minutes on an A100/H100 with the defaults, most of it tokenizer training and model loads.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import REPO, SEED, corpus_texts, prepare_data, training_flops  # noqa: E402

# dense bf16 tensor-core peaks (TFLOP/s, without sparsity) from the vendors' data sheets
BF16_PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 756.0,
    "A100": 312.0,
    "A10G": 70.0,
    "A10": 125.0,
    "L40S": 362.0,
    "L40": 181.0,
    "L4": 121.0,
    "A6000": 155.0,
    "RTX 4090": 165.0,
    "RTX 3090": 71.0,
    "GH200": 989.0,
    "B200": 2250.0,
}


def bf16_peak(name: str) -> float | None:
    """The table's peak of the longest key found in the device name, TFLOP/s."""
    found = [k for k in BF16_PEAK_TFLOPS if k.lower() in name.lower()]
    return BF16_PEAK_TFLOPS[max(found, key=len)] if found else None


def config_of(arch: str, args, steps: list[int], tokenizer_entries: int) -> dict:
    """A validated one-run config: BERT or ALBERT at ``--size``, bf16 (fp32 on CPU)."""
    from embryo.config.schema import load_schema, validate

    objective = (
        {"sop": True, "masking": "ngram", "whole_word": True, "max_ngram": 3, "max_predictions": 20}
        if arch == "albert"
        else {}
    )
    optimizer = {
        "name": "lamb" if arch == "albert" else "adamw",
        "lr": 1e-4,
        "warmup_steps": 2,
        "batch_size": args.batch,
        "mixed_precision": "bf16" if args.device == "cuda" else "no",
    }
    config = {
        "corpora": {"c": {"source": "builtin"}},
        "tokenizers": {
            "t": {"corpus": "c", "algorithm": "wordpiece", "vocab_size": tokenizer_entries}
        },
        "runs": {
            "check": {
                "architecture": arch,
                "tokenizer": "t",
                "seed": SEED,
                "block_size": args.block,
                "checkpoints": steps,
                "model": {"size": args.size},
                "objective": objective,
                "optimizer": optimizer,
                "evaluation": {"max_blocks": 64, "batch_size": 16},
            }
        },
    }
    return validate(config, load_schema(REPO / "config" / "schema.yaml"), check_files=False)


def throughput(arch, config, dirs, args) -> dict:
    """tokens/s, MFU and peak memory of ``--steps`` timed optimizer steps."""
    from accelerate import Accelerator
    from transformers import AutoTokenizer

    from embryo.config.settings import segment
    from embryo.data.blocks import load_blocks
    from embryo.models.families import new_model
    from embryo.train.segment import build_trainer, deterministic_cuda

    settings = segment(config, "check", config["runs"]["check"]["checkpoints"][-1])
    tokenizer = AutoTokenizer.from_pretrained(dirs["tokenizer_dir"])
    model = new_model(
        arch, settings.model, tokenizer, args.block, seed=SEED, sop=settings.objective.sop
    )
    cuda = args.device == "cuda"
    if cuda:
        deterministic_cuda()
    accelerator = Accelerator(mixed_precision=settings.optimizer.mixed_precision, cpu=not cuda)
    trainer = build_trainer(
        settings,
        model.to(accelerator.device),
        tokenizer,
        load_blocks(dirs["blocks_dir"])["train"],
        accelerator,
    )
    warmup = 3
    for t in range(1, warmup + 1):
        trainer.step(t)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started, masked = time.perf_counter(), 0
    for t in range(warmup + 1, warmup + args.steps + 1):
        masked += trainer.step(t).masked
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    flops = training_flops(model.config, [args.block] * (args.batch * args.steps), masked)
    out = {
        "tokens_per_s": args.batch * args.block * args.steps / seconds,
        "tflops": flops / seconds / 1e12,
        "seconds": seconds,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    if cuda:
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def chain_check(config, dirs, root: Path, tolerance: float) -> dict:
    """Segments 0 -> s/2 -> s against 0 -> s: the largest weight difference, the largest
    relative difference of the loss curves and of the final validation losses."""
    import pandas as pd
    from safetensors.torch import load_file

    from embryo.config.settings import segment
    from embryo.train.segment import run_segment

    steps = config["runs"]["check"]["checkpoints"]

    def run(step, previous, name):
        out = root / name
        run_segment(segment(config, "check", step), previous_dir=previous, out_dir=out, **dirs)
        return out

    s0 = run(0, None, "step-0")
    half = run(steps[1], s0, "half")
    chained, single = run(steps[2], half, "chained"), run(steps[2], s0, "single")
    a, b = (load_file(d / "model" / "model.safetensors") for d in (chained, single))
    weight = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    curves = [
        pd.concat(
            [pd.read_csv(half / "train_curve.csv"), pd.read_csv(chained / "train_curve.csv")]
        ),
        pd.read_csv(single / "train_curve.csv"),
    ]
    loss = (
        (
            (curves[0]["loss"].to_numpy() - curves[1]["loss"].to_numpy())
            / curves[1]["loss"].to_numpy()
        )
        .__abs__()
        .max()
    )
    val = [json.loads((d / "metrics.json").read_text())["val_loss"] for d in (chained, single)]
    val_rel = abs(val[0] - val[1]) / abs(val[1])
    return {
        "max_weight_diff": weight,
        "bitwise": weight == 0.0,
        "max_loss_rel_diff": float(loss),
        "val_loss_rel_diff": val_rel,
        "passed": bool(loss <= tolerance and val_rel <= tolerance),
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archs", nargs="+", default=["bert", "albert"])
    parser.add_argument("--size", default="base")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--block", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--vocab", type=int, default=30000)
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--json", type=Path, default=None)
    return parser.parse_args()


def main() -> int:
    import os

    os.environ.setdefault("TQDM_DISABLE", "1")  # the segments' and the loaders' progress bars
    args = parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            "gpu-check: no CUDA device is visible (torch.cuda.is_available() is False); "
            "nothing was measured"
        )
        return 2
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    peak = args.peak_tflops or (bf16_peak(name) if args.device == "cuda" else None)
    print(
        f"device: {name}; bf16 peak {peak or 'unknown (pass --peak-tflops)'} TFLOP/s; "
        f"torch {torch.__version__}"
    )
    steps = max(2, args.steps - args.steps % 2)
    results, failed = {}, False
    with tempfile.TemporaryDirectory(prefix="embryo-gpu-check-") as tmp:
        root = Path(tmp)
        texts, source = corpus_texts(root)
        tokenizer, _, stats = prepare_data(texts, root, args.vocab, args.block)
        dirs = {"tokenizer_dir": root / "tokenizer", "blocks_dir": root / "blocks"}
        print(
            f"data: {source}: {stats['blocks']} blocks of {args.block}, "
            f"{len(tokenizer)} tokenizer entries"
        )
        for arch in args.archs:
            config = config_of(arch, args, [0, steps // 2, steps], len(tokenizer))
            speed = throughput(arch, config, dirs, args)
            chain = chain_check(config, dirs, root / arch, args.tolerance)
            mfu = speed["tflops"] / peak if peak else None
            print(
                f"{arch}-{args.size}: {speed['parameters'] / 1e6:.1f}M parameters, "
                f"{speed['tokens_per_s']:,.0f} tokens/s, {speed['tflops']:.1f} TFLOP/s"
                + (f", MFU {100 * mfu:.1f}%" if mfu else "")
                + (
                    f", peak memory {speed['peak_memory_gib']:.1f} GiB"
                    if "peak_memory_gib" in speed
                    else ""
                )
            )
            print(
                f"  chain 0->{steps // 2}->{steps} vs 0->{steps}: max |dw| "
                f"{chain['max_weight_diff']:.3g} ({'bitwise equal' if chain['bitwise'] else 'not bitwise'}), "
                f"loss curve rel. diff {chain['max_loss_rel_diff']:.3g}, val loss rel. diff "
                f"{chain['val_loss_rel_diff']:.3g}: {'PASS' if chain['passed'] else 'FAIL'} "
                f"(tolerance {args.tolerance:g})"
            )
            results[arch] = {**speed, "mfu": mfu, "chain": chain}
            failed |= not chain["passed"]
    if args.json:
        args.json.write_text(
            json.dumps({"device": name, "peak_tflops": peak, **results}, indent=2) + "\n"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
