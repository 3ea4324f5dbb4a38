import re
from pathlib import Path

import embryo.config as ec
from embryo.corpus import input_files
from embryo.fingerprint import fingerprint

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


def alternatives(names):
    """A wildcard regex matching exactly these names (or nothing)."""
    return "|".join(map(re.escape, sorted(names))) or "(?!)"


wildcard_constraints:
    run=alternatives(RUNS),
    corpus=alternatives(config["corpora"]),
    tokenizer=alternatives(config["tokenizers"]),
    step=r"\d+",
    block=r"\d+",


# ---- paths
def segment_dir(run, step):
    return f"results/{run}/train/step-{step}"


def model_dir(run, step):
    return f"results/{run}/models/step-{step}"


def blocks_dir(run):
    spec = RUNS[run]
    return f"results/data/{ec.run_corpus(config, run)}/{spec['tokenizer']}-block{spec['block_size']}"


def get_final_output():
    """Every checkpoint of every run, and the validation curve of every trained run."""
    models = [model_dir(r, s) for r in RUNS for s in ec.checkpoint_steps(RUNS[r])]
    return models + [f"results/{r}/validation.csv" for r in TRAINED]


# ---- input functions
def source_root(spec):
    """Where a source's relative file names point: the built-in mirror or data_dir."""
    return BUILTIN_DIR if spec["source"] == "builtin" else DATA_DIR


def corpus_files(wildcards):
    spec = config["corpora"][wildcards.corpus]
    if spec["source"] == "builtin":
        return [BUILTIN_DIR]
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
    return inputs


def run_segments(wildcards):
    return [
        segment_dir(wildcards.run, s) for s in ec.checkpoint_steps(RUNS[wildcards.run])
    ]
