# Shared by all the rules files: the validated config, the wildcard constraints, the paths
# and the input functions (get_*: they take a job's wildcards). Which outputs exist is
# targets.smk's; what a job asks a cluster for, resources.smk's; the code fingerprint in
# every rule's params, fingerprints.smk's; the checks before any job, checks.smk's.
import re
from pathlib import Path

import embryo.config as ec
from embryo import registry
from embryo.config import settings, targets
from embryo.data.corpus import input_files
from embryo.embryology.probing import TASKS as PROBE_TASKS
from embryo.train.series import step_source
from embryo.transfer.reinit import WILDCARD as REINIT_SCHEMES

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
TRAINED = targets.trained(config)
IMPORTED = targets.imported(config)
STUDENTS = [name for name in TRAINED if RUNS[name].get("teacher") is not None]
# imported series scored on a corpus's validation blocks (runs.<run>.corpus)
SCORED_IMPORTS = targets.scored_imports(config)
# tasks are tokenised once per tokenizer: a trained run's, or an imported run's own
TASK_VOCABS = sorted(config["tokenizers"]) + [f"imported.{r}" for r in IMPORTED]
TRANSFER = config["transferability"]
ANALYSES = config["analyses"]


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


# ---- paths and the steps analysed
# ---- paths
def segment_dir(run, step):
    return f"results/{run}/train/step-{step}"


def model_dir(run, step):
    return f"results/{run}/models/step-{step}"


def blocks_dir(run):
    spec = RUNS[run]
    return f"results/data/{ec.run_corpus(config, run)}/{spec['tokenizer']}-block{spec['block_size']}"


def finetune_path(run, step, task, n="full", reinit="none", seed=0):
    return f"results/{run}/step-{step}/finetune/{task}/n-{n}/{reinit}/seed-{seed}/metrics.json"


def analysed_steps(run, wanted=None):
    """The run's checkpoints that ``wanted`` (default: analyses.steps) selects; None = all."""
    return targets.analysed_steps(config, run, wanted)


def transfer_steps(run):
    """The run's checkpoints in the grid: transferability.steps, or its last one."""
    return targets.transfer_steps(config, run)


# ---- input functions
def source_root(spec):
    """Where a source's relative file names point: the built-in mirror or data_dir."""
    return BUILTIN_DIR if spec["source"] == "builtin" else DATA_DIR


def treebank_settings(split):
    """The settings of a treebank split (train or test): its file and sentence cap."""
    return settings.treebank(config, split, source_root(config["treebank"]))


def analysis_root(name):
    spec = ANALYSES[name]
    return str(Path(source_root(spec)) / spec["dir"])


def edge_paths(task):
    """An edge-probing task's files: {train, test} paths (analyses.edge_probing.tasks)."""
    spec = ANALYSES["edge_probing"]
    root = Path(source_root(spec))
    return {split: str(root / path) for split, path in spec["tasks"][task].items()}


def task_vocab(run):
    """The key of the tokenizer a run's tasks are tokenised with."""
    return RUNS[run]["tokenizer"] if run in TRAINED else f"imported.{run}"


def vocab_dir(vocab):
    """A tokenizer directory: a trained tokenizer, or an imported run's first checkpoint."""
    if vocab in config["tokenizers"]:
        return f"results/tokenizers/{vocab}"
    run = vocab.removeprefix("imported.")
    return model_dir(run, ec.checkpoint_steps(RUNS[run])[0])


def imported_blocks(run):
    """The validation blocks of an imported series: its corpus in its own tokenizer."""
    spec = RUNS[run]
    return f"results/data/{spec['corpus']}/{task_vocab(run)}-block{spec['block_size']}"


# ---- what a job's params carry of other runs and steps
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


def imported_run(name):
    """What an imported run's series check and imports read of its entry: the import
    spec, the seed its templates may name, the family it declares."""
    return {k: RUNS[name].get(k) for k in ("import", "seed", "architecture")}


def imported_validation(run):
    """How an imported series' checkpoints are scored (as a trained run's evaluation)."""
    spec = RUNS[run]
    return {
        "seed": spec["seed"],
        "probability": spec["objective"]["mlm_probability"],
        "batch_size": spec["evaluation"]["batch_size"],
        "max_blocks": spec["evaluation"]["max_blocks"],
    }


