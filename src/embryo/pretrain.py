"""Pretraining as a chain of segments, one per checkpoint step.

A segment resumes from its predecessor's training state (weights, AdamW moments,
scheduler position) and trains until its own step. Everything random is a function of
(run seed, step): the data order is a seeded permutation per epoch, the masks and the
dropout draws are seeded per step (:mod:`embryo.objective`). So the data position and
RNG state at step t need not be carried, and a chain of segments computes exactly what
one uninterrupted run computes (``tests/test_pretrain.py`` asserts equal weights).

Step 0 is the seeded random initialisation. The learning-rate schedule (linear warm-up,
then linear decay to 0) runs over the run's total steps, never the segment's.

Layout of a segment directory ``results/{run}/train/step-{step}/``::

    model/          save_pretrained() of the training model (config + safetensors)
    state.pt        optimizer and scheduler state (absent at step 0)
    metrics.json    validation loss/perplexity/accuracy, mean training loss, wall time
    train_curve.csv step, loss, learning rate of every optimizer step of the segment
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from embryo.atomic import atomic_path
from embryo.errors import EmbryoError


def batch_indices(step: int, batch_size: int, n_blocks: int, seed: int):
    """Indices of the training blocks of optimizer step ``step`` (1-based).

    Step t takes samples (t-1)·B .. t·B-1 of an endless stream that visits the blocks in
    a fresh seeded permutation every epoch.
    """
    import numpy as np

    samples = np.arange((step - 1) * batch_size, step * batch_size)
    epochs, positions = np.divmod(samples, n_blocks)
    out = np.empty_like(samples)
    for epoch in np.unique(epochs):
        perm = np.random.default_rng([seed, int(epoch)]).permutation(n_blocks)
        out[epochs == epoch] = perm[positions[epochs == epoch]]
    return out


def lr_factor(step: int, warmup: int, total: int) -> float:
    """The learning rate of optimizer step ``step`` (1-based), as a fraction of the peak.

    Linear warm-up reaching the peak at step ``warmup`` (at step 1 without warm-up), then
    linear decay that would reach 0 at step ``total + 1``, so no step is taken with a zero
    learning rate (the ``transformers`` schedule gives the first step a learning rate of 0,
    which would make checkpoint 1 a copy of checkpoint 0).
    """
    if step <= warmup:
        return step / warmup
    return max(0.0, (total + 1 - step) / (total + 1 - max(warmup, 1)))


def _special_ids(tokenizer) -> set[int]:
    return {
        i
        for i in (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
        if i is not None
    }


def evaluate(
    model, blocks, tokenizer, *, seed: int, probability: float, batch_size: int, max_blocks
):
    """Masked-LM loss (natural log), perplexity = exp(loss) and accuracy on validation blocks.

    The same blocks and the same masks (seeded by the run seed) at every checkpoint, so
    the curve compares like with like.
    """
    import torch
    import torch.nn.functional as F

    from embryo.objective import generator, mask_tokens, masked_logits

    n = len(blocks) if max_blocks is None else min(max_blocks, len(blocks))
    ids = blocks.with_format("torch")[:n]["input_ids"].long()
    gen = generator(seed, "evaluation")
    inputs, labels = mask_tokens(
        ids,
        special_ids=_special_ids(tokenizer),
        mask_id=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        probability=probability,
        gen=gen,
    )
    device = next(model.parameters()).device
    total, correct, count = 0.0, 0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, n, batch_size):
            x, y = (
                inputs[start : start + batch_size].to(device),
                labels[start : start + batch_size].to(device),
            )
            keep = y != -100
            logits = masked_logits(model, x, keep)[0].float()
            total += F.cross_entropy(logits, y[keep], reduction="sum").item()
            correct += (logits.argmax(-1) == y[keep]).sum().item()
            count += keep.sum().item()
    model.train(was_training)
    loss = total / max(count, 1)
    return {
        "val_loss": loss,
        "val_perplexity": math.exp(min(loss, 700)),
        "val_accuracy": correct / max(count, 1),
        "val_masked_tokens": count,
        "val_blocks": n,
    }


def adamw(model, opt: dict, *, fused: bool = False):
    """AdamW with weight decay on weights only (not on biases and LayerNorm), as BERT trains.

    ``fused``: one fused kernel per parameter group instead of a dozen element-wise passes
    per tensor (the same update up to float rounding; on 2 CPU cores a pretraining step is
    ~1.1-1.3x faster, ``benchmarks/throughput.py``). Where the fused kernel is missing
    (torch < 2.4 on CPU) the default implementation is used.
    """
    import torch

    decay, no_decay = [], []
    norms = {
        id(p) for m in model.modules() if isinstance(m, torch.nn.LayerNorm) for p in m.parameters()
    }
    for name, p in model.named_parameters():
        (no_decay if name.endswith("bias") or id(p) in norms else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": opt["weight_decay"]},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    hyper = dict(lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])
    if fused:
        try:
            return torch.optim.AdamW(groups, fused=True, **hyper)
        except RuntimeError:  # no fused kernel for these parameters' device
            pass
    return torch.optim.AdamW(groups, **hyper)


def grown(model, source_dir, validation, spec: dict) -> dict:
    """Overwrite ``model`` with the source checkpoint grown to its size; what was done.

    The summary includes the largest change of the masked-LM logits on four validation
    blocks (zero up to rounding when the growth preserves the function).
    """
    from transformers import AutoModelForMaskedLM

    from embryo.growth import grow, output_deviation

    if source_dir is None:
        raise EmbryoError(f"step 0 grows from {spec['run']}: it needs that run's checkpoint")
    source = AutoModelForMaskedLM.from_pretrained(source_dir)
    summary = grow(source, model)
    ids = validation.with_format("torch")[:4]["input_ids"].long()
    return {**spec, **summary, "logit_deviation": output_deviation(source, model, ids)}


def train_curve_csv(curve, ki) -> str:
    """The segment's curve as CSV: step, loss, lr, and a student's inheritance weight alpha."""
    head = "step,loss,lr" + (",alpha" if ki else "")
    rows = [(t, loss, lr, *((a,) if ki else ())) for t, loss, lr, a in curve]
    return head + "\n" + "".join(",".join(map(repr, row)) + "\n" for row in rows)


def run_segment(
    settings: dict, *, blocks_dir, tokenizer_dir, previous_dir, out_dir, threads: int = 0,
    teacher_dir=None, source_dir=None,
) -> dict:  # fmt: skip
    """Train one segment ending at ``settings["step"]`` and write ``out_dir`` atomically.

    ``settings`` is :func:`embryo.config.segment_settings`; ``previous_dir`` is the
    predecessor's segment directory (None at step 0); ``teacher_dir`` the teacher's
    exported checkpoint of a knowledge-inheritance student (``settings["teacher"]``);
    ``source_dir`` the exported checkpoint a grown run starts from at step 0
    (``settings["grow_from"]``, :mod:`embryo.growth`). Returns the segment's metrics.
    """
    import torch
    from accelerate import Accelerator
    from tqdm import tqdm
    from transformers import AutoModelForMaskedLM, AutoModelForPreTraining, AutoTokenizer

    from embryo import inheritance
    from embryo.blocks import load_blocks
    from embryo.models import new_model, parameter_count
    from embryo.objective import (
        PretrainingLoss,
        derive_seed,
        generator,
        mask_tokens,
        sentence_order,
    )

    if threads:
        torch.set_num_threads(threads)
    started = time.time()
    step, seed = settings["step"], settings["seed"]
    sop = settings["objective"]["sop"]
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    data = load_blocks(blocks_dir)
    if len(data["train"][0]["input_ids"]) != settings["block_size"]:
        raise EmbryoError(f"{blocks_dir}: blocks are not {settings['block_size']} tokens long")
    opt = settings.get("optimizer")
    accelerator = Accelerator(
        mixed_precision=opt["mixed_precision"] if opt else "no", cpu=not torch.cuda.is_available()
    )

    # ---- model: seeded initialisation (or a grown source) at step 0, else the predecessor's
    growth = None
    if previous_dir is None:
        if step != 0:
            raise EmbryoError(f"segment {step} needs its predecessor's training state")
        model = new_model(
            settings["architecture"],
            settings["model"],
            tokenizer,
            settings["block_size"],
            seed=seed,
            sop=sop,
        )
        if settings.get("grow_from"):
            growth = grown(model, source_dir, data["validation"], settings["grow_from"])
    else:
        auto = AutoModelForPreTraining if sop else AutoModelForMaskedLM
        model = auto.from_pretrained(Path(previous_dir) / "model")
    first = (
        0
        if previous_dir is None
        else json.loads((Path(previous_dir) / "metrics.json").read_text())["step"]
    )

    curve, train_losses = [], []
    if step > first:
        # ---- optimizer and schedule over the run's total steps, resumed from the predecessor
        optimizer = adamw(model, opt, fused=True)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda k: lr_factor(k + 1, opt["warmup_steps"], opt["total_steps"])
        )
        state_file = Path(previous_dir) / "state.pt"
        if first > 0 and not state_file.exists():
            raise EmbryoError(
                f"{state_file}: training state missing; rerun the segment that wrote {previous_dir}"
            )
        if first > 0:
            state = torch.load(state_file, weights_only=False)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
        ki = settings.get("teacher")
        if ki is not None and teacher_dir is None:
            raise EmbryoError(f"segment {step} is a student's: it needs {ki['run']}'s checkpoint")
        teacher = AutoModelForMaskedLM.from_pretrained(teacher_dir) if ki else None
        objective, optimizer = accelerator.prepare(
            PretrainingLoss(
                model, teacher, temperature=ki["temperature"] if ki else 1.0,
                top_k=ki["top_k"] if ki else None,
            ),
            optimizer,
        )  # fmt: skip
        model.train()
        train = data["train"].with_format("torch")
        world = accelerator.num_processes
        if opt["batch_size"] % (world * opt["grad_accum"]):
            raise EmbryoError(
                f"batch_size {opt['batch_size']} is not divisible by {world} processes "
                f"x {opt['grad_accum']} accumulation steps"
            )
        per_process = opt["batch_size"] // world
        micro = per_process // opt["grad_accum"]
        specials = _special_ids(tokenizer)
        rank = accelerator.process_index
        mine = slice(rank * per_process, (rank + 1) * per_process)

        # ---- the training loop: one optimizer step per iteration
        for t in tqdm(range(first + 1, step + 1), desc=f"step {first}->{step}", mininterval=10):
            # every process draws the whole batch's sentence order and masks (one stream,
            # rank 0's of earlier versions) and keeps its share: the same step whatever
            # the number of processes; only dropout draws differ between processes
            ids = train[batch_indices(t, opt["batch_size"], len(train), seed)]["input_ids"].long()
            gen = generator(seed, t, 0, "data")
            torch.manual_seed(derive_seed(seed, t, rank, "dropout"))
            types = order = None
            if sop:
                ids, types, order = sentence_order(
                    ids, cls_id=tokenizer.cls_token_id, sep_id=tokenizer.sep_token_id, gen=gen
                )
                types, order = types[mine], order[mine]
            inputs, labels = mask_tokens(
                ids,
                special_ids=specials,
                mask_id=tokenizer.mask_token_id,
                vocab_size=len(tokenizer),
                probability=settings["objective"]["mlm_probability"],
                gen=gen,
            )
            masked = (labels != -100).sum().item()  # the step's masked positions, all processes
            inputs, labels = inputs[mine], labels[mine]
            weight = (
                inheritance.alpha(
                    t, schedule=ki["schedule"], alpha0=ki["alpha"], kd_steps=ki["kd_steps"]
                )
                if ki
                else 0.0
            )
            step_loss = 0.0
            for m in range(0, per_process, micro):
                batch = {"input_ids": inputs[m : m + micro], "labels": labels[m : m + micro]}
                if sop:
                    batch |= {
                        "token_type_ids": types[m : m + micro],
                        "sentence_order_label": order[m : m + micro],
                    }
                batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                scale = (batch["labels"] != -100).sum().item() * world * opt["grad_accum"] / masked
                loss = objective(**batch, alpha=weight, scale=scale) / opt["grad_accum"]
                accelerator.backward(loss)
                step_loss += loss.detach()
            if opt["max_grad_norm"] is not None:
                accelerator.clip_grad_norm_(model.parameters(), opt["max_grad_norm"])
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            loss_value = accelerator.reduce(step_loss, "mean").item()
            train_losses.append(loss_value)
            curve.append((t, loss_value, lr, weight))

    # ---- validation and atomic save
    metrics = {"step": step, "parameters": parameter_count(model)}
    metrics["processes"] = accelerator.num_processes
    if growth:
        metrics |= {"grown_from": f"{growth['run']}@{growth['step']}",
                    "growth_exact": growth["exact"],
                    "growth_logit_deviation": growth["logit_deviation"]}  # fmt: skip
    if accelerator.is_main_process:
        metrics |= evaluate(
            model,
            data["validation"],
            tokenizer,
            seed=seed,
            probability=settings["objective"]["mlm_probability"],
            batch_size=settings["evaluation"]["batch_size"],
            max_blocks=settings["evaluation"]["max_blocks"],
        )
        metrics |= {
            "train_loss": sum(train_losses) / len(train_losses) if train_losses else None,
            "lr": curve[-1][2] if curve else 0.0,
            **({"alpha": curve[-1][3] if curve else None} if settings.get("teacher") else {}),
            "tokens_seen": step * (opt["batch_size"] if opt else 0) * settings["block_size"],
            "seconds": time.time() - started,
        }
        with atomic_path(out_dir, directory=True) as tmp:
            model.save_pretrained(tmp / "model")
            if step > first:
                torch.save(
                    {
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "step": step,
                    },
                    tmp / "state.pt",
                )
            (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
            (tmp / "train_curve.csv").write_text(train_curve_csv(curve, settings.get("teacher")))
    accelerator.wait_for_everyone()
    return metrics


def launch(settings: dict, *, processes: int = 1, threads: int = 0, **dirs) -> dict:
    """Run a segment in this process, or as ``processes`` data-parallel processes.

    Several processes are started on this node with ``torchrun --standalone``
    (``torch.distributed.run``; gloo on CPU, NCCL on GPUs, through :mod:`accelerate`),
    each running :func:`main`; they share the ``threads`` (0 = the machine's cores) and
    split every optimizer step's batch (:func:`run_segment`). Returns the segment's
    metrics; a failing process fails the job with its exit status.
    """
    import os
    import subprocess
    import sys
    import tempfile

    if processes == 1:
        return run_segment(settings, threads=threads, **dirs)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "segment.json"
        spec.write_text(
            json.dumps(
                {"settings": settings, "dirs": {k: str(v) if v else None for k, v in dirs.items()}}
            )
        )
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={processes}", "-m", "embryo.pretrain", str(spec),
               f"--threads={max(1, (threads or os.cpu_count() or 1) // processes)}"]  # fmt: skip
        print("launching:", " ".join(cmd), flush=True)
        done = subprocess.run(cmd)
    if done.returncode:
        raise EmbryoError(
            f"{processes} pretraining processes failed (exit status {done.returncode})"
        )
    return json.loads((Path(dirs["out_dir"]) / "metrics.json").read_text())


def main(argv=None) -> None:
    """One process of a multi-process segment (started by :func:`launch` through torchrun)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("spec", help="JSON file with the segment's settings and directories")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())
    run_segment(spec["settings"], threads=args.threads, **spec["dirs"])


if __name__ == "__main__":
    main()
