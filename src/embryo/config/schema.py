"""The workflow configuration: validation against the schema, defaults, and run enumeration.

``validate`` is what ``rules/common.smk`` calls before the graph is built; it fails with
an :class:`~embryo.runtime.errors.EmbryoError` naming the offending key (``runs.bert.optimizer.lr``)
and what was expected. Everything else here derives facts from a validated config:
checkpoint steps, the previous step of a segment, the settings each job depends on.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from embryo.config.runs import (
    REPLICATE,
    checkpoint_steps,
    downstream_tasks,
    expand_replicates,
    run_family,
    series,
    size_requests,
    transfer_runs,
    transfer_schemes,
    transfer_tasks,
)
from embryo.runtime.errors import EmbryoError

RUN_NAME = r"[A-Za-z0-9][A-Za-z0-9_.+-]*"


def load_schema(path: str | os.PathLike) -> dict:
    """Read the JSON schema (YAML) at ``path``."""
    with open(path) as fh:  # libyaml's safe loader where PyYAML has it (same result)
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load(path: str | os.PathLike, schema_path: str | os.PathLike) -> dict:
    """Read a config file and validate it (see :func:`validate`)."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise EmbryoError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        raise EmbryoError(f"{path}: not valid YAML: {err}") from None
    return validate(config or {}, load_schema(schema_path), source=str(path))


def validate(
    config: dict,
    schema: dict,
    *,
    source: str = "config",
    check_files: bool = True,
    refs_cache=None,
) -> dict:
    """Check ``config`` against ``schema`` and the rules a schema cannot say; fill defaults.

    Returns a new dict with every default filled in and every mapping's keys in sorted
    order (:func:`canonical`), and every imported run's steps and family resolved
    (:func:`embryo.config.imports.expand_imports`; ``refs_cache`` keeps the Hub refs it
    lists). Raises EmbryoError listing every problem, each with its key path. With
    ``check_files`` local corpus files must exist.
    """
    import jsonschema

    from embryo.config.imports import expand_imports, import_problems

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"  {_key(e.absolute_path)}: {_describe(e)}" for e in errors]
        raise EmbryoError(f"{source}: invalid configuration\n" + "\n".join(lines))
    config = fill_defaults(copy.deepcopy(config), schema, schema)
    problems = list(_trained_problems(config)) + list(_replicate_problems(config))
    if not problems:
        config = expand_replicates(config)
        problems = list(import_problems(config))
    if not problems:
        try:
            config = expand_imports(config, refs_cache)
        except EmbryoError as err:
            problems = [str(err)]
    if not problems:
        problems = list(_semantic_problems(config, check_files))
    if problems:
        raise EmbryoError(
            f"{source}: invalid configuration\n" + "\n".join(f"  {p}" for p in problems)
        )
    return canonical(config)


def canonical(value):
    """``value`` with the keys of every mapping in it sorted (lists keep their order).

    Snakemake compares a job's params by their representation, and a dict's follows its
    keys' order: without this, the same settings written in another order in the YAML
    file (a formatting change) would rerun every job that receives a section of them.
    No mapping of the config carries meaning in its order.
    """
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error) -> str:
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        return f"unknown key(s) {', '.join(map(repr, extra))}; expected one of: {', '.join(known)}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {error.validator_value}"
    if error.validator == "oneOf" and error.context:
        return f"{error.instance!r} is neither a list of steps nor a schedule ({error.context[0].message})"
    return error.message


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        ref = schema["$ref"]
        target = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def fill_defaults(instance: Any, schema: dict, root: dict) -> Any:
    """Fill schema defaults into ``instance`` recursively (objects only)."""
    schema = _resolve(schema, root)
    if not isinstance(instance, dict) or schema.get("type") not in ("object", None):
        return instance
    props = schema.get("properties", {})
    for key, sub in props.items():
        sub = _resolve(sub, root)
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            instance[key] = fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key in instance:
            if key not in props:
                instance[key] = fill_defaults(instance[key], extra, root)
    return instance


