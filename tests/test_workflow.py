"""The workflow end to end through Snakemake's CLI, on a tiny config, and its partial reruns."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from embryo.train.checkpoints import verify_checkpoint

from .conftest import REPO, sentences
from .helpers import TINY, config_for, scheduled, snakemake

pytestmark = pytest.mark.slow

REPORT_RULES = {"findings", "provenance"}  # rerun whenever a table or the config changes
ANALYSIS_RULES = {"extract_features", "probe", "mlm_pos", "lama", "blimp", "edge_probe", "finetune"}
SCHEMES = ["progressive-k0", "progressive-k1", "none", "single-0", "scramble-s2"]  # bert, 2 layers
GRID = {  # transferability jobs: steps x tasks x sizes x schemes, seed 0
    f"run=bert, step={step}, task={task}, n={n}, reinit={scheme}, seed=0"
    for step in (2, 4)
    for task in ("sst2", "stsb")
    for n in (20, "full")
    for scheme in SCHEMES
}
# the rules of a grid change: its fine-tuning jobs and what reads them
GRID_READERS = {"finetune", "table", "transfer_summary", "scrambling", "figure"} | REPORT_RULES
TRANSFER_FIGURES = {
    "transfer_progressive",
    "transfer_layers",
    "transfer_scramble",
    "transfer_probing",
    "transfer_crossed",
}


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    data = workdir / "data"
    data.mkdir()
    (data / "corpus.txt").write_text("\n".join(sentences(1500, seed=5)) + "\n")
    config = config_for("workflow", data)
    result = snakemake(workdir, config)
    assert result.returncode == 0, result.stdout + result.stderr
    return workdir, config


def test_end_to_end_exports_loadable_checkpoints(workflow):
    import pandas as pd
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    workdir, config = workflow
    for run, spec in config["runs"].items():
        for step in spec["checkpoints"]:
            out = workdir / f"results/{run}/models/step-{step}"
            model = AutoModelForMaskedLM.from_pretrained(out)
            tokenizer = AutoTokenizer.from_pretrained(out)
            with torch.no_grad():
                logits = model(**tokenizer("The old cat sees a dog .", return_tensors="pt")).logits
            assert logits.shape[-1] == len(tokenizer)
        curve = pd.read_csv(workdir / f"results/{run}/validation.csv")
        assert curve["step"].tolist() == spec["checkpoints"]
        assert curve["val_loss"].iloc[-1] < curve["val_loss"].iloc[0]
        assert (workdir / f"results/logs/pretrain/{run}/step-0.log").exists()
        # each exported step proves what it is: its manifest, against its files
        last = workdir / f"results/{run}/models/step-{spec['checkpoints'][-1]}"
        assert verify_checkpoint(last) == []
        manifest = json.loads((last / "manifest.json").read_text())
        assert manifest["parent"]["segment"] == f"results/{run}/train/step-{manifest['step']}"
        assert set(manifest["code"]) == {"segment", "export"}
        weights = pd.read_csv(workdir / "results/tables/weights.csv").query("run == @run")
        assert set(weights["step"]) == set(spec["checkpoints"])
        whole = weights[weights["part"] == "model"].sort_values("step")
        assert whole["distance"].iloc[0] == 0 and (whole["distance"].iloc[1:] > 0).all()
    for analysis in ("mlm_pos", "probe", "lama", "blimp", "downstream"):
        table = pd.read_parquet(workdir / f"results/tables/{analysis}.parquet")
        assert set(table["run"]) == {"bert"} and set(table["step"]) == {4}, analysis
    probe = pd.read_csv(workdir / "results/tables/probe.csv")
    assert set(probe["layer"]) == {0, 1, 2} and set(probe["task"]) == {"upos", "xpos", "deprel"}
    # the all-layer features are temp() (cluster.keep_features false): gone once probed
    assert (workdir / "results/logs/extract_features/bert/step-4.log").exists()
    assert not list(workdir.glob("results/*/step-*/features/*.safetensors"))
    downstream = pd.read_csv(workdir / "results/tables/downstream.csv")
    assert set(downstream["task"]) == {"sst2", "stsb"} and set(downstream["reinit"]) == {"none"}
    assert set(downstream["metric"]) == {"accuracy", "pearson"}
    assert downstream["n_train"].tolist() == [40, 40] and downstream["score"].notna().all()
    for figure in (
        "validation",
        "weights",
        "mlm_pos",
        "mlm_pos_rescaled",
        "probe_upos",
        "lama",
        "blimp",
        "downstream",
    ):
        assert (workdir / f"results/figures/{figure}.png").stat().st_size > 10_000
    assert not list(workdir.glob("results/**/.*tmp-*")), "temporary outputs left behind"


def test_transferability_grid(workflow):
    import json

    import pandas as pd

    workdir, _ = workflow
    root = workdir / "results/bert"
    for point in GRID:
        w = dict(kv.split("=") for kv in point.split(", "))
        path = root / f"step-{w['step']}/finetune/{w['task']}/n-{w['n']}/{w['reinit']}/seed-0"
        metrics = json.loads((path / "metrics.json").read_text())
        assert metrics["reinit"] == w["reinit"] and metrics["seconds"] > 0
        assert metrics["n_train"] == (40 if w["n"] == "full" else 20)
        if w["reinit"] == "scramble-s2":
            assert metrics["layer_order"] == [1, 0] and metrics["reinit_layers"] == []
        elif w["reinit"].startswith("progressive-k"):
            assert metrics["reinit_layers"] == list(range(int(w["reinit"][-1]), 2))
    assert not (root / "step-2/finetune/sst2/n-20/single-1").exists()  # progressive-k1's job
    table = pd.read_parquet(workdir / "results/tables/transferability.parquet")
    repeat = table[table["reinit"] == "single-1"].drop(columns=["reinit", "same_as"])
    job = table[table["reinit"] == "progressive-k1"].drop(columns=["reinit", "same_as"])
    assert len(repeat) == 8 and repeat.reset_index(drop=True).equals(job.reset_index(drop=True))
    assert set(table.loc[table["reinit"] == "single-1", "same_as"]) == {"progressive-k1"}
    summary = pd.read_csv(workdir / "results/tables/transfer_summary.csv")
    assert len(summary) == len(GRID) + 8 and (summary["seeds"] == 1).all()
    none = summary[summary["reinit"] == "none"]
    assert (none["delta"] == 0).all() and set(none["kept_layers"]) == {2}
    assert set(summary["family"]) == {"progressive", "none", "single", "scramble"}
    probe = pd.read_csv(workdir / "results/tables/task_probe.csv")
    assert set(probe["layer"]) == {0, 1, 2} and set(probe["step"]) == {2, 4}
    assert set(probe["metric"]) == {"accuracy", "pearson"}
    assert (workdir / "results/tables/scrambling.csv").exists()
    for figure in TRANSFER_FIGURES:
        assert (workdir / f"results/figures/{figure}.png").stat().st_size > 10_000, figure


def test_unchanged_config_schedules_nothing(workflow):
    workdir, config = workflow
    assert scheduled(snakemake(workdir, config, "-n")) == set()


def reversed_keys(value):
    """``value`` with the keys of every mapping in reverse order."""
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    return [reversed_keys(v) for v in value] if isinstance(value, list) else value


def test_the_same_config_written_in_another_order_reruns_nothing(workflow):
    workdir, config = workflow
    (workdir / "reordered.yaml").write_text(yaml.safe_dump(reversed_keys(config), sort_keys=False))
    assert "\nthreads: 1\n" in (workdir / "reordered.yaml").read_text()
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        str(workdir / "reordered.yaml"),
        "-n",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert scheduled(result) == set()


def test_changing_one_setting_reruns_exactly_its_dependants(workflow):
    workdir, config = workflow
    changed = copy.deepcopy(config)
    changed["runs"]["bert"]["optimizer"]["lr"] = 1.0e-3
    jobs = scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))
    training = {
        (r, w)
        for r, w in jobs
        if r in ("pretrain", "export_checkpoint", "weights", "validation_curve")
    }
    assert training == {
        ("pretrain", "run=bert, step=2"),
        ("pretrain", "run=bert, step=4"),
        ("export_checkpoint", "run=bert, step=2"),
        ("export_checkpoint", "run=bert, step=4"),
        ("weights", "run=bert, step=2"),  # step 0, the reference, is unchanged
        ("weights", "run=bert, step=4"),
        ("validation_curve", "run=bert"),
    }
    grid = {(r, w) for r, w in jobs if r in ("finetune", "task_probe")}
    assert {w for r, w in grid if r == "finetune"} == GRID  # downstream's 2 jobs are in it
    assert {w for r, w in grid if r == "task_probe"} == {
        f"run=bert, step={step}, task={task}" for step in (2, 4) for task in ("sst2", "stsb")
    }
    analyses = {(r, w) for r, w in jobs if r in ANALYSIS_RULES} - grid
    assert {r for r, _ in analyses} == ANALYSIS_RULES - {"finetune"}
    assert all(w.startswith("run=bert, step=4") for _, w in analyses)
    assert len(analyses) == 9  # features, probes x3, mlm_pos, lama, blimp, edge probes x2
    rest = {r for r, _ in jobs} - {r for r, _ in training | analyses | grid}
    # the run's LAMA exposure: its batches and every analysed step's LAMA items
    assert jobs_of(jobs, "lama_exposure") == {"run=bert"}
    assert (
        rest
        == {"table", "figure", "transfer_summary", "scrambling", "lama_exposure"} | REPORT_RULES
    )
    changed = copy.deepcopy(config)
    changed["builtin"]["seed"] = 2
    jobs = {rule for rule, _ in scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))}
    assert (
        jobs
        == {
            "generate_builtin",
            "prepare_corpus",
            "train_tokenizer",
            "tokenize_corpus",
            "pretrain",
            "export_checkpoint",
            "weights",
            "validation_curve",
            "lama_exposure",
            "prepare_task",
            "task_sizes",  # a built-in task's rows are counted once it is prepared
            "table",
            "figure",
            "task_probe",
            "transfer_summary",
            "scrambling",
        }
        | ANALYSIS_RULES
        | REPORT_RULES
    )  # the treebank, facts, pairs, edges and tasks are built-in too
    assert not {w for _, w in scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))} & {
        "run=bert, step=0",
        "corpus=c",
    }
    changed = copy.deepcopy(config)
    changed["tokenizers"]["uni"]["vocab_size"] = 190
    jobs = scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))
    assert {rule for rule, _ in jobs} == {
        "train_tokenizer",
        "tokenize_corpus",
        "pretrain",
        "export_checkpoint",
        "weights",
        "validation_curve",
        "table",
        "figure",
    } | REPORT_RULES
    assert {w for r, w in jobs if r in ("table", "figure")} == {
        "analysis=validation",
        "figure=validation",
        "analysis=weights",
        "figure=weights",
    }
    changed = copy.deepcopy(config)
    changed["finetuning"]["lr"] = 2.0e-3
    jobs = scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))
    assert {w for r, w in jobs if r == "finetune"} == GRID
    assert {(r, w) for r, w in jobs if r != "finetune"} == {
        ("table", "analysis=downstream"),
        ("table", "analysis=transferability"),
        ("transfer_summary", ""),
        ("scrambling", ""),
        ("figure", "figure=downstream"),
        ("findings", ""),
        ("provenance", ""),
    } | {("figure", f"figure={f}") for f in TRANSFER_FIGURES}
    # another pseudo-log-likelihood: the BLiMP jobs and their readers
    changed = copy.deepcopy(config)
    changed["analyses"]["blimp"]["pll"] = "word_l2r"
    jobs = scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))
    assert jobs == {
        ("blimp", "run=bert, step=4"),
        ("table", "analysis=blimp"),
        ("figure", "figure=blimp"),
        ("provenance", ""),
    }
    # switching an analysis off (or on again later) changes what the provenance lists
    changed = copy.deepcopy(config)
    changed["analyses"]["blimp"]["enabled"] = False
    jobs = scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))
    assert jobs == {("provenance", "")}
    # keeping the LayerNorms of redrawn layers: the jobs that redraw one, and their readers
    changed = copy.deepcopy(config)
    changed["transferability"]["keep_layer_norm"] = True
    jobs = scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))
    assert {w for r, w in jobs if r == "finetune"} == {
        w for w in GRID if "reinit=progressive" in w or "reinit=single" in w
    }
    assert {r for r, _ in jobs} == GRID_READERS
    changed = copy.deepcopy(config)
    changed["transferability"]["seeds"] = [0, 1]
    jobs = scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))
    assert {w for r, w in jobs if r == "finetune"} == {w.replace("seed=0", "seed=1") for w in GRID}
    assert {r for r, _ in jobs} == GRID_READERS


def test_a_replicate_adds_its_own_jobs_and_reruns_none_of_its_series(workflow):
    workdir, config = workflow
    changed = copy.deepcopy(config)
    changed["runs"]["bert"]["replicates"] = {"seeds": [1], "vary": ["data_order"]}
    jobs = scheduled(snakemake(workdir, changed, "-n", name="changed.yaml"))
    runs = {w.split(",")[0] for _, w in jobs if w.startswith("run=")}
    assert runs == {"run=bert@s1"}, "the base runs' jobs are unchanged"
    assert {("pretrain", f"run=bert@s1, step={s}") for s in (0, 2, 4)} <= jobs
    analysed = {r for r, w in jobs if w.startswith("run=bert@s1, step=4")}
    # every analysis, the downstream fine-tuning included
    assert analysed == ANALYSIS_RULES | {"pretrain", "export_checkpoint", "weights"}
    assert ("table", "analysis=mlm_pos") in jobs and ("findings", "") in jobs


def test_imported_run_lands_beside_trained_ones(workflow):
    import torch
    from transformers import AutoModelForMaskedLM

    workdir, config = workflow
    with_import = copy.deepcopy(config)
    with_import["runs"]["mirror"] = {
        "architecture": "bert",
        "checkpoints": [2, 4],
        "import": {"path": str(workdir / "results/bert/models/step-{step}")},
    }
    result = snakemake(workdir, with_import, name="import.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    for step in (2, 4):
        a = AutoModelForMaskedLM.from_pretrained(workdir / f"results/mirror/models/step-{step}")
        b = AutoModelForMaskedLM.from_pretrained(workdir / f"results/bert/models/step-{step}")
        for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            assert torch.equal(va, vb), ka
        assert verify_checkpoint(workdir / f"results/mirror/models/step-{step}") == []
    series = json.loads((workdir / "results/mirror/series.json").read_text())
    assert series["4"]["source"] == str(workdir / "results/bert/models/step-4")
    # a series that serves one checkpoint twice fails its import, naming both steps
    broken = workdir / "broken"
    for step, source in ((2, 2), (4, 2)):
        shutil.copytree(workdir / f"results/bert/models/step-{source}", broken / f"step-{step}")
    with_broken = copy.deepcopy(config)
    with_broken["runs"]["broken"] = {
        "architecture": "bert",
        "checkpoints": [2, 4],
        "import": {"path": str(broken / "step-{step}")},
    }
    result = snakemake(workdir, with_broken, "results/broken/models/step-4", name="broken.yaml")
    assert result.returncode != 0
    assert "runs.broken: steps 2 and 4 have the same weight files" in result.stdout + result.stderr
    assert not (workdir / "results/broken/models").exists()
    (workdir / "results/logs/check_series/broken.log").unlink()  # a failed job's log


def test_a_branch_is_its_own_chain_from_its_parents_state_and_reruns_nothing_of_it(workflow):
    workdir, config = workflow
    branched = copy.deepcopy(config)
    branched["runs"]["cool"] = {
        **copy.deepcopy(config["runs"]["bert"]),
        "checkpoints": [2, 4],
        "branch": {"run": "bert", "step": 2, "anneal": True},
    }
    result = snakemake(workdir, branched, "-n", name="branch.yaml")
    jobs = scheduled(result)
    assert not {w for _, w in jobs if w.startswith("run=bert,")}, "the parent reruns"
    assert jobs_of(jobs, "pretrain") == {"run=cool, step=2", "run=cool, step=4"}
    analysed = {r for r, w in jobs if w.startswith("run=cool, step=4")}
    assert {"export_checkpoint", "weights", "mlm_pos", "lama", "probe"} <= analysed
    assert "results/bert/train/step-2" in result.stdout  # the branch's first resumes there
    assert ("lama_exposure", "run=cool") in jobs  # its exposure, over bert's batches then its own


def test_a_release_is_asked_for_by_name_and_covers_every_step(workflow):
    workdir, config = workflow
    released = copy.deepcopy(config)
    released["release"] = {"runs": {"bert": {"hub_id": "org/bert-embryo"}}}
    jobs = scheduled(snakemake(workdir, released, "-n", name="release.yaml"))
    assert not {r for r, _ in jobs} & {"release", "release_step"}, "all releases nothing"
    target = "results/bert/release.json"
    jobs = scheduled(snakemake(workdir, released, "-n", target, name="release.yaml"))
    steps = config["runs"]["bert"]["checkpoints"]
    assert jobs == {("release_step", f"run=bert, step={s}") for s in steps} | {
        ("release", "run=bert")
    }
    released["release"] = {"runs": {"nope": {"hub_id": "org/x"}}}
    result = snakemake(workdir, released, "-n", name="release.yaml")
    assert result.returncode != 0
    assert "release.runs.nope: not a run trained here" in result.stdout + result.stderr


def test_bad_config_fails_before_any_job(workflow):
    workdir, config = workflow
    bad = copy.deepcopy(config)
    bad["runs"]["bert"]["checkpoints"] = [0, 4, 2]
    result = snakemake(workdir, bad, name="bad.yaml")
    assert result.returncode != 0
    assert "runs.bert.checkpoints: must be strictly increasing" in result.stdout + result.stderr


def test_configfile_replaces_the_demo_config(tmp_path):
    """--configfile from the repository replaces config/config.yaml instead of merging into it."""
    (tmp_path / "corpus.txt").write_text("\n".join(sentences(50)) + "\n")
    config = config_for("workflow", tmp_path)
    config["runs"] = {"only": config["runs"]["bert"]}
    config["transferability"]["runs"] = ["only"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "-n", "--configfile", str(tmp_path / "config.yaml")]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    runs = {m.group(1) for _, w in scheduled(result) if (m := re.match(r"run=([^,]+)", w))}
    assert runs == {"only"}


def with_student(config: dict) -> dict:
    """``config`` with a 3-layer student of bert at step 4 and its from-scratch twin."""
    ki = copy.deepcopy(config)
    twin = {**copy.deepcopy(ki["runs"]["bert"]), "checkpoints": [0, 3]}
    twin["model"] = {**TINY, "num_layers": 3}
    ki["runs"]["twin"] = twin
    ki["runs"]["student"] = {
        **copy.deepcopy(twin),
        "teacher": {"run": "bert", "step": 4, "twin": "twin", "kd_steps": 2, "top_k": 20},
    }
    return ki


def test_a_student_waits_for_its_teachers_checkpoint(tmp_path):
    (tmp_path / "corpus.txt").write_text("\n".join(sentences(50)) + "\n")
    config = with_student(config_for("workflow", tmp_path))
    jobs = scheduled(snakemake(tmp_path, config, "-n", "results/student/train/step-3"))
    assert {
        ("export_checkpoint", "run=bert, step=4"),
        ("pretrain", "run=bert, step=4"),
        ("pretrain", "run=student, step=0"),
    } < jobs
    assert not {w for r, w in jobs if w.startswith("run=twin")}
    jobs = scheduled(snakemake(tmp_path, config, "-n", "results/student/train/step-0"))
    assert not {w for r, w in jobs if w.startswith("run=bert")}, "step 0 needs no teacher"
    # growth and a teacher combined: step 0 grows from bert's last checkpoint
    for run in ("student", "twin"):
        config["runs"][run]["grow_from"] = {"run": "bert"}
    jobs = scheduled(snakemake(tmp_path, config, "-n", "results/student/train/step-0"))
    assert ("export_checkpoint", "run=bert, step=4") in jobs


def test_findings_and_provenance_trace_every_table(workflow):
    import hashlib
    import json

    import pandas as pd

    from embryo.results.verdicts import COLUMNS, UNTESTABLE, VERDICTS

    workdir, config = workflow
    findings = pd.read_csv(workdir / "results/tables/findings.csv")
    assert list(findings.columns) == COLUMNS
    assert set(findings["verdict"]) <= set(VERDICTS)
    # every tested row names its effect; a row with an interval has its estimate inside it
    assert findings["effect"].notna().all()
    bounded = findings.dropna(subset=["ci_low", "ci_high"])
    assert (bounded["ci_low"] <= bounded["ci_high"]).all()
    # one analysed step: the POS order and the monotonicity checks cannot be tested
    assert set(findings["scope"]) >= {"run bert", "probing", "edge probing", "LAMA", "downstream"}
    one_step = findings[findings["scope"].isin(["run bert", "probing", "edge probing", "LAMA"])]
    assert (one_step["verdict"] == UNTESTABLE).all()
    assert findings["margin"].notna().sum() >= len(one_step)
    transfer = findings[findings["study"].str.startswith("Transferability")]
    more_data = transfer[transfer["finding"].str.startswith("Parameters that help")]
    assert set(more_data["scope"]) == {
        f"run bert step {s}, {t}" for s in (2, 4) for t in ("sst2", "stsb")
    }
    # the grid permutes the layers (scramble-s2) and probes the task: both claims have rows
    assert transfer["finding"].str.startswith("Permuting").any()
    necessity = transfer[transfer["finding"].str.startswith("Layers with high probing")]
    assert len(necessity) and (necessity["verdict"] == UNTESTABLE).all()  # two layers

    record = json.loads((workdir / "results/tables/provenance.json").read_text())
    tables = {p.stem for p in (workdir / "results/tables").glob("*.csv")}
    assert set(record["tables"]) == tables
    for name, entry in record["tables"].items():
        data = (workdir / f"results/tables/{name}.csv").read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert (
            len(entry["code"]["fingerprint"]) == 12
            and "embryo.train.segment" in entry["code"]["modules"]
        )
    assert "bert" in record["tables"]["mlm_pos"]["runs"]  # and "mirror", imported above
    assert record["runs"]["bert"]["optimizer"]["lr"] == config["runs"]["bert"]["optimizer"]["lr"]
    assert record["config"]["finetuning"]["epochs"] == 1
    assert record["packages"]["torch"] and record["packages"]["snakemake"]
    assert record["workflow"]["commit"] is None or len(record["workflow"]["commit"]) == 40


def test_summaries_are_computed_from_the_per_item_files(workflow, tmp_path):
    """Every analysis writes its per-item outcomes, and its summary is theirs."""
    import shutil

    import pandas as pd

    from embryo.results.verify import check_summaries

    workdir, _ = workflow
    results = workdir / "results"
    checked, problems = check_summaries(results)
    assert not problems and checked > 20
    for kind in (
        "mlm_pos.items.parquet",
        "probe/upos/items.parquet",
        "lama.items.parquet",
        "blimp.items.parquet",
    ):
        assert list(results.glob(f"*/step-*/{kind}")), kind
    # the check can fail: a summary edited by hand, a per-item file missing
    copy = tmp_path / "results" / "bert" / "step-4"
    shutil.copytree(results / "bert" / "step-4", copy, ignore=shutil.ignore_patterns("features"))
    lama = pd.read_csv(copy / "lama.csv")
    lama.loc[0, "p_at_1"] = 0.5 if lama.loc[0, "p_at_1"] != 0.5 else 0.25
    lama.to_csv(copy / "lama.csv", index=False)
    (copy / "blimp.items.parquet").unlink()
    _, problems = check_summaries(tmp_path / "results")
    assert sorted(p.split(": ")[1].split(" ")[0] for p in problems) == ["differs", "no"]


def test_knowledge_inheritance_table_and_figures(workflow):
    """Next to last in this module: it adds runs to the shared results."""
    import pandas as pd

    workdir, config = workflow
    result = snakemake(workdir, with_student(config), name="ki.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    table = pd.read_csv(workdir / "results/tables/inheritance.csv")
    assert table["twin_step"].tolist() == [3]
    assert set(table[["student", "teacher", "teacher_step", "twin"]].itertuples(index=False)) == {
        ("student", "bert", 4, "twin")
    }
    assert (table["schedule"] == "linear").all() and (table["top_k"] == 20).all()
    curve = pd.read_csv(workdir / "results/student/train/step-3/train_curve.csv")
    assert curve["alpha"].tolist() == [0.5, 0.0, 0.0]
    for figure in ("ki_validation", "ki_saving"):
        assert (workdir / f"results/figures/{figure}.png").stat().st_size > 10_000, figure
    assert not (workdir / "results/figures/ki_downstream.png").exists()  # students not analysed


# ---- exact reruns after code edits: the edits go to a copy of the checkout (its library
# first on PYTHONPATH), dry-run against the finished results of the tests above

CHECKOUT = (
    "Snakefile",
    "rules",
    "workflow",
    "config",
    "report",
    "profiles",
    "src",
    "requirements.lock",
)
NOTHING = "# an edit that changes nothing the code does\n"


def checkout(tmp_path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir(parents=True)
    for name in CHECKOUT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(source, root / name)
    return root


def edit(path: Path, function: str | None = None) -> None:
    """Change what ``function`` of ``path`` does (an assignment before its first statement,
    found by name in the syntax tree, so that a refactoring or a reformatting of the code
    does not break the test), or, without a function, what the script does (one at its
    end)."""
    import ast

    text = path.read_text()
    if function is None:
        path.write_text(text + "\n_edited = None\n")
        return
    found = [
        n
        for n in ast.walk(ast.parse(text))
        if isinstance(n, ast.FunctionDef) and n.name == function
    ]
    assert len(found) == 1, (path, function)
    body = found[0].body
    first = (
        body[1]
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        else body[0]
    )
    lines = text.splitlines(keepends=True)
    indent = " " * first.col_offset
    lines.insert(first.lineno - 1, f"{indent}_edited = None\n")
    path.write_text("".join(lines))


def comments_and_docstrings(root: Path) -> None:
    """A comment and a reformatted line in every module and script, a word in every module
    docstring: none of it changes what the code does."""
    for path in [*(root / "src").rglob("*.py"), *(root / "workflow").rglob("*.py")]:
        text = path.read_text()
        if text.startswith('"""'):
            text = '"""Edited. ' + text[3:]
        path.write_text(NOTHING + text.replace("\n\n\n", "\n\n\n\n", 1) + "\n" + NOTHING)


