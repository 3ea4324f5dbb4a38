"""Pretraining as a chain of segments, one per checkpoint step.

A segment resumes from its predecessor's training state (weights, AdamW moments,
scheduler position) and trains until its own step. Everything random is a function of
(run seed, step): the data order is a seeded permutation per epoch, the masks and the
dropout draws are seeded per step (:mod:`embryo.models.seeds`). So the data position and
RNG state at step t need not be carried, and a chain of segments computes exactly what
one uninterrupted run computes (``tests/test_pretrain.py`` asserts equal weights).

Step 0 is the seeded random initialisation. The learning-rate schedule (linear warm-up,
then linear decay to 0) runs over the run's total steps, never the segment's.

:func:`run_segment` reads in four parts: build (:func:`load_model`,
:func:`build_trainer`), the step (:meth:`Trainer.step`), evaluation (:func:`evaluate`)
and saving (:func:`save_segment`). Layout of a segment directory
``results/{run}/train/step-{step}/``::

    model/          save_pretrained() of the training model (config + safetensors)
    state.pt        optimizer and scheduler state (absent at step 0)
    metrics.json    validation loss/perplexity/accuracy, mean training loss, wall time
    train_curve.csv step, loss, learning rate, gradient norm of every optimizer step

and, as they train, the live curves of the run (:mod:`embryo.train.tracking`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from embryo.models.families import ModelSpec
from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError
from embryo.train.growth import Growth
from embryo.train.optimizer import Optimizer, lr_factor, make_optimizer


class Objective(NamedTuple):
    """What is predicted: the masking rate and scheme, and ALBERT's sentence order."""

    mlm_probability: float
    masking: str  # token (each token on its own) or ngram (ALBERT's n-gram spans)
    whole_word: bool
    max_ngram: int
    max_predictions: int | None
    sop: bool


class Evaluation(NamedTuple):
    """The validation score at every checkpoint: blocks per pass, blocks scored."""

    batch_size: int
    max_blocks: int | None


class Teacher(NamedTuple):
    """A student's teacher and inheritance schedule (``runs.<run>.teacher``), resolved:
    ``step`` is the teacher's checkpoint, ``kd_steps`` T_KD. A segment with a teacher is
    a student's, run by :mod:`embryo.train.student`."""

    run: str
    step: int
    twin: str | None
    schedule: str
    alpha: float
    kd_steps: int
    temperature: float
    top_k: int | None


class Seeds(NamedTuple):
    """The seed of each source of pretraining randomness: the initial weights, the blocks
    of each step, the masked positions (and ALBERT's sentence order), dropout. A run's own
    seed for all four, unless it is a replicate (``runs.<run>.replicates.vary``)."""

    init: int
    data_order: int
    masks: int
    dropout: int


class SegmentSettings(NamedTuple):
    """Everything a pretraining segment ending at ``step`` depends on (built from the config
    by :func:`embryo.config.settings.segment`). Step 0, the seeded initialisation, has no
    ``optimizer`` and no ``teacher``: a learning rate change keeps it."""

    architecture: str
    seed: int  # the run's own: the validation blocks' masks (the same for its replicates)
    seeds: Seeds
    block_size: int
    model: ModelSpec
    objective: Objective
    evaluation: Evaluation
    tokenizer: str
    corpus: str
    step: int
    grow_from: Growth | None
    optimizer: Optimizer | None
    teacher: Teacher | None


class StepResult(NamedTuple):
    """One optimizer step: the mean loss, the learning rate it used, the inheritance weight
    (0 without a teacher), the masked positions of the whole batch and the gradient's L2
    norm before clipping."""

    loss: float
    lr: float
    alpha: float
    masked: int
    grad_norm: float


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


