import os
import re
from pathlib import Path

import embryo.config as ec
from embryo import registry
from embryo.config import settings
from embryo.config.memory import check_cpu_memory, check_gpu_memory
from embryo.config.overview import overview
from embryo.data.checks import check_inputs
from embryo.data.corpus import input_files
from embryo.embryology.probing import TASKS as PROBE_TASKS
from embryo.results import findings, provenance
from embryo.runtime.errors import EmbryoError
from embryo.runtime.fingerprint import fingerprint, modules, save_cache, use_cache
from embryo.runtime.locks import LOCKS, record_owner, release_stale_locks
from embryo.train.series import step_source
from embryo.transfer.reinit import WILDCARD as REINIT_SCHEMES

# ---- a run killed with SIGKILL leaves its lock: released when its holder is provably
# dead (embryo.runtime.locks), recorded by every run once it holds the lock
if workflow.is_main_process:
    released, held = release_stale_locks(Path.cwd())
    for lock in released:
        logger.warning(f"Embryo: released {lock}, left by a killed Snakemake")
    if held:
        logger.warning(
            f"Embryo: {LOCKS}/ is kept ({held}); if no Snakemake runs in this directory "
            "on any machine, `snakemake --unlock` releases it"
        )


onstart:
    if workflow.is_main_process:
        record_owner(Path.cwd(), local=workflow.local_exec)
        check_nodes_reachable()


# ---- validation: unknown keys, wrong types, missing files fail here, before any job runs;
# the validated config has its defaults filled in and its keys sorted (embryo.config.schema)
VALIDATED = ec.validate(
    config,
    ec.load_schema(Path(workflow.basedir) / "config" / "schema.yaml"),
    refs_cache=Path(".snakemake") / "embryo-refs.json",
)
config.clear()
config.update(VALIDATED)
CLUSTER = config["cluster"]
DATA_DIR = str(Path(config["data_dir"]).resolve())
BUILTIN_DIR = "results/builtin"
RUNS = config["runs"]
TRAINED = [name for name, run in RUNS.items() if not ec.is_imported(run)]
IMPORTED = [name for name, run in RUNS.items() if ec.is_imported(run)]
STUDENTS = [name for name in TRAINED if RUNS[name].get("teacher") is not None]
# imported series scored on a corpus's validation blocks (runs.<run>.corpus)
SCORED_IMPORTS = [name for name in IMPORTED if RUNS[name].get("corpus")]
# tasks are tokenised once per tokenizer: a trained run's, or an imported run's own
TASK_VOCABS = sorted(config["tokenizers"]) + [f"imported.{r}" for r in IMPORTED]
TRANSFER = config["transferability"]
ANALYSES = config["analyses"]


# ---- at scale (config cluster; none of it changes a result): the Hugging Face caches of
# every job (HF_HOME, inherited by local jobs and by SLURM's, which export this
# environment); the cheap rules run where Snakemake runs (localrules in results.smk), and
# optionally the rules that may need the network (data.smk)
ec.use_cache_dir(CLUSTER["cache_dir"])


def features(path):
    """An all-layer feature cache: deleted once read unless cluster.keep_features."""
    return path if CLUSTER["keep_features"] else temp(path)


def segment_output(path):
    """A pretraining segment's directory, write-protected if cluster.protect_segments."""
    return (
        protected(directory(path)) if CLUSTER["protect_segments"] else directory(path)
    )


def alternatives(names):
    """A wildcard regex matching exactly these names (or nothing)."""
    return "|".join(map(re.escape, sorted(names))) or "(?!)"


wildcard_constraints:
    run=alternatives(RUNS),
    corpus=alternatives(config["corpora"]),
    tokenizer=alternatives(config["tokenizers"]),
    step=r"\d+",
    probe=alternatives(PROBE_TASKS),
    task=alternatives(config["tasks"]),
    vocab=alternatives(TASK_VOCABS),
    n=r"full|\d+",
    reinit=REINIT_SCHEMES,
    seed=r"\d+",
    block=r"\d+",