# ---- the files a job reads: fixed lists, and the input functions (get_*)
def treebank_files(*splits):
    """The treebank files as a job input (the built-in mirror, when it is generated)."""
    if config["treebank"]["source"] == "builtin":
        return [BUILTIN_DIR]
    return [treebank_settings(split).path for split in splits]


def analysis_files(name):
    """LAMA's or BLiMP's files as a job input (the built-in mirror, or its directory)."""
    spec = ANALYSES[name]
    return [BUILTIN_DIR] if spec["source"] == "builtin" else [analysis_root(name)]


def get_mix_parts(wildcards):
    """The prepared directories of a mix corpus's parts (none for other corpora)."""
    spec = config["corpora"][wildcards.corpus]
    parts = spec.get("parts", []) if spec["source"] == "mix" else []
    return [f"results/corpora/{p}" for p in parts]


def get_corpus_files(wildcards):
    spec = config["corpora"][wildcards.corpus]
    if spec["source"] == "builtin":
        return [BUILTIN_DIR]
    if spec["source"] == "mix":
        parts = get_mix_parts(wildcards)
        return [f"{d}/{s}.parquet" for d in parts for s in ("train", "validation")]
    return input_files(spec, DATA_DIR)


def get_tokenizer_corpus(wildcards):
    corpus = config["tokenizers"][wildcards.tokenizer]["corpus"]
    return f"results/corpora/{corpus}/train.parquet"


def get_segment_inputs(wildcards):
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


def get_replay_inputs(wildcards):
    """A replayed step's blocks, prepared corpus and tokenizer: those of the run that drew it."""
    run = ec.drawn_by(config, wildcards.run, int(wildcards.step))
    return {
        "blocks": blocks_dir(run),
        "corpus": f"results/corpora/{ec.run_corpus(config, run)}/train.parquet",
        "tokenizer": f"results/tokenizers/{RUNS[run]['tokenizer']}",
    }


def get_exposure_inputs(wildcards):
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


def get_release_inputs(wildcards):
    """A released step's checkpoint and, where that step was analysed, its LAMA and BLiMP
    summaries (the model card's headline numbers)."""
    run, step = wildcards.run, int(wildcards.step)
    inputs = {"model": model_dir(run, step)}
    if RUNS[run]["analyse"] and step in analysed_steps(run):
        for name in ("lama", "blimp"):
            if ANALYSES[name]["enabled"]:
                inputs[name] = f"results/{run}/step-{step}/{name}.csv"
    return inputs


def get_series_sources(wildcards):
    """A local imported series' step directories (a Hub series is read from the Hub)."""
    run = RUNS[wildcards.run]
    sources = [
        step_source(wildcards.run, run, step, DATA_DIR)
        for step in ec.checkpoint_steps(run)
        if not run["import"].get("refs")
    ]
    return [s["path"] for s in sources if "path" in s]


def get_edge_files(wildcards):
    spec = ANALYSES["edge_probing"]
    if spec["source"] == "builtin":
        return [BUILTIN_DIR]
    return list(edge_paths(wildcards.edge).values())


def get_run_segments(wildcards):
    """What a run's validation curve reads: its segments, or an imported series' scores."""
    run, steps = wildcards.run, ec.checkpoint_steps(RUNS[wildcards.run])
    if run in IMPORTED:
        return [f"results/{run}/step-{s}/validation.json" for s in steps]
    return [segment_dir(run, s) for s in steps]


def get_vocab_dir(wildcards):
    return vocab_dir(wildcards.vocab)


def get_lama_vocabularies(wildcards):
    """With analyses.lama.common_vocabulary: the tokenizer directory of every run (their
    common vocabulary decides the facts scored); else nothing."""
    if not ANALYSES["lama"]["common_vocabulary"]:
        return []
    return [vocab_dir(key) for key in sorted({task_vocab(run) for run in RUNS})]


def get_finetune_inputs(wildcards):
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


def get_task_files(wildcards):
    """The task's files as a job input (the built-in mirror, local files, or none for hub)."""
    spec = config["tasks"][wildcards.task]
    if spec["source"] == "builtin":
        return [BUILTIN_DIR]
    if spec["source"] == "local":
        return [str(Path(DATA_DIR) / spec[split]) for split in ("train", "dev")]
    return []