def special_ids(tokenizer) -> set[int]:
    """The ids never masked: [CLS], [SEP] and padding."""
    return {
        i
        for i in (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
        if i is not None
    }


# --------------------------------------------------------------------------- build


def load_model(settings: SegmentSettings, tokenizer, validation, *, previous_dir, source_dir):
    """The model the segment starts from, the step it is at, and a grown run's summary.

    At step 0 the seeded initialisation (or, for ``grow_from``, the source checkpoint grown
    to this size); later, the predecessor segment's model.
    """
    from transformers import AutoModelForMaskedLM, AutoModelForPreTraining

    from embryo.models.families import new_model

    sop = settings.objective.sop
    if previous_dir is None:
        if settings.step != 0:
            raise EmbryoError(f"segment {settings.step} needs its predecessor's training state")
        model = new_model(
            settings.architecture,
            settings.model,
            tokenizer,
            settings.block_size,
            seed=settings.seeds.init,
            sop=sop,
        )
        growth = None
        if settings.grow_from is not None:
            growth = grown(model, source_dir, validation, settings.grow_from)
        return model, 0, growth
    auto = AutoModelForPreTraining if sop else AutoModelForMaskedLM
    model = auto.from_pretrained(Path(previous_dir) / "model")
    first = json.loads((Path(previous_dir) / "metrics.json").read_text())["step"]
    return model, first, None


def grown(model, source_dir, validation, spec: Growth) -> dict:
    """Overwrite ``model`` with the source checkpoint grown to its size; what was done.

    The summary includes the largest change of the masked-LM logits on four validation
    blocks (zero up to rounding when the growth preserves the function).
    """
    from transformers import AutoModelForMaskedLM

    from embryo.train.growth import grow, output_deviation

    if source_dir is None:
        raise EmbryoError(f"step 0 grows from {spec.run}: it needs that run's checkpoint")
    source = AutoModelForMaskedLM.from_pretrained(source_dir)
    summary = grow(source, model)
    ids = validation.with_format("torch")[:4]["input_ids"].long()
    return {**spec._asdict(), **summary, "logit_deviation": output_deviation(source, model, ids)}


@dataclass
class Trainer:
    """What an optimizer step needs, built once per segment by :func:`build_trainer`."""

    settings: SegmentSettings
    accelerator: Any
    model: Any
    objective: Any  # PretrainingLoss, prepared by accelerate
    optimizer: Any
    scheduler: Any
    train: Any  # the training blocks, in torch format
    tokenizer: Any
    per_process: int  # sequences of a step on this process
    micro: int  # sequences of a micro-step (gradient accumulation)

    def __post_init__(self):
        from embryo.train.objective import masking

        self.mask = masking(self.settings.objective, self.tokenizer, special_ids(self.tokenizer))

    def weight(self, t: int) -> float:
        """The inheritance weight α_t of step ``t``: 0 but for a student (embryo.train.student)."""
        return 0.0

    def step(self, t: int) -> StepResult:
        """Optimizer step ``t`` (1-based): the step's batch, masks, loss, backward, update.

        Every process draws the whole batch's sentence order and masks (one stream, rank
        0's of earlier versions) and keeps its share, so a step is the same whatever the
        number of processes; only dropout draws differ between processes. Each masked
        position of the step weighs the same however the step is split (``scale``).
        """
        import torch

        from embryo.models.seeds import derive_seed, generator
        from embryo.train.objective import sentence_order

        s, opt, acc = self.settings, self.settings.optimizer, self.accelerator
        world, rank = acc.num_processes, acc.process_index
        mine = slice(rank * self.per_process, (rank + 1) * self.per_process)
        rows = self.train[batch_indices(t, opt.batch_size, len(self.train), s.seeds.data_order)]
        ids = rows["input_ids"].long()
        gen = generator(s.seeds.masks, t, 0, "data")
        torch.manual_seed(derive_seed(s.seeds.dropout, t, rank, "dropout"))
        types = order = attention = None
        if s.objective.sop:  # pairs within one document, padded after (blocks' doc_starts)
            ids, types, order, attention = sentence_order(
                ids,
                cls_id=self.tokenizer.cls_token_id,
                sep_id=self.tokenizer.sep_token_id,
                gen=gen,
                doc_starts=rows.get("doc_starts"),
                pad_id=self.tokenizer.pad_token_id,
            )
            types, order, attention = types[mine], order[mine], attention[mine]
        inputs, labels = self.mask(ids, gen)
        masked = (labels != -100).sum().item()  # the step's masked positions, all processes
        inputs, labels = inputs[mine], labels[mine]
        weight = self.weight(t)
        step_loss = 0.0
        last = self.per_process - self.micro
        for m in range(0, self.per_process, self.micro):
            batch = {"input_ids": inputs[m : m + self.micro], "labels": labels[m : m + self.micro]}
            if s.objective.sop:
                batch |= {
                    "token_type_ids": types[m : m + self.micro],
                    "sentence_order_label": order[m : m + self.micro],
                    "attention_mask": attention[m : m + self.micro],
                }
            batch = {k: v.to(acc.device) for k, v in batch.items()}
            scale = (batch["labels"] != -100).sum().item() * world * opt.grad_accum / masked
            # gradients are all-reduced once a step, after its last micro-step
            with acc.no_sync(self.objective) if m < last else contextlib.nullcontext():
                loss = self.objective(**batch, alpha=weight, scale=scale) / opt.grad_accum
                acc.backward(loss)
            step_loss += loss.detach()
        if opt.max_grad_norm is not None:
            norm = acc.clip_grad_norm_(self.model.parameters(), opt.max_grad_norm)
        else:  # the norm alone (of the unscaled gradients, under fp16)
            acc.unscale_gradients()
            grads = [p.grad for p in self.model.parameters() if p.grad is not None]
            norm = torch.nn.utils.get_total_norm(grads)
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss = acc.reduce(step_loss, "mean").item()
        return StepResult(loss, lr, weight, masked, float(norm))


def build_trainer(
    settings: SegmentSettings,
    model,
    tokenizer,
    train_blocks,
    accelerator,
    *,
    first: int = 0,
    state_file=None,
    loss=None,
    trainer=Trainer,
) -> Trainer:
    """The optimizer (AdamW, fused, or LAMB) and its schedule over the run's total steps, resumed
    from ``state_file`` when the segment starts after step 0, and the ``loss`` (by default
    :class:`~embryo.train.objective.PretrainingLoss`; a student's is its own), prepared by
    ``accelerator``, in a ``trainer`` (:class:`Trainer`, or a student's subclass)."""
    import torch

    from embryo.train.objective import PretrainingLoss

    opt = settings.optimizer
    optimizer = make_optimizer(model, opt, fused=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: lr_factor(k + 1, opt.warmup_steps, opt.total_steps, opt.decay_start)
    )
    if first > 0:
        if state_file is None or not Path(state_file).exists():
            raise EmbryoError(
                f"{state_file}: training state missing; rerun the segment that wrote it"
            )
        # to the CPU first: the optimizer moves its moments to its parameters' device
        state = torch.load(state_file, map_location="cpu", weights_only=False)
        resume(optimizer, scheduler, state)
        restore_scaler(accelerator, state, state_file)
    objective, optimizer = accelerator.prepare(loss or PretrainingLoss(model), optimizer)
    model.train()
    world = accelerator.num_processes
    if opt.batch_size % (world * opt.grad_accum):
        raise EmbryoError(
            f"batch_size {opt.batch_size} is not divisible by {world} processes "
            f"x {opt.grad_accum} accumulation steps"
        )
    per_process = opt.batch_size // world
    return trainer(
        settings,
        accelerator,
        model,
        objective,
        optimizer,
        scheduler,
        train_blocks.with_format(
            "torch",
            columns=[c for c in ("input_ids", "doc_starts") if c in train_blocks.column_names],
        ),
        tokenizer,
        per_process,
        per_process // opt.grad_accum,
    )


def resume(optimizer, scheduler, state: dict) -> None:
    """Load the moments and schedule position of ``state`` but keep this segment's own
    hyper-parameters (learning rate, schedule, weight decay, betas, eps): those of a
    branch that continues another run with other settings (``runs.<run>.branch``). For a
    segment of the same run they are the saved ones, so nothing changes: the learning rate
    is recomputed by the same schedule at the same step."""
    own = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    for group, hyper in zip(optimizer.param_groups, own, strict=True):
        group.update({k: v for k, v in hyper.items() if k not in ("lr", "initial_lr")})
        group["initial_lr"] = hyper["initial_lr"]
    scheduler.base_lrs = [hyper["initial_lr"] for hyper in own]
    factors = [fn(scheduler.last_epoch) for fn in scheduler.lr_lambdas]
    for group, base, factor in zip(
        optimizer.param_groups, scheduler.base_lrs, factors, strict=True
    ):
        group["lr"] = base * factor
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]