# ---- code: each rule's params hold the fingerprint of its job script and of the library
# code the script runs (embryo.runtime.fingerprint), so editing that code reruns exactly
# its jobs, and a comment or docstring reruns nothing
# (each file parsed once: later parses hash its bytes and read the parse from the cache)
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
use_cache(Path(".snakemake") / "embryo-fingerprints.json")


def script_path(name):
    return SCRIPTS / f"{name}.py"


def code(name, *extra):
    """The code fingerprint of the rule whose script is workflow/scripts/{name}.py."""
    return fingerprint(*extra, scripts=[script_path(name)])


# ---- paths
def segment_dir(run, step):
    return f"results/{run}/train/step-{step}"


def model_dir(run, step):
    return f"results/{run}/models/step-{step}"


def blocks_dir(run):
    spec = RUNS[run]
    return f"results/data/{ec.run_corpus(config, run)}/{spec['tokenizer']}-block{spec['block_size']}"


def analysed_steps(run, wanted=None):
    """The run's checkpoints that ``wanted`` (default: analyses.steps) selects; None = all."""
    wanted = ANALYSES["steps"] if wanted is None else wanted
    return [s for s in ec.checkpoint_steps(RUNS[run]) if wanted is None or s in wanted]


def finetune_path(run, step, task, n="full", reinit="none", seed=0):
    return f"results/{run}/step-{step}/finetune/{task}/n-{n}/{reinit}/seed-{seed}/metrics.json"


def downstream_outputs():
    """Fine-tuning jobs of the downstream analysis: every task at the chosen steps, reinit none."""
    spec = ANALYSES["downstream"]
    n = spec["train_size"] or "full"
    return [
        finetune_path(run, step, task, n, "none", seed)
        for run in RUNS
        for step in analysed_steps(run, spec["steps"])
        for task in ec.downstream_tasks(config)
        for seed in spec["seeds"]
    ]


def transfer_steps(run):
    """The run's checkpoints in the grid: transferability.steps, or its last one."""
    wanted = TRANSFER["steps"]
    return (
        analysed_steps(run, wanted) if wanted else ec.checkpoint_steps(RUNS[run])[-1:]
    )


def transferability_outputs():
    """Every grid point's job: run x step x each scheme's (task, size, seed) points.

    A scheme that builds the same model as another is that one's job (transfer_points).
    """
    jobs = {}
    for run in ec.transfer_runs(config):
        for scheme, (job, points) in run_points(run).items():
            for step in transfer_steps(run):
                for task, n, seed in points:
                    jobs[finetune_path(run, step, task, n, job, seed)] = None
    return list(jobs)


def run_points(run):
    """{scheme: (its job's scheme, [(task, size, seed), ...])} of one run's grid."""
    repeats = ec.transfer_jobs(config, run)[1]
    return {
        scheme: (repeats.get(scheme, scheme), points)
        for scheme, points in ec.transfer_grid(config, run).items()
    }


def transfer_points(wildcards):
    """Per run, the grid's rows: {run: {scheme: [job's scheme, [[task, size, seed], ...]]}}."""
    if wildcards.analysis != "transferability":
        return {}
    return {
        run: {
            s: [job, [list(p) for p in points]]
            for s, (job, points) in run_points(run).items()
        }
        for run in ec.transfer_runs(config)
    }


def task_probe_outputs():
    return [
        f"results/{run}/step-{step}/task_probe/{task}"
        for run in ec.transfer_runs(config)
        for step in transfer_steps(run)
        for task in ec.transfer_tasks(config)
    ]


def exposure_outputs():
    """Every analysed trained run's LAMA exposure."""
    return [
        f"results/{r}/lama_exposure.csv"
        for r in TRAINED
        if RUNS[r]["analyse"] and analysed_steps(r)
    ]


