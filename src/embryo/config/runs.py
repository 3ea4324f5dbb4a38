"""What a validated config runs: its runs' checkpoint steps, segments, grid and settings.

Every function takes a config that :func:`embryo.config.schema.validate` has checked
and filled with defaults; the workflow calls them while it builds its graph.
"""

from __future__ import annotations

import copy
import math

# the randomness of pretraining that a replicate's seed can draw (runs.<run>.replicates.vary)
RANDOMNESS = ("init", "data_order", "masks", "dropout")
REPLICATE = "@s"  # a replicate's name: {run}@s{seed}


def replicate_name(run_name: str, seed: int) -> str:
    return f"{run_name}{REPLICATE}{seed}"


def series(run_name: str) -> str:
    """The run a replicate repeats (a run that is none: its own name)."""
    return run_name.split(REPLICATE, 1)[0]


def replicates(config: dict) -> dict[str, tuple[str, int | None]]:
    """{run: (its series, its replicate)}: the run a replicate repeats and the replicate's
    seed; a run that is no replicate is its own series, its replicate its seed (an imported
    run's: the seed its templates name, as a suite's seed)."""
    out = {}
    for name, run in config["runs"].items():
        base = series(name)
        seed = int(name[len(base) + len(REPLICATE) :]) if base != name else run.get("seed")
        out[name] = (base, seed)
    return out


def expand_replicates(config: dict) -> dict:
    """``config`` with every run's ``replicates`` declared as runs of their own.

    Run ``r`` with ``replicates: {seeds: [1, 2], vary: [...]}`` gains runs ``r@s1`` and
    ``r@s2``: copies of ``r`` (its ``seed`` kept) with ``replicate_of: r`` and ``seeds``,
    per source of :data:`RANDOMNESS`, the replicate's seed where ``vary`` names it and
    the run's seed elsewhere; a student's replicate has no twin. An imported run's
    replicate is the suite's series of that seed: its ``seed`` is the replicate's, which
    its templates name (``google/multiberts-seed_{seed}-...``). Every run gets its
    ``seeds`` (the run's seed for all four when it has no replicate), and the base run's
    ``replicates`` entry is dropped, so the jobs of ``r`` do not change with its list.
    """
    runs = {}
    for name, run in config["runs"].items():
        spec = run.get("replicates")
        base = {k: v for k, v in run.items() if k != "replicates"}
        if "import" not in run:
            base["seeds"] = dict.fromkeys(RANDOMNESS, run["seed"])
        runs[name] = base
        for seed in (spec or {}).get("seeds", []):
            replicate = copy.deepcopy(base)
            replicate["replicate_of"] = name
            if "import" in run:
                replicate["seed"] = seed
                runs[replicate_name(name, seed)] = replicate
                continue
            replicate["seeds"] = {k: seed if k in spec["vary"] else run["seed"] for k in RANDOMNESS}
            if replicate.get("teacher") is not None:
                replicate["teacher"]["twin"] = None
            runs[replicate_name(name, seed)] = replicate
    return {**config, "runs": runs}


def linked_checkpoint(config: dict, run_name: str, link: str) -> tuple[str, int] | None:
    """(run, step) that a run's ``teacher`` or ``grow_from`` names (a null step: that
    run's last checkpoint); None when the run has no such link."""
    spec = config["runs"][run_name].get(link)
    if spec is None:
        return None
    step = spec["step"]
    return spec["run"], checkpoint_steps(config["runs"][spec["run"]])[-1] if step is None else step


def downstream_tasks(config: dict) -> list[str]:
    """The tasks the downstream analysis fine-tunes on (all defined tasks by default)."""
    wanted = config["analyses"]["downstream"]["tasks"]
    return list(config["tasks"]) if wanted is None else list(wanted)


def transfer_tasks(config: dict) -> list[str]:
    """The tasks of the transferability grid (all defined tasks by default)."""
    wanted = config["transferability"]["tasks"]
    return list(config["tasks"]) if wanted is None else list(wanted)


def transfer_sizes(config: dict, task: str) -> list:
    """The grid's training-set sizes for ``task``: its entry of
    ``transferability.task_sizes``, else ``transferability.train_sizes`` (Tamkin et al.
    fine-tune on 50k examples only the tasks that have them: SST-2 and QNLI, not CoLA)."""
    spec = config["transferability"]
    return list(spec["task_sizes"].get(task, spec["train_sizes"]))