def _trained_problems(config: dict):
    """A run trained here names one of the families embryo pretrains, and its steps."""
    from embryo.models.families import ARCHITECTURES

    for name, run in config["runs"].items():
        if run.get("import") is not None:
            continue
        if run.get("architecture") not in ARCHITECTURES:
            yield (
                f"runs.{name}.architecture: {run.get('architecture')!r}; a run trained here is "
                f"one of {list(ARCHITECTURES)} (a series of another family is imported)"
            )
        if not isinstance(run.get("checkpoints"), list | dict):
            yield f"runs.{name}.checkpoints: a trained run needs its checkpoint steps, not {run.get('checkpoints')!r}"


def _replicate_problems(config: dict):
    """Replicates of a run: seeds other than its own, names that are free, a trained run."""
    for name, run in config["runs"].items():
        key = f"runs.{name}"
        if REPLICATE in name:
            yield f"{key}: {REPLICATE!r} is kept for replicates' names; declare them with replicates"
        spec = run.get("replicates")
        if spec is None:
            continue
        if run["seed"] in spec["seeds"]:
            yield f"{key}.replicates.seeds: {run['seed']} is the run's own seed"


def _semantic_problems(config: dict, check_files: bool):
    import re

    from embryo.data import corpus
    from embryo.models import families as models

    for name, spec in config["corpora"].items():
        if spec["source"] == "local" and not spec.get("files"):
            yield f"corpora.{name}.files: a local corpus needs a list of files"
        if spec["source"] == "hub" and not spec.get("hub_id"):
            yield f"corpora.{name}.hub_id: a hub corpus needs a dataset id"
        elif spec["source"] == "mix":
            yield from _mix_problems(config, name, spec.get("parts"))
        elif check_files:
            try:
                corpus.check_corpus(name, spec, config["data_dir"])
            except EmbryoError as err:
                yield str(err)
    for name, spec in config["tokenizers"].items():
        if spec["corpus"] not in config["corpora"]:
            yield f"tokenizers.{name}.corpus: unknown corpus {spec['corpus']!r}; defined: {sorted(config['corpora'])}"
    yield from _task_problems(config, check_files)
    for name, run in config["runs"].items():
        key = f"runs.{name}"
        if not re.fullmatch(RUN_NAME, series(name)):
            yield f"{key}: a run name may hold letters, digits and _ . + - only"
        imported = run.get("import")
        if imported is not None:
            pass  # its own keys: embryo.config.imports
        elif "tokenizer" not in run:
            yield f"{key}.tokenizer: a trained run needs a tokenizer (one of {sorted(config['tokenizers'])})"
        elif run["tokenizer"] not in config["tokenizers"]:
            yield f"{key}.tokenizer: unknown tokenizer {run['tokenizer']!r}; defined: {sorted(config['tokenizers'])}"
        if "corpus" in run and run["corpus"] not in config["corpora"]:
            yield f"{key}.corpus: unknown corpus {run['corpus']!r}; defined: {sorted(config['corpora'])}"
        ckpts = run["checkpoints"]
        if isinstance(ckpts, list) and all(isinstance(s, int) for s in ckpts):
            bad = [(a, b) for a, b in zip(ckpts, ckpts[1:], strict=False) if b <= a]
            if bad:
                yield f"{key}.checkpoints: must be strictly increasing; {bad[0][1]} follows {bad[0][0]}"
            branch = run.get("branch")
            if branch is not None and ckpts[0] != branch["step"]:
                yield f"{key}.checkpoints: a branch starts at its branch step {branch['step']}, got {ckpts[0]}"
            elif imported is None and branch is None and ckpts[0] != 0:
                yield f"{key}.checkpoints: a trained run starts at step 0 (its random initialisation), got {ckpts[0]}"
        if imported is not None:
            positions = run["resolved"]["positions"]
            if run.get("corpus") and positions is not None and run["block_size"] > positions:
                yield (
                    f"{key}.block_size: validation blocks of {run['block_size']} tokens, but "
                    f"the series admits {positions} positions"
                )
            continue
        try:
            models.model_dims(run["architecture"], run["model"])
        except EmbryoError as err:
            yield f"{key}.model: {err}"
        opt = run["optimizer"]
        if opt["batch_size"] % opt["grad_accum"]:
            yield f"{key}.optimizer.grad_accum: {opt['grad_accum']} does not divide batch_size {opt['batch_size']}"
        elif run.get("processes") and opt["batch_size"] % (run["processes"] * opt["grad_accum"]):
            yield f"{key}.processes: {run['processes']} processes x {opt['grad_accum']} accumulation steps do not divide batch_size {opt['batch_size']}"
        last = checkpoint_steps(run)[-1]
        if opt["total_steps"] is not None and opt["total_steps"] < last:
            yield f"{key}.optimizer.total_steps: {opt['total_steps']} is before the last checkpoint {last}"
        objective = run["objective"]
        if (
            objective["max_predictions"] is not None
            and objective["masking"] == "token"
            and not objective["whole_word"]
        ):
            yield f"{key}.objective.max_predictions: caps whole-word or ngram masking; token masking selects each token on its own (set masking: ngram or whole_word: true)"
        if run["objective"]["sop"] and run["architecture"] != "albert":
            yield f"{key}.objective.sop: sentence-order prediction is ALBERT's objective, not {run['architecture']}'s"
    yield from _teacher_problems(config)
    yield from _study_problems(config)
    yield from _growth_problems(config)
    yield from _branch_problems(config)
    for name in config["release"]["runs"]:
        run = config["runs"].get(name)
        if run is None or run.get("import") is not None:
            trained = sorted(r for r, spec in config["runs"].items() if spec.get("import") is None)
            yield f"release.runs.{name}: not a run trained here; trained runs: {trained}"


