import re
from pathlib import Path

import embryo.config as ec
from embryo.corpus import input_files
from embryo.figures import FIGURE_FAMILIES, FIGURES, figure_tables
from embryo.fingerprint import fingerprint
from embryo.locks import release_stale_locks
from embryo import provenance
from embryo.findings import TABLES as FINDINGS_TABLES
from embryo.report import overview, section
from embryo.reinit import WILDCARD as REINIT_SCHEMES

# ---- a run killed with SIGKILL leaves its lock: released when no Snakemake works here
if workflow.is_main_process:
    for lock in release_stale_locks(Path.cwd()):
        logger.warning(f"Embryo: released {lock}, left by a killed Snakemake")

# ---- validation: unknown keys, wrong types, missing files fail here, before any job runs
config.update(
    ec.validate(
        config, ec.load_schema(Path(workflow.basedir) / "config" / "schema.yaml")
    )
)
DATA_DIR = str(Path(config["data_dir"]).resolve())
BUILTIN_DIR = "results/builtin"
RUNS = config["runs"]
TRAINED = [name for name, run in RUNS.items() if not ec.is_imported(run)]
IMPORTED = [name for name, run in RUNS.items() if ec.is_imported(run)]
# tasks are tokenised once per tokenizer: a trained run's, or an imported run's own
TASK_VOCABS = sorted(config["tokenizers"]) + [f"imported.{r}" for r in IMPORTED]


def alternatives(names):
    """A wildcard regex matching exactly these names (or nothing)."""
    return "|".join(map(re.escape, sorted(names))) or "(?!)"


wildcard_constraints:
    run=alternatives(RUNS),
    corpus=alternatives(config["corpora"]),
    tokenizer=alternatives(config["tokenizers"]),
    step=r"\d+",
    probe="upos|xpos|deprel",
    task=alternatives(config["tasks"]),
    vocab=alternatives(TASK_VOCABS),
    n=r"full|\d+",
    reinit=REINIT_SCHEMES,
    seed=r"\d+",
    block=r"\d+",


# ---- paths
def segment_dir(run, step):
    return f"results/{run}/train/step-{step}"


def model_dir(run, step):
    return f"results/{run}/models/step-{step}"


def blocks_dir(run):
    spec = RUNS[run]
    return f"results/data/{ec.run_corpus(config, run)}/{spec['tokenizer']}-block{spec['block_size']}"


ANALYSES = [
    name
    for name in ("mlm_pos", "probe", "lama", "blimp", "downstream")
    if config["analyses"]["probing" if name == "probe" else name]["enabled"]
    and (name != "downstream" or ec.downstream_tasks(config))
]
TRANSFER = config["transferability"]
if TRANSFER["enabled"] and ec.transfer_tasks(config):
    ANALYSES += ["transferability"] + ["task_probe"] * TRANSFER["probing"]["enabled"]


def analysed_steps(run, wanted=None):
    """The run's checkpoints that ``wanted`` (default: analyses.steps) selects; None = all."""
    wanted = config["analyses"]["steps"] if wanted is None else wanted
    return [s for s in ec.checkpoint_steps(RUNS[run]) if wanted is None or s in wanted]


def finetune_path(run, step, task, n="full", reinit="none", seed=0):
    return f"results/{run}/step-{step}/finetune/{task}/n-{n}/{reinit}/seed-{seed}/metrics.json"


def downstream_outputs():
    """Fine-tuning jobs of the downstream analysis: every task at the chosen steps, reinit none."""
    spec = config["analyses"]["downstream"]
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
    """Every grid point: run x step x task x size x scheme x seed, one job each.

    A scheme that builds the same model as another is that one's job (scheme_repeats).
    """
    return [
        finetune_path(run, step, task, n, scheme, seed)
        for run in ec.transfer_runs(config)
        for step in transfer_steps(run)
        for task in ec.transfer_tasks(config)
        for n in TRANSFER["train_sizes"]
        for scheme in ec.transfer_jobs(config, run)[0]
        for seed in TRANSFER["seeds"]
    ]