def restore_scaler(accelerator, state: dict, state_file) -> None:
    """fp16's loss scale (``torch.amp.GradScaler``) from the predecessor's training state,
    so that a chain of fp16 segments scales and skips steps as one run does. bf16 and
    fp32 keep no scaler."""
    scaler = getattr(accelerator, "scaler", None)
    if scaler is None:
        return
    if state.get("scaler") is None:
        raise EmbryoError(
            f"{state_file}: written without fp16's GradScaler state; rerun the segment "
            "that wrote it"
        )
    scaler.load_state_dict(state["scaler"])


def deterministic_cuda() -> None:
    """Deterministic kernels on CUDA (before the first one runs): cuBLAS's fixed workspace,
    ``torch.use_deterministic_algorithms`` (warning, not failing, where an operation has
    no deterministic kernel), no cuDNN autotuning. With them a chain of segments equals
    the uninterrupted run on the same GPU model and software bit for bit, as on CPU; on
    another GPU model or another CUDA/PyTorch the kernels differ and the two agree only to
    rounding (``make gpu-check`` measures it)."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


# --------------------------------------------------------------------------- evaluate


def evaluate(
    model, blocks, tokenizer, *, seed: int, probability: float, batch_size: int, max_blocks
):
    """Masked-LM loss (natural log), perplexity = exp(loss) and accuracy on validation blocks.

    The same blocks and the same masks (seeded by the run seed) at every checkpoint, so
    the curve compares like with like. Per block, the summed loss and the masked tokens
    (``val_block_loss``, ``val_block_tokens``): the units a bootstrap of the validation
    set resamples (the findings' interval on the steps a student saves).
    """
    import torch
    import torch.nn.functional as F

    from embryo.models.loading import masked_logits
    from embryo.models.seeds import generator
    from embryo.train.objective import mask_tokens

    n = len(blocks) if max_blocks is None else min(max_blocks, len(blocks))
    ids = blocks.with_format("torch")[:n]["input_ids"].long()
    gen = generator(seed, "evaluation")
    inputs, labels = mask_tokens(
        ids,
        special_ids=special_ids(tokenizer),
        mask_id=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        probability=probability,
        gen=gen,
    )
    device = next(model.parameters()).device
    correct = 0
    block_loss = torch.zeros(n, dtype=torch.float64)
    block_tokens = torch.zeros(n, dtype=torch.long)
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
            losses = F.cross_entropy(logits, y[keep], reduction="none").double().cpu()
            rows = keep.nonzero()[:, 0].cpu() + start
            block_loss.index_add_(0, rows, losses)
            block_tokens += torch.bincount(rows, minlength=n)
            correct += (logits.argmax(-1) == y[keep]).sum().item()
    model.train(was_training)
    count = int(block_tokens.sum())
    loss = float(block_loss.sum()) / max(count, 1)
    return {
        "val_loss": loss,
        "val_perplexity": math.exp(min(loss, 700)),
        "val_accuracy": correct / max(count, 1),
        "val_masked_tokens": count,
        "val_blocks": n,
        "val_block_loss": block_loss.tolist(),
        "val_block_tokens": block_tokens.tolist(),
    }


# --------------------------------------------------------------------------- save


def train_curve_csv(curve: list[tuple[int, StepResult]], ki) -> str:
    """The segment's curve as CSV: step, loss, lr, gradient norm (before clipping), and a
    student's inheritance weight alpha."""
    head = "step,loss,lr,grad_norm" + (",alpha" if ki else "")
    rows = [(t, r.loss, r.lr, r.grad_norm, *((r.alpha,) if ki else ())) for t, r in curve]
    return head + "\n" + "".join(",".join(map(repr, row)) + "\n" for row in rows)


def save_segment(
    out_dir, model, metrics: dict, curve, *, trainer: Trainer | None, ki, carried=None
) -> None:
    """Write the segment directory atomically: model, training state, metrics, curve.

    A segment that trains no step (a branch's first, ``runs.<run>.branch``) carries its
    predecessor's training state (``carried``) unchanged."""
    import shutil

    import torch

    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp / "model")
        if trainer is None and carried is not None and Path(carried).exists():
            shutil.copyfile(carried, tmp / "state.pt")
        if trainer is not None:
            scaler = getattr(trainer.accelerator, "scaler", None)
            torch.save(
                {
                    "optimizer": trainer.optimizer.state_dict(),
                    "scheduler": trainer.scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "step": metrics["step"],
                },
                tmp / "state.pt",
            )
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (tmp / "train_curve.csv").write_text(train_curve_csv(curve, ki))