def checkpoint_outputs(table, pattern=None):
    """A per-checkpoint analysis's outputs (registry: per_checkpoint, or ``pattern`` under
    the checkpoint's folder) at every analysed step."""
    pattern = pattern or registry.TABLE[table].per_checkpoint
    tasks = [None]  # a pattern's {probe} or {edge}: each probing or edge-probing task
    if "{probe}" in pattern:
        tasks = ANALYSES["probing"]["tasks"]
    elif "{edge}" in pattern:
        tasks = list(ANALYSES["edge_probing"]["tasks"])
    return [
        f"results/{run}/step-{step}/{pattern.format(probe=task, edge=task)}"
        for run in RUNS
        if RUNS[run]["analyse"]
        for step in analysed_steps(run)
        for task in tasks
    ]


# what each table of the table rule gathers, when it is not the per-checkpoint analyses'
TABLE_INPUTS = {
    "validation": lambda: [
        f"results/{r}/validation.csv" for r in TRAINED + SCORED_IMPORTS
    ],
    "weights": lambda: [
        f"results/{r}/step-{s}/weights.csv"
        for r in RUNS
        for s in ec.checkpoint_steps(RUNS[r])
    ],
    "lama_exposure": exposure_outputs,
    "downstream": downstream_outputs,
    "transferability": transferability_outputs,
    "task_probe": task_probe_outputs,
}


def analysis_outputs(wildcards):
    """Every per-checkpoint output that one table gathers, across runs and steps."""
    if registry.TABLE[wildcards.analysis].per_checkpoint:
        return checkpoint_outputs(wildcards.analysis)
    return TABLE_INPUTS[wildcards.analysis]()


def gathered_tables():
    """Names of the tables that the table rule writes."""
    return [t.name for t in registry.TABLES if t.rule == "table"]


def figure_options(name):
    """A figure's drawing options (registry), and the axis of one over training."""
    figure = registry.FIGURE[name]
    options = dict(figure.options)
    if figure.over_training:
        options["axis"] = config["figures"]["axis"]
    return options


def caption(name):
    """A table's or figure's caption in the report (embryo.registry)."""
    item = registry.TABLE.get(name) or registry.FIGURE[name]
    return item.caption


def ki_pairs():
    """Each knowledge-inheritance student with its teacher, twin and schedule."""
    pairs = []
    for name, run in RUNS.items():
        if run.get("teacher") is None:
            continue
        ki = settings.segment(config, name, ec.checkpoint_steps(run)[-1]).teacher
        studies = config["inheritance"]["studies"]
        pairs.append(
            {
                "student": name,
                "teacher": ki.run,
                "teacher_step": ki.step,
                "studies": " ".join(s for s, names in studies.items() if name in names),
                **{
                    k: getattr(ki, k)
                    for k in (
                        "twin",
                        "schedule",
                        "alpha",
                        "kd_steps",
                        "temperature",
                        "top_k",
                    )
                },
            }
        )
    return pairs


def ki_runs():
    """The runs the inheritance table compares: students, their twins and teachers."""
    runs = {p[k] for p in ki_pairs() for k in ("student", "twin", "teacher")}
    return sorted(r for r in runs if r is not None)


def facts():
    """What this config does, as the names that registry tables and figures need."""
    out = set()
    if TRAINED:
        out.add("trained")
    if SCORED_IMPORTS:
        out.add("scored_imports")
    if any(run["analyse"] for run in RUNS.values()):
        out.add("analysed")  # some run's checkpoints have the per-checkpoint analyses
    if ANALYSES["lama"]["enabled"] and ANALYSES["lama"]["exposure"]:
        out.add("lama_exposure")
    if ec.downstream_tasks(config):
        out.add("downstream_tasks")
    if TRANSFER["enabled"] and ec.transfer_tasks(config):
        out.add("transfer")
        if TRANSFER["probing"]["enabled"]:
            out.add("transfer_probing")
        for run in ec.transfer_runs(config):
            found = {s.split("-")[0] for s in ec.transfer_schemes(config, run)}
            out |= {f"family:{f}" for f in found}
            if "single" in found and len(transfer_steps(run)) > 1:
                out.add("crossed")
    pairs = ki_pairs()
    if pairs:
        out.add("ki")
    out |= {
        f"ki_study:{s}"
        for s, names in config["inheritance"]["studies"].items()
        if names
    }
    if any(p["twin"] for p in pairs):
        out.add("twin")
    if any(
        analysed_steps(p["student"], ANALYSES["downstream"]["steps"]) for p in pairs
    ):
        out.add("students_downstream")
    if ANALYSES["probing"]["enabled"]:
        out |= {f"probe_task:{t}" for t in ANALYSES["probing"]["tasks"]}
    return out