def scheme_repeats(wildcards):
    """Per run, the grid's schemes whose rows repeat another's job: {run: {scheme: job's}}."""
    if wildcards.analysis != "transferability":
        return {}
    return {run: ec.transfer_jobs(config, run)[1] for run in ec.transfer_runs(config)}


def task_probe_outputs():
    return [
        f"results/{run}/step-{step}/task_probe/{task}"
        for run in ec.transfer_runs(config)
        for step in transfer_steps(run)
        for task in ec.transfer_tasks(config)
    ]


def analysis_outputs(wildcards):
    """Every per-checkpoint output of one analysis, across runs and steps."""
    if wildcards.analysis == "validation":
        return [f"results/{r}/validation.csv" for r in TRAINED]
    if wildcards.analysis == "downstream":
        return downstream_outputs()
    if wildcards.analysis == "transferability":
        return transferability_outputs()
    if wildcards.analysis == "task_probe":
        return task_probe_outputs()
    out = []
    for run in RUNS:
        for step in analysed_steps(run):
            base = f"results/{run}/step-{step}"
            if wildcards.analysis == "probe":
                out += [
                    f"{base}/probe/{t}" for t in config["analyses"]["probing"]["tasks"]
                ]
            else:
                out.append(f"{base}/{wildcards.analysis}.csv")
    return out


def transfer_families():
    """Scheme families in the grid, and whether single-layer schemes span two steps."""
    families, crossed = set(), False
    for run in ec.transfer_runs(config):
        found = {s.split("-")[0] for s in ec.transfer_schemes(config, run)}
        families |= found
        crossed |= "single" in found and len(transfer_steps(run)) > 1
    return families, crossed


