"""Every input is checked before anything trains: each kind of bad input stops the workflow
with its file and line (or its config key), and no job has started.

The inputs are the built-in language's files written as a local data mirror, with one
file broken per case; the workflow is started for real (not a dry run).
"""

from __future__ import annotations

import copy
import re
import shutil

import pytest

from .helpers import config_for, snakemake

pytestmark = pytest.mark.slow

SIZES = {
    "corpus_train": 300,
    "corpus_valid": 40,
    "treebank_train": 30,
    "treebank_dev": 5,
    "treebank_test": 10,
    "task_train": 30,
    "task_dev": 10,
    "blimp": 5,
}


def local_config(data_dir) -> dict:
    """A config reading every input from ``data_dir`` (no built-in source), one tiny BERT:
    ``tests/configs/inputs.yaml``."""
    return config_for("inputs", data_dir)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """The built-in language's files, written once, as a local mirror to copy and break."""
    from embryo.data.builtin import generate

    root = tmp_path_factory.mktemp("mirror") / "data"
    generate(root, seed=0, sizes=SIZES)
    return root


def replace_line(path, number: int, edit) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("".join(lines))


def first_token_line(path) -> int:
    """The line number of the first token line (not a comment) of a CoNLL-U file."""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line and not line.startswith("#"):
            return n
    raise AssertionError(path)


def missing_columns(root):
    path = root / "ud/en_ewt-ud-test.conllu"
    n = first_token_line(path)
    replace_line(path, n, lambda line: "\t".join(line.split("\t")[:7]) + "\n")
    return {}, rf"ud/en_ewt-ud-test\.conllu:{n}: expected 10 tab-separated CoNLL-U columns.*found 7"


def head_out_of_range(root):
    path = root / "ud/en_ewt-ud-train.conllu"
    n = first_token_line(path)
    replace_line(
        path,
        n,
        lambda line: "\t".join(c if i != 6 else "99" for i, c in enumerate(line.split("\t"))),
    )
    return {}, r"ud/en_ewt-ud-train\.conllu:\d+ \(sentence [^)]+\): word 1 has head 99"


def lama_not_json(root):
    path = root / "lama/TREx/P19.jsonl"
    replace_line(path, 2, lambda line: line[:20] + "\n")
    return {}, r"lama/TREx/P19\.jsonl:2: not valid JSON"


def blimp_without_field(root):
    path = sorted((root / "blimp").glob("*.jsonl"))[0]
    replace_line(path, 3, lambda line: line.replace('"field"', '"domain"'))
    return {}, rf"blimp/{path.name}:3: missing or empty string field 'field'"


def task_row_without_column(root):
    path = root / "glue/SST-2/train.tsv"
    replace_line(path, 4, lambda line: line.split("\t")[0] + "\n")
    return {}, r"glue/SST-2/train\.tsv:4: 1 tab/comma-separated fields, expected at least 2"


def task_label_typo(root):
    """RTE's case: a training label the dev file does not have, seen once: a typo."""
    path = root / "glue/SST-2/train.tsv"
    replace_line(path, 5, lambda line: "maybe\t" + line.split("\t", 1)[1])
    return {}, r"glue/SST-2/train\.tsv:5: label 'maybe' is not one of \['0', '1'\] \(the labels of"


def batch_beyond_cpu_memory(root):
    """Block 4,096 and batch 32 on a CPU: the kernel would kill the job a minute in."""
    bert = local_config(root)["runs"]["bert"]
    edit = {
        "runs": {
            "bert": {**bert, "block_size": 4096, "optimizer": {"batch_size": 32, "warmup_steps": 1}}
        },
        "resources": {"pretrain": {"mem_mb": 8000}},
    }
    return edit, (
        r"runs\.bert: 32 blocks of 4096 tokens a micro-step in 1 CPU process\(es\) "
        r"need about [\d.]+ GiB \(\+ headroom\) of the 7\.8 GiB of "
        r"resources\.pretrain\.mem_mb"
    )


def max_length_above_positions(root):
    edit = {"finetuning": {"epochs": 1, "max_length": 64}}
    return edit, r"finetuning\.max_length: 64 pieces per example, but run bert's model admits 32"


def unknown_resources_rule(root):
    edit = {"resources": {"pretrian": {"runtime": 30}}}
    return edit, r"resources: unknown rule\(s\) \['pretrian'\]; expected default or one of: "


def nodes_for_a_rule_that_cannot_span_them(root):
    edit = {"resources": {"finetune": {"nodes": 2}}}
    return edit, r"resources\.finetune\.nodes is 2: only pretrain and pretrain_student jobs span"


def processes_that_do_not_split_over_nodes(root):
    edit = {
        "resources": {"pretrain": {"nodes": 2, "gpu": 1}},
        "runs": {"bert": {**local_config(root)["runs"]["bert"], "processes": 1}},
    }
    return edit, r"runs\.bert: 1 processes do not split evenly over the 2 nodes"


def nodes_outside_an_allocation(root):
    edit = {
        "resources": {"pretrain": {"nodes": 2}},
        "runs": {"bert": {**local_config(root)["runs"]["bert"], "processes": 2}},
    }
    return edit, r"resources\.pretrain\.nodes is 2, but this run executes locally outside a SLURM"


def micro_batch_beyond_the_gpu(root):
    edit = {"resources": {"pretrain": {"gpu": 1, "gpu_mem_mb": 512}}}
    return edit, (
        r"runs\.bert: \d+ blocks a micro-step on each of 1 GPUs need about .* of "
        r"0 GiB; no accumulation fits"
    )


def cache_dir_not_writable(root):
    edit = {"cluster": {"cache_dir": "/proc/embryo-cache"}}
    return edit, r"cluster\.cache_dir '/proc/embryo-cache' cannot be created"


CASES = [
    missing_columns,
    head_out_of_range,
    lama_not_json,
    blimp_without_field,
    task_row_without_column,
    task_label_typo,
    batch_beyond_cpu_memory,
    max_length_above_positions,
    unknown_resources_rule,
    nodes_for_a_rule_that_cannot_span_them,
    processes_that_do_not_split_over_nodes,
    nodes_outside_an_allocation,
    micro_batch_beyond_the_gpu,
    cache_dir_not_writable,
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_bad_input_stops_the_workflow_before_any_job(mirror, tmp_path, case):
    root = tmp_path / "data"
    shutil.copytree(mirror, root)
    edit, message = case(root)
    config = copy.deepcopy(local_config(root)) | edit
    result = snakemake(tmp_path, config, "--keep-going", timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert re.search(message, output), output[-3000:]
    assert not (tmp_path / "results").exists(), "a job started"


def test_a_check_is_remembered_until_its_file_changes(mirror, tmp_path):
    """The control: the unbroken files pass; their checks are remembered, and a file broken
    after a check passed is read again, and refused, at the next start."""
    import json

    root = tmp_path / "data"
    shutil.copytree(mirror, root)
    config = local_config(root)
    result = snakemake(tmp_path, config, "-n")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    cache = json.loads((tmp_path / ".snakemake" / "embryo-checks.json").read_text())
    assert sorted(json.loads(key)[0] for key in cache) == ["blimp", "lama", "task", "treebank"]
    assert (
        cache[next(k for k in cache if k.startswith('["treebank"'))]["summary"]["test"]["sentences"]
        == SIZES["treebank_test"]
    )
    _, message = lama_not_json(root)
    result = snakemake(tmp_path, config, "-n")
    assert result.returncode != 0 and re.search(message, result.stdout + result.stderr)