def holds(needs, known):
    """Whether every need holds; a need ``a|b`` holds when either does."""
    return all(any(alt in known for alt in need.split("|")) for need in needs)


FACTS = facts()


def final_tables():
    """The registry's tables that this config produces, in the registry's order."""
    return [
        t.name
        for t in registry.TABLES
        if (t.config is None or ANALYSES[t.config]["enabled"])
        and (t.per_checkpoint is None or "analysed" in FACTS)
        and holds(t.needs, FACTS)
    ]


TABLES = final_tables()


def figure_names():
    """The registry's figures whose tables and needs this config produces."""
    return [
        f.name
        for f in registry.FIGURES
        if set(f.tables) <= set(TABLES) and holds(f.needs, FACTS)
    ]


def findings_inputs(wildcards):
    """The tables the findings are checked on, as far as this config produces them, and
    the per-item outcomes behind each of them (named by table)."""
    checked = [t for t in TABLES if registry.TABLE[t].findings]
    inputs = {"tables": [f"results/tables/{t}.parquet" for t in checked]}
    inputs |= {t: item_inputs(t) for t in checked if t in findings.ITEMS}
    return inputs


def item_inputs(table):
    """The per-item files behind a table (registry: items); for a per-checkpoint output
    that is a directory, the directory that holds them."""
    item = registry.TABLE[table]
    if item.per_checkpoint:
        inside = item.items.startswith(f"{item.per_checkpoint}/")
        return checkpoint_outputs(table, None if inside else item.items)
    return [str(Path(p).with_name(item.items)) for p in TABLE_INPUTS[table]()]


def report_tables():
    """The tables the provenance file describes: every table but itself."""
    return [t for t in TABLES if t != "provenance"]


def table_code():
    """Per table: the rules from the corpus to it (registry: lineage) and their code."""
    scripts = {r.name: Path(r.script).stem for r in workflow.rules if r.script}
    out = {}
    for name in report_tables():
        table = registry.TABLE[name]
        rules = [*registry.UPSTREAM, *table.lineage, table.rule]
        paths = [script_path(scripts[r]) for r in rules]
        out[name] = {
            "fingerprint": fingerprint(scripts=paths),
            "modules": modules(scripts=paths),
            "rules": {r: code(scripts[r]) for r in rules},
        }
    return out


def run_settings():
    """Each run's settings: a trained run's last segment's (all its checkpoints depend on), an imported run's entry."""
    last = {r: ec.checkpoint_steps(RUNS[r])[-1] for r in TRAINED}
    return {r: ec.as_dict(settings.segment(config, r, last[r])) for r in TRAINED} | {
        r: RUNS[r] for r in IMPORTED
    }


def get_final_output():
    """Every checkpoint of every run, the tables, the figures, the findings, the provenance."""
    models = [model_dir(r, s) for r in RUNS for s in ec.checkpoint_steps(RUNS[r])]
    tables = [
        f"results/tables/{name}.{'json' if name == 'provenance' else 'csv'}"
        for name in TABLES
    ]
    figures = [f"results/figures/{name}.png" for name in figure_names()]
    return models + tables + figures