def ki_pairs():
    """Each knowledge-inheritance student with its teacher, twin and schedule."""
    pairs = []
    for name, run in RUNS.items():
        if run.get("teacher") is None:
            continue
        settings = ec.segment_settings(config, name, ec.checkpoint_steps(run)[-1])
        spec = settings["teacher"]
        pairs.append(
            {
                "student": name,
                "teacher": spec["run"],
                "teacher_step": spec["step"],
                **{
                    k: spec[k]
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


def figure_names():
    """The figures whose tables this config produces."""
    tables = set(ANALYSES) | ({"validation"} if TRAINED else set())
    tables |= {"inheritance"} if ki_pairs() else set()
    families, crossed = set(), False
    if "transferability" in tables:
        tables.add("transfer_summary")
        families, crossed = transfer_families()
    probes = config["analyses"]["probing"]["tasks"]
    names = []
    for name in FIGURES:
        if not set(figure_tables(name)) <= tables:
            continue
        if name.startswith("probe_") and name.removeprefix("probe_") not in probes:
            continue
        if name in FIGURE_FAMILIES and not FIGURE_FAMILIES[name] & families:
            continue
        if name == "transfer_crossed" and not crossed:
            continue
        if name == "ki_saving" and not any(p["twin"] for p in ki_pairs()):
            continue
        if name == "ki_downstream" and not any(
            analysed_steps(p["student"], config["analyses"]["downstream"]["steps"])
            for p in ki_pairs()
        ):
            continue
        names.append(name)
    return names


def final_tables():
    """The names of the tables this config produces (results/tables/{name}.csv)."""
    names = ANALYSES + ["validation"] * bool(TRAINED)
    if "transferability" in ANALYSES:
        names += ["transfer_summary", "scrambling"]
    return names + ["inheritance"] * bool(ki_pairs())


def report_tables():
    """The tables and the findings: what the provenance file describes."""
    return final_tables() + ["findings"]


def findings_tables(wildcards):
    """The tables the findings are checked on, as far as this config produces them."""
    return [
        f"results/tables/{t}.parquet" for t in final_tables() if t in FINDINGS_TABLES
    ]


def run_settings():
    """Each run's settings: a trained run's last segment's (all its checkpoints depend on), an imported run's entry."""
    last = {r: ec.checkpoint_steps(RUNS[r])[-1] for r in TRAINED}
    return {r: ec.segment_settings(config, r, last[r]) for r in TRAINED} | {
        r: RUNS[r] for r in IMPORTED
    }


def get_final_output():
    """Every checkpoint of every run, the tables, the figures, the findings, the provenance."""
    models = [model_dir(r, s) for r in RUNS for s in ec.checkpoint_steps(RUNS[r])]
    tables = [f"results/tables/{name}.csv" for name in final_tables()]
    tables += ["results/tables/findings.csv", "results/tables/provenance.json"]
    figures = [f"results/figures/{name}.png" for name in figure_names()]
    return models + tables + figures


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
    previous = ec.previous_step(RUNS[run], step)
    if previous is not None:
        inputs["previous"] = segment_dir(run, previous)
    # a grown run's step 0 is the source's checkpoint; a student's later steps need the teacher
    for name, link, needed in (
        ("source", "grow_from", step == 0),
        ("teacher", "teacher", step > 0),
    ):
        linked = ec.linked_checkpoint(config, run, link)
        if linked is not None and needed:
            inputs[name] = model_dir(*linked)
    return inputs


def _root(source):
    return BUILTIN_DIR if source == "builtin" else DATA_DIR


def treebank_settings(split):
    """Path and sentence cap of a treebank split (train or test)."""
    tb = config["treebank"]
    return {
        "path": str(Path(_root(tb["source"])) / tb[split]),
        "max_sentences": tb["max_sentences"][split],
    }


def treebank_input(split):
    """The treebank file as a job input (the built-in mirror, when it is generated)."""
    tb = config["treebank"]
    return (
        [BUILTIN_DIR]
        if tb["source"] == "builtin"
        else [treebank_settings(split)["path"]]
    )


def analysis_root(name):
    spec = config["analyses"][name]
    return str(Path(_root(spec["source"])) / spec["dir"])


def analysis_input(name):
    spec = config["analyses"][name]
    return [BUILTIN_DIR] if spec["source"] == "builtin" else [analysis_root(name)]


def run_segments(wildcards):
    return [
        segment_dir(wildcards.run, s) for s in ec.checkpoint_steps(RUNS[wildcards.run])
    ]


def task_vocab(run):
    """The key of the tokenizer a run's tasks are tokenised with."""
    return RUNS[run]["tokenizer"] if run in TRAINED else f"imported.{run}"


def vocab_source(wildcards):
    """A tokenizer directory: a trained tokenizer, or an imported run's first checkpoint."""
    if wildcards.vocab in config["tokenizers"]:
        return f"results/tokenizers/{wildcards.vocab}"
    run = wildcards.vocab.removeprefix("imported.")
    return model_dir(run, ec.checkpoint_steps(RUNS[run])[0])


def task_input(wildcards):
    """The task's files as a job input (the built-in mirror, local files, or none for hub)."""
    spec = config["tasks"][wildcards.task]
    if spec["source"] == "builtin":
        return [BUILTIN_DIR]
    if spec["source"] == "local":
        return [str(Path(DATA_DIR) / spec[split]) for split in ("train", "dev")]
    return []


# ---- cluster resources: what a job asks a scheduler for (profiles/slurm); a local run
# ignores them. Each key comes from config resources.<rule>, else resources.default, else
# RESOURCE_DEFAULTS; runtime (minutes) and mem_mb grow with a retry's attempt number.
RESOURCE_DEFAULTS = {"runtime": 60, "mem_mb": 4000, "gpu": 0}


def cluster_resources(rule):
    """runtime, mem_mb, cpus_per_task (the job's threads) and, if asked, gpu of a rule's jobs."""
    spec = config.get("resources") or {}
    wanted = dict(RESOURCE_DEFAULTS)
    for given in (spec.get("default"), spec.get(rule)):
        wanted.update({k: v for k, v in (given or {}).items() if v is not None})
    resources = {
        "runtime": lambda wildcards, attempt: wanted["runtime"] * attempt,
        "mem_mb": lambda wildcards, attempt: wanted["mem_mb"] * attempt,
        "cpus_per_task": lambda wildcards, threads: threads,
    }
    if wanted["gpu"]:
        resources["gpu"] = wanted["gpu"]
    return resources
