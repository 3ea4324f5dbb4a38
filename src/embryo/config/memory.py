"""Does a pretraining micro-batch fit the GPU or the CPU memory it runs on? A stated
estimate, at parse time.

The estimate of one data-parallel process's memory (bytes) for a micro-batch of ``b``
blocks of ``s`` tokens, a model of ``L`` layers, width ``h``, ``a`` heads and ``P``
parameters, vocabulary ``V``:

- **model state**: 16 bytes a parameter (fp32 weights, fp32 gradients, the two fp32
  moments of AdamW or LAMB), plus 2 with mixed precision (the bf16/fp16 copies autocast
  keeps of the weights);
- **activations**: Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large
  Transformer Models", eq. 1, no parallelism, no recomputation): ``s·b·h·(34 + 5·a·s/h)``
  bytes a layer with 16-bit activations, twice that in fp32; ALBERT shares its weights
  but not its activations, so all ``L`` layers count;
- **the masked-LM head**: our loss takes logits only at the masked positions
  (:class:`embryo.train.objective.PretrainingLoss`): ``b·k·V`` logits with ``k`` the
  predictions a block (rate × s, or ``max_predictions``), 12 bytes each (16-bit logits,
  their fp32 log-softmax and its gradient; 16 in fp32);
- **a teacher** (knowledge inheritance): its fp32 weights and its logits at the same
  positions (no activations are kept: it runs without gradients);
- **headroom**: the CUDA context, the allocator's fragmentation and the workspace,
  taken as 1 GiB plus 10% of the GPU; on a CPU, the interpreter, torch's libraries and
  the data, taken alike (1 GiB plus 10% of the memory).

On a CPU the processes of a segment share the machine's memory: their estimates add up,
against the memory the rule's resources state (``resources.<rule>.mem_mb``, what SLURM
grants the job) or, where none is stated, this machine's (its cgroup's limit if lower).

It is an estimate, not a measurement (``make gpu-check`` prints the peak memory of real
segments); it errs large for models whose attention runs fused (SDPA keeps no ``a·s²``
scores), so a micro-batch it passes fits.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple

GIB = 2**30
HEADROOM_FIXED = GIB
HEADROOM_FRACTION = 0.10


class Shape(NamedTuple):
    """What the estimate needs of a model: layers, width, heads, FFN width, embedding
    width (ALBERT's factorised one, else the hidden width), vocabulary, positions."""

    layers: int
    hidden: int
    heads: int
    intermediate: int
    embedding: int
    vocab: int
    positions: int
    token_types: int
    shared_layers: bool  # ALBERT: one set of layer weights


def parameters(shape: Shape) -> int:
    """Parameters of a BERT-style masked LM of this shape (tied output embedding).

    Embeddings (tokens, positions, token types, LayerNorm), ALBERT's projection to
    the hidden width, per layer the attention (4 h² + 4 h), the FFN (2 h I + I + h) and
    two LayerNorms (4 h), and the head's transform (h² + h, LayerNorm, output bias V).
    """
    h, i, e = shape.hidden, shape.intermediate, shape.embedding
    embeddings = (shape.vocab + shape.positions + shape.token_types) * e + 2 * e
    projection = e * h + h if e != h else 0
    layer = 4 * h * h + 4 * h + 2 * h * i + i + h + 4 * h
    layers = layer * (1 if shape.shared_layers else shape.layers)
    head = h * e + e + 2 * e + shape.vocab if e != h else h * h + h + 2 * h + shape.vocab
    return embeddings + projection + layers + head


def segment_bytes(
    shape: Shape,
    *,
    micro_batch: int,
    block_size: int,
    predictions: int,
    mixed: bool,
    teacher: Shape | None = None,
) -> dict:
    """The estimate's parts (bytes) for one process; ``total`` is their sum."""
    b, s, h, a = micro_batch, block_size, shape.hidden, shape.heads
    p = parameters(shape)
    activation_bytes = 1 if mixed else 2
    parts = {
        "model_state": p * (16 + (2 if mixed else 0)),
        "activations": shape.layers * s * b * h * (34 + 5 * a * s / h) * activation_bytes,
        "head": b * predictions * shape.vocab * (12 if mixed else 16),
    }
    if teacher is not None:
        parts["teacher"] = parameters(teacher) * 4 + b * predictions * teacher.vocab * 4
    parts["total"] = sum(parts.values())
    return parts


def fits(total: float, gpu_bytes: float) -> bool:
    """The estimate with its headroom within the GPU's memory."""
    return total + HEADROOM_FIXED + HEADROOM_FRACTION * gpu_bytes <= gpu_bytes


def predictions_per_block(objective: dict, block_size: int) -> int:
    """Masked positions of a block: the rate's share of it, or ``max_predictions``."""
    k = math.ceil(objective["mlm_probability"] * block_size)
    cap = objective.get("max_predictions")
    return min(k, cap) if cap else k


def run_shape(config: dict, run_name: str) -> Shape:
    """The :class:`Shape` of a trained run, from its ``model`` section and tokenizer."""
    from embryo.models.families import model_dims

    run = config["runs"][run_name]
    tokenizer = config["tokenizers"][run["tokenizer"]]
    dims = model_dims(run["architecture"], run["model"])
    h = dims["hidden_size"]
    return Shape(
        layers=dims["num_hidden_layers"],
        hidden=h,
        heads=dims["num_attention_heads"],
        intermediate=dims["intermediate_size"],
        embedding=dims.get("embedding_size", h),
        vocab=tokenizer["vocab_size"],
        shared_layers=run["architecture"] == "albert",
        # RoBERTa: positions counted from the padding id + 1, one token type
        # (embryo.models.families.build_config; padding is id 1 of byte-level BPE, else 0)
        **(
            {
                "positions": run["block_size"] + (tokenizer["algorithm"] == "bpe") + 1,
                "token_types": 1,
            }
            if run["architecture"] == "roberta"
            else {"positions": run["block_size"], "token_types": 2}
        ),
    )


class Fit(NamedTuple):
    """One run's segments on their GPUs or CPU: the micro-batch, the estimate (per GPU, or
    all the CPU processes together), the memory it must fit, the verdict."""

    run: str
    rule: str
    processes: int
    micro_batch: int
    estimate_gib: float
    limit_gib: float
    fits: bool
    smallest_fitting_accum: int | None  # the least grad_accum that fits (None: none does)
    device: str = "GPU"


def _fit(
    config: dict,
    run_name: str,
    *,
    rule: str,
    processes: int,
    limit_bytes: int,
    shared: bool,
    device: str,
) -> Fit:
    """The fit of ``run_name``'s segment of ``processes`` data-parallel processes in
    ``limit_bytes``: each process's micro-batch alone (a GPU each), or all of them together
    (``shared``: one CPU memory), and the least ``grad_accum`` that would fit."""
    run = config["runs"][run_name]
    opt = run["optimizer"]
    per_process = opt["batch_size"] // processes
    teacher = run.get("teacher")
    shape = run_shape(config, run_name)
    teacher_shape = teacher and run_shape(config, teacher["run"])
    predictions = predictions_per_block(run["objective"], run["block_size"])

    def estimate(accum: int) -> float:
        one = segment_bytes(
            shape,
            micro_batch=max(1, per_process // accum),
            block_size=run["block_size"],
            predictions=predictions,
            mixed=opt["mixed_precision"] != "no",
            teacher=teacher_shape,
        )
        return one["total"] * (processes if shared else 1)

    total = estimate(opt["grad_accum"])
    accums = (k for k in range(1, per_process + 1) if per_process % k == 0)
    smallest = next((k for k in accums if fits(estimate(k), limit_bytes)), None)
    return Fit(
        run_name,
        rule,
        processes,
        per_process // opt["grad_accum"],
        total / GIB,
        limit_bytes / GIB,
        fits(total, limit_bytes),
        smallest,
        device,
    )


def gpu_fits(
    config: dict, run_name: str, *, rule: str, gpus: int, nodes: int, gpu_mem_mb: int
) -> Fit:
    """Whether each process's micro-batch of ``run_name`` fits a GPU of ``gpu_mem_mb``."""
    from embryo.config.runs import segment_processes

    processes = segment_processes(config["runs"][run_name], gpus * nodes)
    return _fit(
        config,
        run_name,
        rule=rule,
        processes=processes,
        limit_bytes=gpu_mem_mb * 2**20,
        shared=False,
        device="GPU",
    )


def machine_bytes() -> int:
    """This machine's memory, or its cgroup's limit where that is lower (a container's)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def cpu_fits(config: dict, run_name: str, *, rule: str, limit_bytes: int) -> Fit:
    """Whether the segment of ``run_name`` fits ``limit_bytes`` of CPU memory: its
    processes (the run's ``processes``, else one) each hold their micro-batch's estimate."""
    from embryo.config.runs import segment_processes

    processes = segment_processes(config["runs"][run_name], 0)
    return _fit(
        config,
        run_name,
        rule=rule,
        processes=processes,
        limit_bytes=limit_bytes,
        shared=True,
        device="CPU",
    )


def check_cpu_memory(
    config: dict, resources, stated_mem_mb, machine: int | None = None
) -> list[Fit]:
    """Every trained run whose pretraining rule asks for no GPU: the fit of its segment in
    the memory its rule states (``stated_mem_mb(rule)``: ``resources.<rule>.mem_mb`` as
    the config gives it, None where it gives none) or ``machine`` bytes (default: this
    machine's, :func:`machine_bytes`). Raises :class:`~embryo.runtime.errors.EmbryoError`
    naming each run that does not fit, its estimate and the limit, before any job starts
    (a pretraining job past the memory is killed by the kernel, with nothing to say why)."""
    from embryo.runtime.errors import EmbryoError

    rows, where = [], {}
    for name, run in config["runs"].items():
        if run.get("import") is not None:
            continue
        rule = "pretrain_student" if run.get("teacher") is not None else "pretrain"
        if resources(rule).get("gpu"):
            continue
        mem = stated_mem_mb(rule)
        limit = mem * 2**20 if mem else machine or machine_bytes()
        where[name] = f"resources.{rule}.mem_mb" if mem else "this machine's memory"
        rows.append(cpu_fits(config, name, rule=rule, limit_bytes=limit))
    bad = [r for r in rows if not r.fits]
    if bad:
        lines = []
        for r in bad:
            run = config["runs"][r.run]
            fix = (
                f"set optimizer.grad_accum to {r.smallest_fitting_accum}, or lower block_size "
                "or optimizer.batch_size"
                if r.smallest_fitting_accum
                else "lower block_size or the model's size, or give the rule more memory"
            )
            lines.append(
                f"  runs.{r.run}: {r.micro_batch} blocks of {run['block_size']} tokens a "
                f"micro-step in {r.processes} CPU process(es) need about {r.estimate_gib:.1f} "
                f"GiB (+ headroom) of the {r.limit_gib:.1f} GiB of {where[r.run]}; {fix}"
            )
        raise EmbryoError(
            "config: a pretraining micro-batch does not fit the CPU memory it runs in "
            "(estimate: embryo.config.memory)\n" + "\n".join(lines)
        )
    return rows


def check_gpu_memory(config: dict, resources) -> list[Fit]:
    """Every trained run whose pretraining rule asks for GPUs of a stated memory
    (``resources.<rule>.gpu`` and ``gpu_mem_mb``): the fit of its micro-batch. Raises
    :class:`~embryo.runtime.errors.EmbryoError` naming each run that does not fit and the
    accumulation that would. ``resources(rule)`` gives a rule's resolved resources."""
    from embryo.runtime.errors import EmbryoError

    rows = []
    for name, run in config["runs"].items():
        if run.get("import") is not None:
            continue
        rule = "pretrain_student" if run.get("teacher") is not None else "pretrain"
        wanted = resources(rule)
        if not wanted.get("gpu") or not wanted.get("gpu_mem_mb"):
            continue
        rows.append(
            gpu_fits(
                config,
                name,
                rule=rule,
                gpus=wanted["gpu"],
                nodes=wanted.get("nodes") or 1,
                gpu_mem_mb=wanted["gpu_mem_mb"],
            )
        )
    bad = [r for r in rows if not r.fits]
    if bad:
        lines = [
            f"  runs.{r.run}: {r.micro_batch} blocks a micro-step on each of {r.processes} "
            f"GPUs need about {r.estimate_gib:.1f} GiB (+ headroom) of {r.limit_gib:.0f} GiB; "
            + (
                f"set optimizer.grad_accum to {r.smallest_fitting_accum} (or more GPUs)"
                if r.smallest_fitting_accum
                else "no accumulation fits: more GPUs, or GPUs with more memory"
            )
            for r in bad
        ]
        raise EmbryoError(
            "config: a pretraining micro-batch does not fit its GPU (estimate: "
            "embryo.config.memory; resources.<rule>.gpu_mem_mb)\n" + "\n".join(lines)
        )
    return rows