# ---- input checks: every treebank, LAMA, BLiMP and task file that the produced tables'
# jobs will read (registry: checks) is read whole now, while the workflow is parsed,
# with the readers the jobs use, so that bad input stops the workflow before any job
# starts (embryo.data.checks; cached per file state in .snakemake/embryo-checks.json). A
# job edge to the first segments cannot do this exactly: ancient() inputs make Snakemake
# skip the rerun reasons of everything downstream whenever a check reruns (snakemake#4166),
# and plain inputs would retrain whenever a file is fixed or an analysis switched on.
# Built-in inputs are checked by generate_builtin itself; a Hub task when it is prepared.
def input_checks():
    """The local inputs that the produced tables' jobs read, as embryo.data.checks specs."""
    kinds = {kind for t in TABLES for kind in registry.TABLE[t].checks}
    specs = []
    if "treebank" in kinds and config["treebank"]["source"] == "local":
        specs.append(
            ("treebank", {s: treebank_split(s).path for s in ("train", "test")})
        )
    for kind in ("lama", "blimp"):
        if kind in kinds and ANALYSES[kind]["source"] == "local":
            specs.append((kind, analysis_root(kind)))
    if "edges" in kinds and ANALYSES["edge_probing"]["source"] == "local":
        specs.append(
            ("edges", {t: edge_files(t) for t in ANALYSES["edge_probing"]["tasks"]})
        )
    tasks = set(ec.downstream_tasks(config)) if "downstream_tasks" in kinds else set()
    tasks |= set(ec.transfer_tasks(config)) if "transfer_tasks" in kinds else set()
    for task in sorted(tasks):
        if config["tasks"][task]["source"] == "local":
            specs.append(
                (
                    "task",
                    {"name": task, "spec": config["tasks"][task], "root": DATA_DIR},
                )
            )
    return specs


# ---- input functions
def source_root(spec):
    """Where a source's relative file names point: the built-in mirror or data_dir."""
    return BUILTIN_DIR if spec["source"] == "builtin" else DATA_DIR


def mix_parts(wildcards):
    """The prepared directories of a mix corpus's parts (none for other corpora)."""
    spec = config["corpora"][wildcards.corpus]
    parts = spec.get("parts", []) if spec["source"] == "mix" else []
    return [f"results/corpora/{p}" for p in parts]


def corpus_files(wildcards):
    spec = config["corpora"][wildcards.corpus]
    if spec["source"] == "builtin":
        return [BUILTIN_DIR]
    if spec["source"] == "mix":
        parts = mix_parts(wildcards)
        return [f"{d}/{s}.parquet" for d in parts for s in ("train", "validation")]
    return input_files(spec, DATA_DIR)


def tokenizer_corpus(wildcards):
    corpus = config["tokenizers"][wildcards.tokenizer]["corpus"]
    return f"results/corpora/{corpus}/train.parquet"


def segment_inputs(wildcards):
    """A segment needs the tokenized data, the tokenizer and its predecessor's state."""
    run, step = wildcards.run, int(wildcards.step)
    inputs = {
        "blocks": blocks_dir(run),
        "tokenizer": f"results/tokenizers/{RUNS[run]['tokenizer']}",
    }
    previous = ec.resumes_from(config, run, step)  # a branch's first: its parent's
    if previous is not None:
        inputs["previous"] = segment_dir(*previous)
    # a grown run's step 0 is the source's checkpoint; a student's later steps need the teacher
    for name, link, needed in (
        ("source", "grow_from", step == 0),
        ("teacher", "teacher", step > 0),
    ):
        linked = ec.linked_checkpoint(config, run, link)
        if linked is not None and needed:
            inputs[name] = model_dir(*linked)
    return inputs


def segment_rule(run, step):
    """Which rule trains the segment of a run ending at ``step`` (a student's own after step 0)."""
    return "pretrain_student" if run in STUDENTS and step > 0 else "pretrain"


def segment_parent(run, step):
    """Where an exported checkpoint's weights come from (its manifest): the segment that
    trained them and the segment it resumed from."""
    previous = ec.resumes_from(config, run, step)
    return {
        "segment": segment_dir(run, step),
        "previous": None if previous is None else segment_dir(*previous),
    }


def replay_settings(run):
    """What decides a run's batches: batch size, data-order seed, total steps."""
    last = settings.segment(config, run, ec.checkpoint_steps(RUNS[run])[-1])
    return {
        "batch_size": last.optimizer.batch_size,
        "seed": last.seeds.data_order,
        "total_steps": last.optimizer.total_steps,
    }