def transfer_experiments(config: dict) -> list[dict]:
    """The grid's experiments, each {name, schemes, tasks, sizes: {task: sizes}, seeds}.

    ``transferability.experiments`` lists them (Tamkin et al. ran each scheme family as its
    own experiment: progressive at every size with 3 seeds, blocks at 5k with 10, one
    fine-tuning of 10 permutations); a key an experiment leaves out is the grid's. Without
    the list the grid is one experiment, ``grid``. An experiment's ``train_sizes`` apply to
    each of its tasks; else each task has its :func:`transfer_sizes`.
    """
    spec = config["transferability"]
    out = []
    for exp in spec["experiments"] or [{"name": "grid"}]:
        tasks = exp.get("tasks") or transfer_tasks(config)
        sizes = {
            t: list(exp["train_sizes"]) if exp.get("train_sizes") else transfer_sizes(config, t)
            for t in tasks
        }
        out.append(
            {
                "name": exp["name"],
                "schemes": list(exp.get("schemes") or spec["schemes"]),
                "tasks": list(tasks),
                "sizes": sizes,
                "seeds": list(exp.get("seeds") or spec["seeds"]),
            }
        )
    return out


def size_requests(config: dict, task: str) -> dict[str, list[int]]:
    """The training-set sizes each config key asks of ``task``: {key: [sizes]}.

    The keys are those whose sizes a job of this config draws from the task:
    ``analyses.downstream.train_size``, ``transferability.train_sizes`` or
    ``transferability.task_sizes.<task>``, and ``transferability.experiments[i] (name)
    .train_sizes``; "full" asks for nothing. A local task's are checked against its file
    when the config is validated, any other's once it is prepared (rule task_sizes).
    """
    out = {}
    down = config["analyses"]["downstream"]
    if down["enabled"] and down["train_size"] is not None and task in downstream_tasks(config):
        out["analyses.downstream.train_size"] = [down["train_size"]]
    spec = config["transferability"]
    if not spec["enabled"] or task not in transfer_tasks(config):
        return out
    grid_key = (
        f"transferability.task_sizes.{task}"
        if task in spec["task_sizes"]
        else "transferability.train_sizes"
    )
    for i, exp in enumerate(spec["experiments"] or [{"name": None}]):
        if exp.get("tasks") and task not in exp["tasks"]:
            continue
        key, asked = grid_key, transfer_sizes(config, task)
        if exp.get("train_sizes"):
            key = f"transferability.experiments[{i}] ({exp['name']}).train_sizes"
            asked = exp["train_sizes"]
        numbers = [n for n in asked if n != "full"]
        if numbers:
            out[key] = numbers
    return out


def transfer_runs(config: dict) -> list[str]:
    """The runs of the transferability grid (every run by default)."""
    wanted = config["transferability"]["runs"]
    return list(config["runs"]) if wanted is None else list(wanted)


def num_layers(config: dict, run_name: str) -> int:
    """The run's number of encoder layers: a trained run's model section's; an imported
    series' from its first step's config.json, else ``import.layers``
    (:mod:`embryo.config.imports`)."""
    from embryo.models.families import model_dims
    from embryo.runtime.errors import EmbryoError

    run = config["runs"][run_name]
    if run.get("import") is not None:
        layers = run["resolved"]["layers"]
        if layers is None:
            raise EmbryoError(
                f"runs.{run_name}: its number of layers is unknown while the workflow is parsed "
                "(its first step's config.json is neither local nor in the Hugging Face "
                f"cache); set runs.{run_name}.import.layers"
            )
        return layers
    return model_dims(run["architecture"], run["model"])["num_hidden_layers"]


def run_family(run: dict) -> str | None:
    """A run's family (``model_type``): a trained run's architecture, an imported series'
    as read from its first step or declared; None when neither is known at parse time."""
    if run.get("import") is not None:
        return run["resolved"]["model_type"]
    return run["architecture"]


def transfer_schemes(config: dict, run_name: str) -> list[str]:
    """The run's reinit schemes over all experiments, families expanded for its depth."""
    from embryo.transfer.reinit import expand_schemes

    depth = num_layers(config, run_name)
    found = [
        s for exp in transfer_experiments(config) for s in expand_schemes(exp["schemes"], depth)
    ]
    return list(dict.fromkeys(found))


def transfer_jobs(config: dict, run_name: str) -> tuple[list[str], dict[str, str]]:
    """The run's schemes that are fine-tuned, and those that repeat one: {scheme: job's}."""
    from embryo.transfer.reinit import same_model

    schemes = transfer_schemes(config, run_name)
    repeats = same_model(schemes, num_layers(config, run_name))
    return [s for s in schemes if s not in repeats], repeats


def transfer_grid(config: dict, run_name: str) -> dict[str, list[tuple]]:
    """The run's grid points per scheme: {scheme: [(task, size, seed), ...]}, each point
    of each experiment once, in the experiments' order. The job of a point is the point
    of the scheme's job (:func:`transfer_jobs`), so a scheme of one experiment that builds
    another's model is fine-tuned once."""
    from embryo.transfer.reinit import expand_schemes

    depth = num_layers(config, run_name)
    grid: dict[str, dict[tuple, None]] = {}
    for exp in transfer_experiments(config):
        for scheme in expand_schemes(exp["schemes"], depth):
            points = grid.setdefault(scheme, {})
            for task in exp["tasks"]:
                for n in exp["sizes"][task]:
                    for seed in exp["seeds"]:
                        points[(task, n, seed)] = None
    return {scheme: list(points) for scheme, points in grid.items()}


