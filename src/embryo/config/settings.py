"""What each job receives: typed, immutable settings built from the validated config.

Every job's settings are a :class:`typing.NamedTuple` defined beside the code that reads
them (:class:`~embryo.train.segment.SegmentSettings`,
:class:`~embryo.transfer.finetune.FinetuneSettings`, ...) and built here, while the
workflow is parsed, from the config that :func:`embryo.config.schema.validate` filled
with the schema's defaults (the only place defaults live). A field that the config does
not provide fails here, naming its key, not inside a job; a job reads only fields.
Snakemake compares a NamedTuple param by its representation (field names and values),
so a changed setting reruns exactly the jobs that receive it.
"""

from __future__ import annotations

from embryo.config.runs import linked_checkpoint, run_corpus, total_steps
from embryo.runtime.errors import EmbryoError


def build(cls, values: dict, key: str, **given):
    """``cls`` from the fields of ``values`` (the config section at ``key``) and ``given``.

    A field that neither provides is an EmbryoError naming ``key.field``.
    """
    fields = {**{f: values[f] for f in cls._fields if f in values}, **given}
    missing = [f for f in cls._fields if f not in fields]
    if missing:
        raise EmbryoError(
            f"{key}: the job's settings ({cls.__name__}) need {', '.join(f'{key}.{m}' for m in missing)}, "
            "which the config does not provide (config/schema.yaml)"
        )
    return cls(**{f: fields[f] for f in cls._fields})


def as_dict(value):
    """A settings object (nested NamedTuples) as plain dicts and lists, for JSON files."""
    if hasattr(value, "_asdict"):
        return {k: as_dict(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [as_dict(v) for v in value]
    if isinstance(value, dict):
        return {k: as_dict(v) for k, v in value.items()}
    return value


def segment(config: dict, run_name: str, step: int):
    """The :class:`~embryo.train.segment.SegmentSettings` of the segment ending at ``step``.

    Step 0 (the seeded random initialisation, scored on validation) does not depend on
    the optimizer or the teacher, so changing a learning rate keeps it.
    """
    from embryo.models.families import model_spec
    from embryo.train.growth import Growth
    from embryo.train.optimizer import Optimizer
    from embryo.train.segment import Evaluation, Objective, Seeds, SegmentSettings, Teacher

    run, key = config["runs"][run_name], f"runs.{run_name}"
    grow_from = optimizer = teacher = None
    if run.get("grow_from") is not None:  # the initialisation (step 0) is the grown source
        source, source_step = linked_checkpoint(config, run_name, "grow_from")
        grow_from = Growth(source, source_step)
    if step > 0:
        optimizer = build(
            Optimizer, run["optimizer"], f"{key}.optimizer", total_steps=total_steps(run)
        )
        branch = run.get("branch")
        if branch is not None and branch["anneal"]:  # from the parent's rate at the branch
            optimizer = optimizer._replace(
                lr=parent_lr(config, branch["run"], branch["step"]),
                warmup_steps=0,
                decay_start=branch["step"],
            )
        if run.get("teacher") is not None:
            spec = run["teacher"]
            _, teacher_step = linked_checkpoint(config, run_name, "teacher")
            teacher = build(
                Teacher,
                spec,
                f"{key}.teacher",
                step=teacher_step,
                kd_steps=spec["kd_steps"] or total_steps(run),
            )
    return build(
        SegmentSettings,
        run,
        key,
        model=model_spec(run["architecture"], run["model"]),
        seeds=Seeds(**run["seeds"]),
        objective=build(Objective, run["objective"], f"{key}.objective"),
        evaluation=build(Evaluation, run["evaluation"], f"{key}.evaluation"),
        corpus=run_corpus(config, run_name),
        step=step,
        grow_from=grow_from,
        optimizer=optimizer,
        teacher=teacher,
    )


def parent_lr(config: dict, run_name: str, step: int) -> float:
    """The learning rate run ``run_name``'s schedule gives its optimizer step ``step`` (0
    before its first step): where an annealed branch starts its decay."""
    from embryo.train.optimizer import lr_factor

    if step == 0:
        return 0.0
    opt = segment(config, run_name, step).optimizer
    return opt.lr * lr_factor(step, opt.warmup_steps, opt.total_steps, opt.decay_start)


def finetuning(config: dict):
    """The :class:`~embryo.transfer.finetune.FinetuneSettings` of every fine-tuning job."""
    from embryo.transfer.finetune import FinetuneSettings

    return build(FinetuneSettings, config["finetuning"], "finetuning")


def reinit_recipe(config: dict, reinit: str):
    """The :class:`~embryo.transfer.reinit.Recipe` of a fine-tuning job with scheme
    ``reinit``: the config's (``transferability``), or for ``none`` and the permutations,
    which redraw nothing, the plain one, so that a change of recipe reruns only the jobs it
    changes."""
    from embryo.transfer.reinit import PLAIN, Recipe

    if reinit == "none" or reinit.startswith("scramble-"):
        return PLAIN
    spec = config["transferability"]
    return Recipe(spec["init"], spec["keep_layer_norm"], float(spec["reinit_lr_multiplier"]))


def probing(config: dict):
    """The :class:`~embryo.embryology.probing.ProbeSettings` of every probe job."""
    from embryo.embryology.probing import ProbeSettings

    return build(ProbeSettings, config["analyses"]["probing"], "analyses.probing")


def task_probing(config: dict):
    """The :class:`~embryo.transfer.task_probe.TaskProbeSettings` of every task probe."""
    from embryo.transfer.task_probe import TaskProbeSettings

    return build(
        TaskProbeSettings,
        config["transferability"]["probing"],
        "transferability.probing",
        batch_size=config["finetuning"]["eval_batch_size"],
    )


def treebank(config: dict, split: str, root: str):
    """The :class:`~embryo.data.treebank.TreebankSplit` of split ``train`` or ``test``,
    its file under ``root`` (the built-in mirror or data_dir)."""
    from pathlib import Path

    from embryo.data.treebank import TreebankSplit

    tb = config["treebank"]
    return TreebankSplit(str(Path(root) / tb[split]), tb["max_sentences"][split])


def tokenizer(config: dict, name: str):
    """The :class:`~embryo.data.tokenizer.TokenizerSettings` of tokenizer ``name``."""
    from embryo.data.tokenizer import TokenizerSettings

    return build(TokenizerSettings, config["tokenizers"][name], f"tokenizers.{name}")


TRACKER_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


def check_tracking(config: dict) -> None:
    """Every tracker listed has its package installed (checked before any job)."""
    import importlib.util

    for name in config["tracking"]["trackers"]:
        package = TRACKER_PACKAGES[name]
        if importlib.util.find_spec(package) is None:
            raise EmbryoError(
                f"config: tracking.trackers lists {name}, but the {package} package is not "
                f"installed: pip install {package}, or remove {name} from tracking.trackers"
            )