# --------------------------------------------------------------------------- the segment


def run_segment(
    settings: SegmentSettings,
    *,
    blocks_dir,
    tokenizer_dir,
    previous_dir,
    out_dir,
    threads: int = 0,
    source_dir=None,
    make_trainer=build_trainer,
    tracking=None,
) -> dict:
    """Train one segment ending at ``settings.step`` and write ``out_dir`` atomically.

    ``previous_dir`` is the predecessor's segment directory (None at step 0);
    ``source_dir`` the exported checkpoint a grown run starts from at step 0
    (``settings.grow_from``, :mod:`embryo.train.growth`); ``make_trainer`` builds the
    trainer (:func:`build_trainer`'s arguments; a knowledge-inheritance student's is
    :func:`embryo.train.student.student_trainer`); ``tracking`` where the live curves
    go (:class:`embryo.train.tracking.Tracking`; None: nowhere). Returns the segment's
    metrics.
    """
    import torch
    from accelerate import Accelerator
    from tqdm import tqdm
    from transformers import AutoTokenizer

    from embryo.data.blocks import load_blocks
    from embryo.models.families import parameter_count
    from embryo.train.tracking import LiveCurves

    if threads:
        torch.set_num_threads(threads)
    if torch.cuda.is_available():
        deterministic_cuda()
    started = time.time()
    step, opt, ki = settings.step, settings.optimizer, settings.teacher
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    data = load_blocks(blocks_dir)
    if len(data["train"][0]["input_ids"]) != settings.block_size:
        raise EmbryoError(f"{blocks_dir}: blocks are not {settings.block_size} tokens long")
    accelerator = Accelerator(
        mixed_precision=opt.mixed_precision if opt else "no", cpu=not torch.cuda.is_available()
    )
    model, first, growth = load_model(
        settings, tokenizer, data["validation"], previous_dir=previous_dir, source_dir=source_dir
    )

    trainer, curve = None, []
    live = LiveCurves(tracking, first=first, step=step, main=accelerator.is_main_process)
    if step > first:
        if ki is not None and make_trainer is build_trainer:
            raise EmbryoError(f"segment {step} is a student's: embryo.train.student runs it")
        trainer = make_trainer(
            settings,
            model,
            tokenizer,
            data["train"],
            accelerator,
            first=first,
            state_file=Path(previous_dir) / "state.pt" if previous_dir else None,
        )
        tokens = opt.batch_size * settings.block_size
        for t in tqdm(range(first + 1, step + 1), desc=f"step {first}->{step}", mininterval=10):
            began = time.perf_counter()
            result = trainer.step(t)
            curve.append((t, result))
            live.log(step_values(result, tokens / (time.perf_counter() - began), ki), t)

    metrics = {"step": step, "parameters": parameter_count(model)}
    metrics["processes"] = accelerator.num_processes
    if growth:
        metrics |= {
            "grown_from": f"{growth['run']}@{growth['step']}",
            "growth_exact": growth["exact"],
            "growth_logit_deviation": growth["logit_deviation"],
        }
    if accelerator.is_main_process:
        metrics |= evaluate(
            model,
            data["validation"],
            tokenizer,
            seed=settings.seed,
            probability=settings.objective.mlm_probability,
            batch_size=settings.evaluation.batch_size,
            max_blocks=settings.evaluation.max_blocks,
        )
        losses = [r.loss for _, r in curve]
        metrics |= {
            "train_loss": sum(losses) / len(losses) if losses else None,
            "lr": curve[-1][1].lr if curve else 0.0,
            **({"alpha": curve[-1][1].alpha if curve else None} if ki else {}),
            "tokens_seen": step * (opt.batch_size if opt else 0) * settings.block_size,
            "seconds": time.time() - started,
        }
        live.log({f"val/{k[4:]}": metrics[k] for k in VALIDATION_CURVES}, step)
        carried = Path(previous_dir) / "state.pt" if previous_dir else None
        save_segment(out_dir, model, metrics, curve, trainer=trainer, ki=ki, carried=carried)
    live.close()
    accelerator.wait_for_everyone()
    return metrics


VALIDATION_CURVES = ("val_loss", "val_perplexity", "val_accuracy")


def step_values(result: StepResult, tokens_per_second: float, ki) -> dict:
    """What a step logs to the live curves (:mod:`embryo.train.tracking`)."""
    values = {
        "train/loss": result.loss,
        "train/lr": result.lr,
        "train/grad_norm": result.grad_norm,
        "train/tokens_per_second": tokens_per_second,
    }
    return values | ({"train/alpha": result.alpha} if ki else {})


def launch(settings: SegmentSettings, *, run=None, **kw) -> dict:
    """:func:`embryo.train.launch.launch` of a segment: ``run`` (default :func:`run_segment`)
    in this process, or this module's :func:`main` in each of several processes."""
    from embryo.train import launch as launcher

    return launcher.launch(settings, run=run or run_segment, entry="embryo.train.segment", **kw)


if __name__ == "__main__":
    from embryo.train.launch import main

    main(run=run_segment)