def _mix_problems(config: dict, name: str, parts):
    key, corpora = f"corpora.{name}.parts", config["corpora"]
    if not parts:
        yield f"{key}: a mix needs the corpora it concatenates"
        return
    for part in parts:
        if part not in corpora:
            yield f"{key}: unknown corpus {part!r}; defined: {sorted(corpora)}"
        elif corpora[part]["source"] == "mix":
            yield f"{key}: {part!r} is itself a mix; list its parts instead"
    if len(set(parts)) < len(parts):
        yield f"{key}: a corpus is listed twice ({parts})"


# what a from-scratch twin shares with its knowledge-inheritance student
TWIN_KEYS = (
    "architecture",
    "tokenizer",
    "corpus",
    "seed",
    "block_size",
    "checkpoints",
    "model",
    "objective",
    "optimizer",
    "evaluation",
    "grow_from",
)


def _links(config: dict, link: str):
    """Runs naming another run through ``link`` (teacher, grow_from), checked in common.

    Yields a problem (a string) when the other run is unknown or the run itself, when
    either is imported, when they use different tokenizers or when the step is not one
    of the other's checkpoints; else ``(key, name, run, spec, other)``.
    """
    runs = config["runs"]
    for name, run in runs.items():
        spec = run.get(link)
        if spec is None:
            continue
        key, other = f"runs.{name}.{link}", runs.get(spec["run"])
        if other is None or spec["run"] == name:
            yield f"{key}.run: {spec['run']!r} is not another run; defined: {sorted(runs)}"
        elif run.get("import") is not None or other.get("import") is not None:
            yield f"{key}: only between runs trained here (an imported run has its own tokenizer)"
        elif other.get("tokenizer") != run.get("tokenizer"):
            yield (
                f"{key}.run: {spec['run']} uses tokenizer {other.get('tokenizer')!r}, this run "
                f"{run.get('tokenizer')!r}; both models must read and predict one vocabulary"
            )
        elif spec["step"] is not None and spec["step"] not in checkpoint_steps(other):
            yield (
                f"{key}.step: {spec['step']} is not a checkpoint of {spec['run']} "
                f"({checkpoint_steps(other)})"
            )
        else:
            yield key, name, run, spec, other