def checkpoint_steps(run: dict) -> list[int]:
    """The run's checkpoint steps, in increasing order: a list of steps as given, a schedule
    expanded, or the union of a list of schedules and steps."""
    ckpts = run["checkpoints"]
    if isinstance(ckpts, list) and all(isinstance(s, int) for s in ckpts):
        return list(ckpts)
    parts = ckpts if isinstance(ckpts, list) else [ckpts]
    steps = set()
    for part in parts:
        steps |= {part} if isinstance(part, int) else _schedule_steps(part)
    return sorted(steps)


def _schedule_steps(schedule: dict) -> set[int]:
    """0, log-spaced steps below ``every`` (when asked), then every ``every`` steps to ``until``."""
    until, every = schedule["until"], schedule["every"]
    steps = {0, *range(every, until + 1, every), until}
    if schedule.get("log_spaced", True):
        base = schedule.get("log_base", 2)
        top = min(every, until)
        steps |= {base**i for i in range(int(math.log(top, base)) + 2) if base**i < top}
    return steps


def is_imported(run: dict) -> bool:
    return run.get("import") is not None


def previous_step(run: dict, step: int) -> int | None:
    """The checkpoint step a segment ending at ``step`` resumes from (None for step 0, and
    for a branch's first checkpoint, which resumes from its parent: :func:`resumes_from`)."""
    steps = checkpoint_steps(run)
    i = steps.index(step)
    return steps[i - 1] if i else None


def resumes_from(config: dict, run_name: str, step: int) -> tuple[str, int] | None:
    """(run, step) of the segment that the segment of ``run_name`` ending at ``step``
    resumes from: its own previous checkpoint, or at a branch's first checkpoint the
    parent's segment at that step (``runs.<run>.branch``); None at step 0 of a run."""
    run = config["runs"][run_name]
    previous = previous_step(run, step)
    if previous is not None:
        return run_name, previous
    branch = run.get("branch")
    return (branch["run"], branch["step"]) if branch is not None else None


def data_spans(config: dict, run_name: str) -> list[tuple[str, int, int]]:
    """Whose data order drew a trained run's batches, oldest first: ``(run, after,
    through)`` for steps ``after + 1 .. through``. A run that is no branch drew all its
    own; a branch (``runs.<run>.branch``) drew its parent's (and so on up) up to the
    branch step, then its own."""
    run = config["runs"][run_name]
    spans, through = [], checkpoint_steps(run)[-1]
    while True:
        branch = run.get("branch")
        after = branch["step"] if branch is not None else 0
        spans.insert(0, (run_name, after, through))
        if branch is None:
            return spans
        run_name, through = branch["run"], after
        run = config["runs"][run_name]


def drawn_by(config: dict, run_name: str, step: int) -> str:
    """The run whose data order drew the batch of ``run_name``'s step ``step`` (:func:`data_spans`)."""
    for name, after, through in data_spans(config, run_name):
        if after < step <= through:
            return name
    return run_name  # step 0, or beyond the last checkpoint: the run's own order


def total_steps(run: dict) -> int:
    """Steps of the learning-rate schedule: explicit, or the last checkpoint."""
    return run["optimizer"]["total_steps"] or checkpoint_steps(run)[-1]


def segment_processes(run: dict, gpus) -> int:
    """Processes of a pretraining segment: the run's ``processes``, else one per GPU, else 1."""
    return run.get("processes") or max(1, int(gpus or 0))


def run_corpus(config: dict, run_name: str) -> str:
    """The corpus a trained run pretrains on: its own ``corpus``, else its tokenizer's."""
    run = config["runs"][run_name]
    return run.get("corpus") or config["tokenizers"][run["tokenizer"]]["corpus"]


def tokens_seen(config: dict) -> dict[str, dict[int, int | None]]:
    """{run: {step: tokens}}: the tokens a run's training had seen at each checkpoint. A
    trained run's: its optimizer steps times the batch's blocks times block_size, each span
    of its data order at the settings of the run that drew it (a branch: its parent's up to
    the branch step, :func:`data_spans`); an imported series': ``import.tokens`` at a step,
    else ``tokens_per_step`` times the step, else None."""
    from embryo.train.series import tokens_seen as imported_tokens

    out = {}
    for name, run in config["runs"].items():
        steps = checkpoint_steps(run)
        if run.get("import") is not None:
            out[name] = {s: imported_tokens(run, s) for s in steps}
            continue
        spans = [
            (
                after,
                through,
                config["runs"][r]["optimizer"]["batch_size"] * config["runs"][r]["block_size"],
            )
            for r, after, through in data_spans(config, name)
        ]
        out[name] = {
            s: sum(max(0, min(s, through) - after) * per_step for after, through, per_step in spans)
            for s in steps
        }
    return out