def plan(workdir, config, root) -> set[tuple[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "EMBRYO_WARM": "0"}
    return scheduled(snakemake(workdir, config, "-n", name="edit.yaml", env=env, repo=root))


def jobs_of(jobs, *rules) -> set[str]:
    return {w for r, w in jobs if r in rules}


def test_code_edits_rerun_exactly_the_jobs_whose_code_they_are(workflow, tmp_path):
    """After the knowledge-inheritance test: every run of the module, students included."""
    workdir, config = workflow
    config = with_student(config)
    root = checkout(tmp_path)
    assert plan(workdir, config, root) == set(), "an unedited checkout elsewhere reruns jobs"

    comments_and_docstrings(root)
    assert plan(workdir, config, root) == set(), "comments and docstrings rerun jobs"

    # the validation table: the validation curves and what reads them
    edit(root / "src/embryo/train/validation.py", "validation_table")
    jobs = plan(workdir, config, root)
    runs = {"bert", "albert", "twin", "student"}
    assert jobs == {("validation_curve", f"run={r}") for r in runs} | {
        ("table", "analysis=validation"),
        ("inheritance_table", ""),
        *(("figure", f"figure={f}") for f in ("validation", "ki_validation", "ki_saving")),
        ("findings", ""),
        ("provenance", ""),
    }

    # the probing code: the probes (the edge probes train with it too) and their readers,
    # and the features the probes read, deleted once read (temp(), cluster.keep_features)
    root = checkout(tmp_path / "probing")
    edit(root / "src/embryo/embryology/probing.py", "probe_items")
    jobs = plan(workdir, config, root)
    probes = {f"run=bert, step=4, probe={t}" for t in ("upos", "xpos", "deprel")}
    edges = {f"run=bert, step=4, edge={t}" for t in ("const", "srl")}
    assert jobs_of(jobs, "probe") == probes and jobs_of(jobs, "edge_probe") == edges
    assert jobs - {("probe", w) for w in probes} - {("edge_probe", w) for w in edges} == {
        ("extract_features", "run=bert, step=4"),
        ("table", "analysis=probe"),
        ("table", "analysis=edge_probe"),
        ("findings", ""),
        ("provenance", ""),
        ("figure", "figure=edge_probe"),
        *(("figure", f"figure=probe_{t}") for t in ("upos", "xpos", "deprel")),
    }
    # the edge-probing code alone: its jobs and their readers, not the word probes
    root = checkout(tmp_path / "edges")
    edit(root / "src/embryo/embryology/edge_probing.py", "edge_probe")
    jobs = plan(workdir, config, root)
    assert (
        jobs - {("edge_probe", w) for w in edges}
        == {
            ("table", "analysis=edge_probe"),
            ("figure", "figure=edge_probe"),
            ("findings", ""),
            ("provenance", ""),
        }
        and jobs_of(jobs, "edge_probe") == edges
    )  # the findings read the edge probes

    # the exposure code: the exposure jobs and their table and figure, not LAMA itself
    root = checkout(tmp_path / "exposure")
    edit(root / "src/embryo/embryology/exposure.py", "_apart")
    jobs = plan(workdir, config, root)
    assert "run=bert" in jobs_of(jobs, "lama_exposure")
    assert {r for r, _ in jobs} == {"lama_exposure", "table", "figure", "provenance"}
    assert jobs_of(jobs, "table") == {"analysis=lama_exposure"}
    assert jobs_of(jobs, "figure") == {"figure=lama_exposure"}

    # the distillation loss: the students' segments and what follows them
    root = checkout(tmp_path / "distillation")
    edit(root / "src/embryo/train/distillation.py", "kd_loss")
    jobs = plan(workdir, config, root)
    assert jobs_of(jobs, "pretrain_student") == {"run=student, step=3"}
    assert jobs_of(jobs, "export_checkpoint") == {"run=student, step=3"}
    assert jobs_of(jobs, "validation_curve") == {"run=student"}
    assert jobs_of(jobs, "weights") == {"run=student, step=3"}
    assert {r for r, _ in jobs} == {
        "pretrain_student",
        "export_checkpoint",
        "weights",
        "validation_curve",
        "table",
        "inheritance_table",
        "figure",
        "findings",
        "provenance",
    }

    # the tables: every rule whose script uses them, and what reads those
    root = checkout(tmp_path / "tables")
    edit(root / "src/embryo/results/tables.py", "collect")
    jobs = plan(workdir, config, root)
    users = {"table", "inheritance_table", "transfer_summary", "scrambling"}
    assert users <= {r for r, _ in jobs} <= users | {"figure", "findings", "provenance"}
    assert len(jobs_of(jobs, "table")) == 11  # every table the table rule writes

    # a job script: its jobs and their readers
    root = checkout(tmp_path / "script")
    edit(root / "workflow/scripts/mlm_pos.py")
    jobs = plan(workdir, config, root)
    assert jobs_of(jobs, "mlm_pos") == {"run=bert, step=4"}
    assert {r for r, _ in jobs} == {"mlm_pos", "table", "figure", "findings", "provenance"}


def test_every_job_ran_only_code_its_rule_fingerprints(workflow):
    """The last line of each job's log names the library modules the job loaded; each is
    among those its rule's code fingerprint covers (a static reading of the imports)."""
    from embryo import registry
    from embryo.runtime.fingerprint import modules

    workdir, _ = workflow
    text = "".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    scripts = dict(re.findall(r"^rule (\w+):\n.*?scripts/(\w+)\.py", text, flags=re.M | re.S))
    checked = set()
    for log in sorted((workdir / "results" / "logs").rglob("*.log")):
        rule = log.relative_to(workdir / "results" / "logs").parts[0].removesuffix(".log")
        last = log.read_text().splitlines()[-1]
        assert last.startswith("embryo: ran "), (log, last)
        ran = set(last.removeprefix("embryo: ran ").split()) - {"-"}
        extra = [registry.FIGURE[log.stem].draw.split(":")[0]] if rule == "figure" else []
        covered = set(
            modules(*extra, scripts=[REPO / "workflow" / "scripts" / f"{scripts[rule]}.py"])
        )
        assert ran <= covered, (log, ran - covered)
        checked.add(rule)
    assert {"pretrain", "probe", "finetune", "figure", "table", "generate_builtin"} <= checked


def test_report_renders_in_a_browser(workflow, tmp_path):
    """Last: the report of everything above, opened in headless Chromium."""
    from .browser import chromium, ink, inspect_report

    workdir, config = workflow
    report = workdir / "results/report.html"
    result = snakemake(workdir, with_student(config), "--report", str(report), name="ki.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium, and it cannot be installed here (needs root and apt-get)")
    seen = inspect_report(browser, report, tmp_path)
    dom = seen["front_dom"]
    for title in (
        "1. Embryology",
        "2. Transferability",
        "3. Knowledge inheritance",
        "4. Crossed analyses",
        "5. Findings and provenance",
        "What was run",
        "Provenance",
        "student: bert, 3 layers of 32",
    ):
        assert title in dom, (title, seen["stderr"])
    assert ink(seen["front_png"]) > 0.02
    figures = {p.name for p in (workdir / "results/figures").glob("*.png")}
    images = {Path(row["path"]).name: row for row in seen["images"]}
    assert set(images) == figures, seen["stderr"]
    for row in images.values():
        assert row["shown"] and row["width"] > 300 and row["height"] > 200, row
        assert row["ink"] > 0.02, row  # not blank: lines, text and axes
    assert ink(seen["figure_png"]) > 0.02