def _teacher_problems(config: dict):
    """Knowledge-inheritance students: a teacher with room for the blocks, no cycles, a twin."""
    runs = config["runs"]
    for link in _links(config, "teacher"):
        if isinstance(link, str):
            yield link
            continue
        key, name, run, spec, teacher = link
        lineage, current = [name], spec["run"]
        while current in runs:
            if current in lineage:
                yield f"{key}.run: a cycle of teachers: {' -> '.join([*lineage, current])}"
                break
            lineage.append(current)
            current = (runs[current].get("teacher") or {}).get("run")
        if teacher["block_size"] < run["block_size"]:
            yield (
                f"{key}.run: teacher {spec['run']} has block_size {teacher['block_size']}, "
                f"less than this run's {run['block_size']}: it has no positions for the rest"
            )
        vocab = config["tokenizers"].get(run.get("tokenizer"), {}).get("vocab_size")
        if spec["top_k"] is not None and vocab is not None and spec["top_k"] > vocab:
            yield f"{key}.top_k: {spec['top_k']} is more than the vocabulary's {vocab} tokens"
        twin = spec["twin"]
        if twin is not None:
            if twin not in runs:
                yield f"{key}.twin: unknown run {twin!r}; defined: {sorted(runs)}"
            elif runs[twin].get("teacher") is not None or twin == name:
                yield f"{key}.twin: {twin} must be trained from scratch, without a teacher"
            else:
                differ = [k for k in TWIN_KEYS if runs[twin].get(k) != run.get(k)]
                if differ:
                    yield (
                        f"{key}.twin: {twin} differs from {name} in {', '.join(differ)}; a twin "
                        "is the same run without the teacher"
                    )


def _study_problems(config: dict):
    """inheritance.studies: students of the config; a lineage a chain; adaptation from a run."""
    runs = config["runs"]
    for study, names in config["inheritance"]["studies"].items():
        key = f"inheritance.studies.{study}"
        for name in names:
            if name not in runs:
                yield f"{key}: unknown run {name!r}; defined: {sorted(runs)}"
            elif runs[name].get("teacher") is None:
                yield f"{key}: {name} has no teacher (runs.{name}.teacher); a study compares students"
            elif study == "domain" and runs[name].get("grow_from") is None:
                yield (
                    f"{key}: {name} starts from scratch; a domain-adaptation student continues "
                    f"a run's checkpoint (runs.{name}.grow_from) on the new domain"
                )
        chain = [n for n in names if runs.get(n, {}).get("teacher")] if study == "lineage" else []
        for before, after in zip(chain, chain[1:], strict=False):
            if runs[after]["teacher"]["run"] != before:
                yield (
                    f"{key}: {after} follows {before} in the lineage, but its teacher is "
                    f"{runs[after]['teacher']['run']}"
                )


def _growth_problems(config: dict):
    """Runs grown from another: a source of the same family, not larger, same head size."""
    from embryo.models import families as models

    for link in _links(config, "grow_from"):
        if isinstance(link, str):
            yield link
            continue
        key, _, run, spec, source = link
        if (
            run["architecture"] not in ("bert", "roberta")
            or source["architecture"] != run["architecture"]
        ):
            yield (
                f"{key}.run: growth is from a BERT to a BERT or a RoBERTa to a RoBERTa; here "
                f"{source['architecture']} -> {run['architecture']}"
            )
            continue
        try:
            old = models.model_dims(source["architecture"], source["model"])
            new = models.model_dims(run["architecture"], run["model"])
        except EmbryoError:
            continue  # reported as the run's model
        smaller = [f"{k} {new[k]} < {old[k]}" for k in old if new[k] < old[k]]
        if source["block_size"] > run["block_size"]:
            smaller.append(f"block_size {run['block_size']} < {source['block_size']}")
        if smaller:
            yield f"{key}: this run is smaller than {spec['run']}: {', '.join(smaller)}"
        heads = (
            old["hidden_size"] // old["num_attention_heads"],
            new["hidden_size"] // new["num_attention_heads"],
        )
        if heads[0] != heads[1]:
            yield (
                f"{key}: heads are copied whole, so the head size must stay {heads[0]} "
                f"(this run: {new['hidden_size']} / {new['num_attention_heads']} = {heads[1]})"
            )