def replay_inputs(wildcards):
    """A replayed step's blocks, prepared corpus and tokenizer: those of the run that drew it."""
    run = ec.drawn_by(config, wildcards.run, int(wildcards.step))
    return {
        "blocks": blocks_dir(run),
        "corpus": f"results/corpora/{ec.run_corpus(config, run)}/train.parquet",
        "tokenizer": f"results/tokenizers/{RUNS[run]['tokenizer']}",
    }


def data_spans(run):
    """The batches a trained run's steps drew, oldest first, as embryo.embryology.exposure
    spans: [blocks, after, through, batch_size, seed] (ec.data_spans)."""
    spans = []
    for r, after, through in ec.data_spans(config, run):
        order = replay_settings(r)
        spans.append(
            [blocks_dir(r), after, through, order["batch_size"], order["seed"]]
        )
    return spans


def exposure_inputs(wildcards):
    """LAMA exposure's inputs: the run's LAMA items at every analysed step, and the blocks
    and tokenizer of every run whose batches its steps drew (data_spans)."""
    runs = [r for r, _, _ in ec.data_spans(config, wildcards.run)]
    return {
        "lama": [
            f"results/{wildcards.run}/step-{s}/lama.items.parquet"
            for s in analysed_steps(wildcards.run)
        ],
        "blocks": [blocks_dir(r) for r in runs],
        "tokenizers": [f"results/tokenizers/{RUNS[r]['tokenizer']}" for r in runs],
    }


def release_inputs(wildcards):
    """A released step's checkpoint and, where that step was analysed, its LAMA and BLiMP
    summaries (the model card's headline numbers)."""
    run, step = wildcards.run, int(wildcards.step)
    inputs = {"model": model_dir(run, step)}
    if RUNS[run]["analyse"] and step in analysed_steps(run):
        for name in ("lama", "blimp"):
            if ANALYSES[name]["enabled"]:
                inputs[name] = f"results/{run}/step-{step}/{name}.csv"
    return inputs


def imported_run(name):
    """What an imported run's series check and imports read of its entry: the import
    spec, the seed its templates may name, the family it declares."""
    return {k: RUNS[name].get(k) for k in ("import", "seed", "architecture")}


def series_sources(wildcards):
    """A local imported series' step directories (a Hub series is read from the Hub)."""
    run = RUNS[wildcards.run]
    sources = [
        step_source(wildcards.run, run, step, DATA_DIR)
        for step in ec.checkpoint_steps(run)
        if not run["import"].get("refs")
    ]
    return [s["path"] for s in sources if "path" in s]


def treebank_root():
    return source_root(config["treebank"])


def treebank_split(split):
    """The settings of a treebank split (train or test): its file and sentence cap."""
    return settings.treebank(config, split, treebank_root())


def treebank_input(*splits):
    """The treebank files as a job input (the built-in mirror, when it is generated)."""
    if config["treebank"]["source"] == "builtin":
        return [BUILTIN_DIR]
    return [treebank_split(split).path for split in splits]


def analysis_root(name):
    spec = ANALYSES[name]
    return str(Path(source_root(spec)) / spec["dir"])


def analysis_input(name):
    spec = ANALYSES[name]
    return [BUILTIN_DIR] if spec["source"] == "builtin" else [analysis_root(name)]


def edge_files(task):
    """An edge-probing task's files: {train, test} paths (analyses.edge_probing.tasks)."""
    spec = ANALYSES["edge_probing"]
    root = Path(source_root(spec))
    return {split: str(root / path) for split, path in spec["tasks"][task].items()}


def edge_input(wildcards):
    spec = ANALYSES["edge_probing"]
    if spec["source"] == "builtin":
        return [BUILTIN_DIR]
    return list(edge_files(wildcards.edge).values())


def run_segments(wildcards):
    """What a run's validation curve reads: its segments, or an imported series' scores."""
    run, steps = wildcards.run, ec.checkpoint_steps(RUNS[wildcards.run])
    if run in IMPORTED:
        return [f"results/{run}/step-{s}/validation.json" for s in steps]
    return [segment_dir(run, s) for s in steps]