def _branch_problems(config: dict):
    """A branch continues its parent's training state: the same model, tokenizer, block
    size and optimizer, and nothing that would start it afresh (a teacher, growth)."""
    from embryo.models import families as models

    for link in _links(config, "branch"):
        if isinstance(link, str):
            yield link
            continue
        key, name, run, spec, parent = link
        if spec["step"] == 0:
            yield f"{key}.step: a branch at step 0 is a run of its own (give it seed and settings)"
        for other in ("teacher", "grow_from", "replicates"):
            if run.get(other) is not None:
                yield f"{key}: a branch continues {spec['run']}; it has no {other}"
        same = ["architecture", "block_size"]
        differ = [k for k in same if run.get(k) != parent.get(k)]
        try:
            if models.model_dims(run["architecture"], run["model"]) != models.model_dims(
                parent["architecture"], parent["model"]
            ):
                differ.append("model")
        except EmbryoError:
            continue  # reported as the run's model
        if run["optimizer"]["name"] != parent["optimizer"]["name"]:
            differ.append("optimizer.name")
        if run["objective"]["sop"] != parent["objective"]["sop"]:
            differ.append("objective.sop")  # the SOP head is in the training state
        if differ:
            yield (
                f"{key}: a branch continues {spec['run']}'s training state, so its "
                f"{', '.join(differ)} must be {spec['run']}'s"
            )


def _task_problems(config: dict, check_files: bool):
    import re

    from embryo.data import tasks

    for name, spec in config["tasks"].items():
        key = f"tasks.{name}"
        if not re.fullmatch(RUN_NAME, series(name)):
            yield f"{key}: a task name may hold letters, digits and _ . + - only"
        if spec["source"] == "hub" and not spec.get("hub_id"):
            yield f"{key}.hub_id: a hub task needs a dataset id"
        qa = {"exact_match", "token_f1"}
        wrong = {
            "classification": {"pearson", "spearman", *qa},
            "regression": {"accuracy", "f1", "matthews", *qa},
            "extractive_qa": {"accuracy", "f1", "matthews", "pearson", "spearman"},
        }
        bad = sorted(set(tasks.metrics_of(spec)) & wrong[spec["type"]])
        if bad:
            yield f"{key}.metrics: {bad} do not apply to a {spec['type']} task"
        if spec["type"] == "regression" and spec["labels"] is not None:
            yield f"{key}.labels: a regression task has no label set; remove this key"
        if check_files:
            try:
                tasks.check_task(name, spec, config["data_dir"])
            except EmbryoError as err:
                yield str(err)
    for name in downstream_tasks(config):
        if name not in config["tasks"]:
            yield f"analyses.downstream.tasks: unknown task {name!r}; defined: {sorted(config['tasks'])}"
    yield from _transfer_problems(config)
    if check_files:
        for name in config["tasks"]:
            for key, sizes in size_requests(config, name).items():
                yield from _size_problems(config, name, max(sizes), key)
    yield from _position_problems(config)


def _size_problems(config: dict, task: str, largest: int, key: str):
    """A training-set size that a local task's train file cannot provide."""
    from embryo.data import tasks

    try:
        rows = tasks.max_train_rows(config["tasks"][task], config["data_dir"])
    except (OSError, EmbryoError):
        return  # a missing file is reported by the task's own check
    if rows is not None and largest > rows:
        yield (
            f"{key}: {largest} training examples asked for, but task {task}'s train file "
            f"has at most {rows} rows"
        )


def fine_tuned_runs(config: dict) -> list[str]:
    """The runs some job fine-tunes or task-probes: the downstream analysis's, the grid's."""
    runs = []
    if config["analyses"]["downstream"]["enabled"] and downstream_tasks(config):
        runs += list(config["runs"])
    if config["transferability"]["enabled"] and transfer_tasks(config):
        runs += [r for r in transfer_runs(config) if r in config["runs"]]
    return list(dict.fromkeys(runs))


def run_positions(run: dict, data_dir) -> int | None:
    """The longest input a run's checkpoints admit: a trained run's block_size; an imported
    series' max_position_embeddings less what its family's first position skips
    (``resolved``, from its first step's config.json: embryo.config.imports); None when
    that could not be read while parsing (checked when the job runs)."""
    if run.get("import") is None:
        return run["block_size"]
    return run["resolved"]["positions"]


def _position_problems(config: dict):
    """finetuning.max_length must fit every fine-tuned run's positions."""
    length = config["finetuning"]["max_length"]
    for name in fine_tuned_runs(config):
        positions = run_positions(config["runs"][name], config["data_dir"])
        if positions is not None and length > positions:
            yield (
                f"finetuning.max_length: {length} pieces per example, but run {name}'s model "
                f"admits {positions} positions; lower finetuning.max_length to at most "
                f"{positions} (or raise runs.{name}.block_size)"
            )


def _experiment_problems(config: dict):
    """transferability.experiments: unique names, tasks of the grid."""
    spec = config["transferability"]
    names = [exp["name"] for exp in spec["experiments"] or []]
    for i, exp in enumerate(spec["experiments"] or []):
        key = f"transferability.experiments[{i}] ({exp['name']})"
        if names.count(exp["name"]) > 1:
            yield f"{key}: the name {exp['name']!r} is used by {names.count(exp['name'])} experiments"
        unknown = [t for t in exp.get("tasks", []) if t not in transfer_tasks(config)]
        if unknown:
            yield f"{key}.tasks: {unknown} are not tasks of the grid ({transfer_tasks(config)})"


def _transfer_problems(config: dict):
    from embryo.models.families import missing as lacking

    spec = config["transferability"]
    for name in spec["task_sizes"]:
        if name not in transfer_tasks(config):
            yield f"transferability.task_sizes.{name}: not a task of the grid ({transfer_tasks(config)})"
    for name in transfer_tasks(config):
        if name not in config["tasks"]:
            yield f"transferability.tasks: unknown task {name!r}; defined: {sorted(config['tasks'])}"
        elif config["tasks"][name]["type"] == "extractive_qa":
            yield (
                f"transferability.tasks: {name} is an extractive QA task; the grid and its "
                "task probes take classification and regression tasks (QA is for "
                "analyses.downstream)"
            )
    yield from _experiment_problems(config)
    wanted = spec["steps"]
    known = {
        s
        for r in transfer_runs(config)
        if r in config["runs"]
        for s in checkpoint_steps(config["runs"][r])
    }
    missing = sorted(set(wanted or []) - known)
    if missing:
        yield f"transferability.steps: {missing} are checkpoints of none of the runs {transfer_runs(config)}"
    for name in transfer_runs(config):
        if name not in config["runs"]:
            yield f"transferability.runs: unknown run {name!r}; defined: {sorted(config['runs'])}"
            continue
        if not spec["enabled"]:
            continue  # no grid: no depth needed (an imported series' may be unknown)
        try:
            schemes = transfer_schemes(config, name)
        except EmbryoError as err:
            yield f"transferability.schemes (run {name}): {err}"
            continue
        family = run_family(config["runs"][name])
        changed = [s for s in schemes if s != "none"]
        if changed and family is None:
            yield (
                f"transferability.runs: {name}'s family is unknown while the workflow is parsed "
                f"(its first step's config.json is neither local nor in the Hugging Face cache); "
                f"set runs.{name}.architecture (and import.layers)"
            )
            continue
        lacks = lacking(family, "transfer") if changed else None
        if lacks is not None:
            yield (
                f"transferability.schemes (run {name}): {changed[0]} redraws or reorders layers "
                f"of a {family} model, which lacks {lacks}"
            )
        scrambles = [s for s in schemes if s.startswith("scramble")]
        if scrambles and family == "albert":
            yield (
                f"transferability.schemes (run {name}): {scrambles[0]} permutes the layers of "
                "an ALBERT, which shares one set of weights across them: the same model"
            )