def imported_blocks(run):
    """The validation blocks of an imported series: its corpus in its own tokenizer."""
    spec = RUNS[run]
    return f"results/data/{spec['corpus']}/{task_vocab(run)}-block{spec['block_size']}"


def imported_validation(run):
    """How an imported series' checkpoints are scored (as a trained run's evaluation)."""
    spec = RUNS[run]
    return {
        "seed": spec["seed"],
        "probability": spec["objective"]["mlm_probability"],
        "batch_size": spec["evaluation"]["batch_size"],
        "max_blocks": spec["evaluation"]["max_blocks"],
    }


def task_vocab(run):
    """The key of the tokenizer a run's tasks are tokenised with."""
    return RUNS[run]["tokenizer"] if run in TRAINED else f"imported.{run}"


def vocab_dir(vocab):
    """A tokenizer directory: a trained tokenizer, or an imported run's first checkpoint."""
    if vocab in config["tokenizers"]:
        return f"results/tokenizers/{vocab}"
    run = vocab.removeprefix("imported.")
    return model_dir(run, ec.checkpoint_steps(RUNS[run])[0])


def vocab_source(wildcards):
    return vocab_dir(wildcards.vocab)


def lama_vocabularies(wildcards):
    """With analyses.lama.common_vocabulary: the tokenizer directory of every run (their
    common vocabulary decides the facts scored); else nothing."""
    if not ANALYSES["lama"]["common_vocabulary"]:
        return []
    return [vocab_dir(key) for key in sorted({task_vocab(run) for run in RUNS})]


def task_inputs(wildcards):
    """A fine-tuning job's prepared task and, for a subset of n rows of a Hub or built-in
    task, the check that the prepared task has n rows (rule task_sizes, one job per task,
    vocabulary and n: the size is in its path, not its params, so no change of sizes
    reruns a check or a fine-tuning job; a local task's file is checked at parse time).
    One input function for both: Snakemake's cost per function call is most of what a
    fine-tuning job adds to building the graph (benchmarks/graph.py)."""
    vocab = task_vocab(wildcards.run)
    inputs = {"task": f"results/tasks/{wildcards.task}/{vocab}", "sizes": []}
    if wildcards.n != "full" and config["tasks"][wildcards.task]["source"] != "local":
        inputs["sizes"] = (
            f"results/task_sizes/{wildcards.task}/{vocab}/n-{wildcards.n}.json"
        )
    return inputs


def task_input(wildcards):
    """The task's files as a job input (the built-in mirror, local files, or none for hub)."""
    spec = config["tasks"][wildcards.task]
    if spec["source"] == "builtin":
        return [BUILTIN_DIR]
    if spec["source"] == "local":
        return [str(Path(DATA_DIR) / spec[split]) for split in ("train", "dev")]
    return []


# ---- cluster resources: what a job asks a scheduler for (profiles/slurm); a local run
# ignores them. Each key comes from config resources.<rule>, else (for a student's
# segments) resources.pretrain, else resources.default, else RESOURCE_DEFAULTS; runtime
# (minutes) and mem_mb grow with a retry's attempt number.
RESOURCE_DEFAULTS = {
    "runtime": 60,
    "mem_mb": 4000,
    "gpu": 0,
    "gpu_mem_mb": None,
    "nodes": 1,
}
# the rules whose jobs may span nodes (embryo.train.launch)
MULTI_NODE = ("pretrain", "pretrain_student")


# a rule that asks for what another asks for, unless the config names it itself
RESOURCE_PARENT = {"pretrain_student": "pretrain"}


def wanted_resources(rule):
    spec = config.get("resources") or {}
    wanted = dict(RESOURCE_DEFAULTS)
    for given in (
        spec.get("default"),
        spec.get(RESOURCE_PARENT.get(rule)),
        spec.get(rule),
    ):
        wanted.update({k: v for k, v in (given or {}).items() if v is not None})
    return wanted


def stated_mem_mb(rule):
    """The mem_mb the config states for a rule's jobs (its own, its parent's, the
    default), None where it states none."""
    spec = config.get("resources") or {}
    for given in (
        spec.get(rule),
        spec.get(RESOURCE_PARENT.get(rule)),
        spec.get("default"),
    ):
        if (given or {}).get("mem_mb") is not None:
            return given["mem_mb"]
    return None


def cluster_resources(rule):
    """runtime, mem_mb, cpus_per_task (the job's threads) and, if asked, gpu of a rule's
    jobs; over several nodes, one task a node (the job's own srun starts them: mpi) and
    the GPUs of each node as GRES."""
    wanted = wanted_resources(rule)
    resources = {
        "runtime": lambda wildcards, attempt: wanted["runtime"] * attempt,
        "mem_mb": lambda wildcards, attempt: wanted["mem_mb"] * attempt,
        "cpus_per_task": lambda wildcards, threads: threads,
    }
    if wanted["nodes"] > 1:
        nodes = wanted["nodes"]
        # tasks_per_gpu 0: the plugin would otherwise ask --ntasks-per-gpu=tasks
        resources |= {"nodes": nodes, "tasks": nodes, "mpi": "srun", "tasks_per_gpu": 0}
        if wanted["gpu"]:
            resources["gres"] = f"gpu:{wanted['gpu']}"
    elif wanted["gpu"]:
        resources["gpu"] = wanted["gpu"]
    return resources


def segment_processes(run, rule):
    """The data-parallel processes of a run's segments under a rule: the run's
    ``processes``, else one a GPU of the rule's job (on all its nodes)."""
    wanted = wanted_resources(rule)
    return ec.segment_processes(RUNS[run], wanted["gpu"] * wanted["nodes"])


def segment_rules(run):
    """The rules that run a trained run's segments: pretrain, and a student's after step 0."""
    return ["pretrain"] + (["pretrain_student"] if run in STUDENTS else [])


def check_workflow():
    """Before any job (every rule defined by now), each resources key must name a rule of
    this workflow, and every input file that a job will read must be well formed."""
    check_resources()
    settings.check_tracking(config)
    if workflow.is_main_process:
        check_inputs(input_checks(), cache=Path(".snakemake") / "embryo-checks.json")
        save_cache()


def check_nodes_reachable():
    """Segments over several nodes run from a cluster executor or inside an allocation
    (at the start of a run: parse time does not know the executor yet)."""
    spanning = [rule for rule in MULTI_NODE if wanted_resources(rule)["nodes"] > 1]
    if spanning and workflow.local_exec and "SLURM_JOB_ID" not in os.environ:
        raise EmbryoError(
            f"config: resources.{spanning[0]}.nodes is "
            f"{wanted_resources(spanning[0])['nodes']}, but this run executes locally "
            "outside a SLURM allocation: submit it with --profile profiles/slurm, run it "
            "inside salloc, or set nodes to 1"
        )


def check_resources():
    """resources.<rule> must name a rule of this workflow; only segments span nodes, over
    which their processes split evenly; every micro-batch fits the GPU memory stated
    (embryo.config.memory)."""
    rules = {r.name for r in workflow.rules}
    given = config.get("resources") or {}
    unknown = sorted(set(given) - rules - {"default"})
    if unknown:
        raise EmbryoError(
            f"config: invalid configuration\n  resources: unknown rule(s) {unknown}; "
            f"expected default or one of: {', '.join(sorted(rules))}"
        )
    for name in sorted(rules):
        nodes = wanted_resources(name)["nodes"]
        if nodes > 1 and name not in MULTI_NODE:
            raise EmbryoError(
                f"config: resources.{name}.nodes is {nodes}: only {' and '.join(MULTI_NODE)} "
                "jobs span nodes"
            )
    for run in TRAINED:
        for name in segment_rules(run):
            nodes, processes = wanted_resources(name)["nodes"], segment_processes(
                run, name
            )
            if processes % nodes:
                raise EmbryoError(
                    f"config: runs.{run}: {processes} processes do not split evenly over the "
                    f"{nodes} nodes of resources.{name}.nodes"
                )
    check_gpu_memory(config, wanted_resources)
    check_cpu_memory(config, wanted_resources, stated_mem_mb)
