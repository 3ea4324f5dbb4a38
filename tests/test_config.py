"""Config validation: every kind of bad input is named by its key; schedules by hand."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from embryo import config as ec
from embryo.runtime.errors import EmbryoError

from .conftest import REPO

SCHEMA = ec.load_schema(REPO / "config" / "schema.yaml")


@pytest.fixture
def good(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("one line\nanother line\n")
    (tmp_path / "train.tsv").write_text("sentence\tlabel\ngood\t1\n")
    (tmp_path / "dev.tsv").write_text("sentence\tlabel\nbad\t0\n")
    return {
        "tasks": {"sst": {"source": "local", "text": ["sentence"], "label": "label"}},
        "data_dir": str(tmp_path),
        "corpora": {"c": {"source": "local", "files": ["corpus.txt"]}},
        "tokenizers": {"t": {"corpus": "c", "algorithm": "wordpiece", "vocab_size": 100}},
        "runs": {"r": {"architecture": "bert", "tokenizer": "t", "checkpoints": [0, 10, 20]}},
    }


def check(cfg):
    return ec.validate(cfg, SCHEMA)


def test_defaults_are_filled(good):
    cfg = check(good)
    run = cfg["runs"]["r"]
    assert run["optimizer"]["lr"] == 5e-4 and run["model"]["size"] == "tiny" and run["seed"] == 0
    assert cfg["corpora"]["c"]["validation_fraction"] == 0.05
    assert "lr" not in good["runs"]["r"].get("optimizer", {}), "validate must not modify its input"


def test_every_schema_property_is_documented():
    def walk(node, path):
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                assert "description" in sub or "$ref" in sub, f"{path}.{key} has no description"
            for key, sub in node.items():
                walk(sub, f"{path}.{key}")

    walk(SCHEMA, "schema")


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda c: c["runs"]["r"].update(optimzer={}), r"runs\.r: unknown key\(s\) 'optimzer'"),
        (lambda c: c.update(dta_dir="x"), r"\(top level\): unknown key\(s\) 'dta_dir'"),
        (
            lambda c: c["runs"]["r"].update(optimizer={"lr": "fast"}),
            r"runs\.r\.optimizer\.lr: 'fast' is not of type",
        ),
        (
            lambda c: c["runs"]["r"].update(checkpoints=[0, 20, 10]),
            r"runs\.r\.checkpoints: must be strictly increasing",
        ),
        (
            lambda c: c["runs"]["r"].update(checkpoints=[5, 10]),
            r"runs\.r\.checkpoints: a trained run starts at step 0",
        ),
        (
            lambda c: c["runs"]["r"].update(architecture="gpt2"),
            r"runs\.r\.architecture: 'gpt2'; a run trained here is one of",
        ),
        (
            lambda c: c["corpora"]["c"].update(files=["nope.txt"]),
            r"nope\.txt \(config key corpora\.c\.files\): file not found",
        ),
        (
            lambda c: c["runs"]["r"].update(tokenizer="u"),
            r"runs\.r\.tokenizer: unknown tokenizer 'u'",
        ),
        (
            lambda c: c["runs"]["r"].update(model={"hidden_size": 30, "num_heads": 4}),
            r"num_heads 4 does not divide",
        ),
        (
            lambda c: c["runs"]["r"].update(objective={"sop": True}),
            r"sentence-order prediction is ALBERT's",
        ),
        (
            lambda c: c["runs"]["r"].update(optimizer={"batch_size": 10, "grad_accum": 3}),
            r"grad_accum: 3 does not divide",
        ),
        (
            lambda c: c["runs"]["r"].update(processes=3, optimizer={"batch_size": 8}),
            r"runs\.r\.processes: 3 processes x 1 accumulation steps do not divide batch_size 8",
        ),
        (
            lambda c: c["runs"]["r"].update(optimizer={"total_steps": 5}),
            r"total_steps: 5 is before the last checkpoint 20",
        ),
        (
            lambda c: c["runs"]["r"].update(checkpoints={"every": 5}),
            r"neither a list of steps nor a schedule",
        ),
        (
            lambda c: c["runs"]["r"].update({"import": {"path": "x/{step}"}}),
            r"imported run brings its own tokenizer",
        ),
        (
            lambda c: c["tasks"]["sst"].update(train="glue/train.tsv"),
            r"glue/train\.tsv \(config key tasks\.sst\.train\): file not found",
        ),
        (
            lambda c: c["tasks"]["sst"].update(text=["content"]),
            r"train\.tsv:1 \(config key tasks\.sst\): no column\(s\) \['content'\]",
        ),
        (
            lambda c: c["tasks"]["sst"].update(type="regression", metrics=["accuracy"]),
            r"tasks\.sst\.metrics: \['accuracy'\] do not apply to a regression task",
        ),
        (
            lambda c: c["tasks"]["sst"].update(text=["a", "b", "c"]),
            r"tasks\.sst\.text: .* is too long",
        ),
        (
            lambda c: c.update(analyses={"downstream": {"tasks": ["mnli"]}}),
            r"analyses\.downstream\.tasks: unknown task 'mnli'",
        ),
        (
            lambda c: c["tasks"]["sst"].update(metrics=["bleu"]),
            r"tasks\.sst\.metrics\.0: 'bleu' is not one of",
        ),
        (
            lambda c: c.update(transferability={"tasks": ["qnli"]}),
            r"transferability\.tasks: unknown task 'qnli'",
        ),
        (
            lambda c: c.update(transferability={"runs": ["big"]}),
            r"transferability\.runs: unknown run 'big'",
        ),
        (
            lambda c: c.update(transferability={"schemes": ["progressive-k3"]}),
            r"reinit progressive-k3: out of range for a model of 2 layers",
        ),
        (
            lambda c: c.update(transferability={"schemes": ["reinit-top"]}),
            r"transferability\.schemes \(run r\): unknown reinit scheme 'reinit-top'",
        ),
        (
            lambda c: c.update(transferability={"steps": [15]}),
            r"transferability\.steps: \[15\] are checkpoints of none of the runs",
        ),
        (
            lambda c: c.update(transferability={"train_sizes": [2, "full"]}),
            r"2 training examples asked for, but task sst's train file has at most 1 rows",
        ),
        (
            lambda c: (
                c["runs"]["r"].update(architecture="albert")
                or c.update(transferability={"schemes": ["scramble-n1"]})
            ),
            r"scramble-s2 permutes the layers of an ALBERT",
        ),
        (
            lambda c: c.update(transferability={"init": "xavier"}),
            r"transferability\.init: 'xavier' is not one of",
        ),
        (
            lambda c: c.update(transferability={"task_sizes": {"sst": [2, "full"]}}),
            r"transferability\.task_sizes\.sst: 2 training examples asked for, but task sst's train file has at most 1 rows",
        ),
        (
            lambda c: c.update(transferability={"tasks": ["sst"], "task_sizes": {"cola": [5]}}),
            r"transferability\.task_sizes\.cola: not a task of the grid",
        ),
        (
            lambda c: c["runs"]["r"].update(objective={"max_predictions": 20}),
            r"runs\.r\.objective\.max_predictions: caps whole-word or ngram masking",
        ),
        (
            lambda c: c["runs"]["r"].update(objective={"masking": "span"}),
            r"runs\.r\.objective\.masking: 'span' is not one of \['token', 'ngram'\]",
        ),
        (
            lambda c: c["runs"]["r"].update(optimizer={"name": "adam"}),
            r"runs\.r\.optimizer\.name: 'adam' is not one of \['adamw', 'lamb'\]",
        ),
    ],
)
def test_bad_config_names_the_key(good, edit, message):
    cfg = copy.deepcopy(good)
    edit(cfg)
    with pytest.raises(EmbryoError, match=message):
        check(cfg)


def with_student(cfg, **teacher):
    """``cfg`` with a student s of run r (4 layers) and its from-scratch twin w."""
    student = {
        "architecture": "bert",
        "tokenizer": "t",
        "checkpoints": [0, 10],
        "model": {"num_layers": 4},
    }
    cfg["runs"]["w"] = copy.deepcopy(student)
    cfg["runs"]["s"] = {**student, "teacher": {"run": "r", "twin": "w", **teacher}}
    return cfg


@pytest.mark.parametrize(
    "edit,message",
    [
        (
            lambda c: with_student(c, run="nobody"),
            r"runs\.s\.teacher\.run: 'nobody' is not another run",
        ),
        (
            lambda c: with_student(c, step=15),
            r"runs\.s\.teacher\.step: 15 is not a checkpoint of r",
        ),
        (
            lambda c: (
                with_student(c)
                and c["tokenizers"].update(u={"corpus": "c"})
                or c["runs"]["r"].update(tokenizer="u")
            ),
            r"runs\.s\.teacher\.run: r uses tokenizer 'u', this run 't'; both models must "
            r"read and predict one vocabulary",
        ),
        (
            lambda c: with_student(c) and c["runs"]["r"].update(teacher={"run": "s"}),
            r"a cycle of teachers: r -> s -> r",
        ),
        (lambda c: with_student(c, top_k=500), r"top_k: 500 is more than the vocabulary's 100"),
        (
            lambda c: with_student(c) and c["runs"]["w"].update(seed=3),
            r"runs\.s\.teacher\.twin: w differs from s in seed",
        ),
        (
            lambda c: with_student(c) and c["runs"]["r"].update(block_size=64),
            r"teacher r has block_size 64, less than this run's 128",
        ),
        (lambda c: with_student(c, schedule="cosine"), r"schedule: 'cosine' is not one of"),
    ],
)
def test_bad_teacher_names_the_key(good, edit, message):
    cfg = copy.deepcopy(good)
    edit(cfg)
    with pytest.raises(EmbryoError, match=message):
        check(cfg)


def with_grown(cfg, model, **grow_from):
    cfg["runs"]["g"] = {
        "architecture": "bert",
        "tokenizer": "t",
        "checkpoints": [0, 10],
        "model": model,
        "grow_from": {"run": "r", **grow_from},
    }
    return cfg


@pytest.mark.parametrize(
    "edit,message",
    [
        (
            lambda c: with_grown(c, {"num_layers": 4}, run="g"),
            r"grow_from\.run: 'g' is not another run",
        ),
        (
            lambda c: with_grown(c, {"num_layers": 4}, step=5),
            r"grow_from\.step: 5 is not a checkpoint of r",
        ),
        (lambda c: with_grown(c, {"num_layers": 1}), r"smaller than r: num_hidden_layers 1 < 2"),
        (
            lambda c: with_grown(c, {"hidden_size": 256}),
            r"the head size must stay 64 \(this run: 256 / 2 = 128\)",
        ),
        (
            lambda c: (
                with_grown(c, {"num_layers": 4}) and c["runs"]["g"].update(architecture="roberta")
            ),
            r"from a BERT to a BERT or a RoBERTa to a RoBERTa; here bert -> roberta",
        ),
        (
            lambda c: (
                with_grown(c, {"num_layers": 4})
                and c["tokenizers"].update(u={"corpus": "c"})
                or c["runs"]["g"].update(tokenizer="u")
            ),
            r"grow_from\.run: r uses tokenizer 't', this run 'u'",
        ),
    ],
)
def test_bad_growth_names_the_key(good, edit, message):
    cfg = copy.deepcopy(good)
    edit(cfg)
    with pytest.raises(EmbryoError, match=message):
        check(cfg)


def test_a_grown_run_starts_from_its_source(good):
    cfg = check(with_grown(copy.deepcopy(good), {"hidden_size": 256, "num_heads": 4}))
    assert ec.segment_settings(cfg, "g", 0).grow_from == ("r", 20)
    assert (
        ec.linked_checkpoint(cfg, "g", "grow_from") == ("r", 20)
        and ec.linked_checkpoint(cfg, "r", "grow_from") is None
    )


def test_student_segments_carry_the_teacher_and_its_schedule(good):
    cfg = check(with_student(copy.deepcopy(good)))
    assert ec.segment_settings(cfg, "s", 0).teacher is None  # initialisation: no teacher
    ki = ec.segment_settings(cfg, "s", 10).teacher
    assert ki._asdict() == {
        "run": "r",
        "step": 20,
        "twin": "w",
        "schedule": "linear",
        "alpha": 1.0,
        "kd_steps": 10,
        "temperature": 2.0,
        "top_k": None,
    }
    assert (
        ec.linked_checkpoint(cfg, "s", "teacher") == ("r", 20)
        and ec.linked_checkpoint(cfg, "r", "teacher") is None
    )


def test_schedule_expansion_by_hand():
    run = {"checkpoints": {"until": 100, "every": 25, "log_spaced": True, "log_base": 2}}
    assert ec.checkpoint_steps(run) == [0, 1, 2, 4, 8, 16, 25, 50, 75, 100]
    run = {"checkpoints": {"until": 90, "every": 40, "log_spaced": False}}
    assert ec.checkpoint_steps(run) == [0, 40, 80, 90]
    run = {"checkpoints": {"until": 1000, "every": 1000, "log_spaced": True, "log_base": 10}}
    assert ec.checkpoint_steps(run) == [0, 1, 10, 100, 1000]
    # dense early, sparse later: the union of two schedules and a step
    run = {
        "checkpoints": [
            {"until": 40, "every": 10, "log_spaced": True, "log_base": 2},
            {"until": 200, "every": 50, "log_spaced": False},
            125,
        ]
    }
    assert ec.checkpoint_steps(run) == [0, 1, 2, 4, 8, 10, 20, 30, 40, 50, 100, 125, 150, 200]


def test_a_list_of_schedules_validates_and_fills_defaults(good):
    good["runs"]["r"]["checkpoints"] = [{"until": 8, "every": 4}, {"until": 20, "every": 10}]
    cfg = check(good)
    assert ec.checkpoint_steps(cfg["runs"]["r"]) == [0, 1, 2, 4, 8, 10, 20]
    good["runs"]["r"]["checkpoints"] = [{"until": 8}]
    with pytest.raises(EmbryoError, match=r"neither a list of steps nor a schedule"):
        check(good)


def test_replicates_are_runs_of_their_own_that_vary_what_they_name(good):
    cfg = copy.deepcopy(good)
    cfg["runs"]["r"].update(seed=3, replicates={"seeds": [1, 2], "vary": ["masks", "dropout"]})
    runs = check(cfg)["runs"]
    assert list(runs) == ["r", "r@s1", "r@s2"] and "replicates" not in runs["r"]
    assert runs["r@s1"]["replicate_of"] == "r" and runs["r@s1"]["seed"] == 3
    checked = check(cfg)
    seeds = ec.segment_settings(checked, "r@s2", 10).seeds
    assert seeds._asdict() == {"init": 3, "data_order": 3, "masks": 2, "dropout": 2}
    assert ec.segment_settings(checked, "r", 10).seeds == (3, 3, 3, 3)
    assert ec.checkpoint_steps(runs["r@s1"]) == [0, 10, 20]
    # by default a replicate's seed draws everything
    cfg["runs"]["r"]["replicates"] = {"seeds": [5]}
    assert set(check(cfg)["runs"]["r@s5"]["seeds"].values()) == {5}
    for replicates, message in (
        ({"seeds": [3]}, r"runs\.r\.replicates\.seeds: 3 is the run's own seed"),
        (
            {"seeds": [1], "vary": ["weights"]},
            r"runs\.r\.replicates\.vary\.0: 'weights' is not one of",
        ),
        ({"seeds": []}, r"runs\.r\.replicates\.seeds"),
    ):
        cfg["runs"]["r"]["replicates"] = replicates
        with pytest.raises(EmbryoError, match=message):
            check(cfg)
    # tables carry each run's series and replicate
    import pandas as pd

    from embryo.results.tables import with_replicates

    cfg["runs"]["r"]["replicates"] = {"seeds": [1]}
    known = ec.replicates(check(cfg))
    assert known == {"r": ("r", 3), "r@s1": ("r", 1)}
    table = with_replicates(pd.DataFrame({"run": ["r@s1", "r"], "step": [0, 0]}), known)
    assert list(table.columns) == ["run", "series", "replicate", "step"]
    assert table["series"].tolist() == ["r", "r"] and table["replicate"].tolist() == [1, 3]
    cfg["runs"]["r"].pop("replicates")
    cfg["runs"]["x@s1"] = cfg["runs"]["r"]
    with pytest.raises(EmbryoError, match=r"runs\.x@s1: '@s' is kept for replicates"):
        check(cfg)


def test_segment_settings_separate_initialisation_from_optimisation(good):
    cfg = check(good)
    assert ec.segment_settings(cfg, "r", 0).optimizer is None
    assert ec.segment_settings(cfg, "r", 10).optimizer.total_steps == 20
    assert (
        ec.previous_step(cfg["runs"]["r"], 20) == 10
        and ec.previous_step(cfg["runs"]["r"], 0) is None
    )


# overlays: applied on top of another config (snakemake --configfile base overlay)
OVERLAYS = {"paper-cpu.yaml": "paper.yaml"}


def test_shipped_configs_are_valid(tmp_path):
    """Every preset validates; one whose steps are a repository's tags (config/ettin.yaml)
    with a refs listing kept as the workflow keeps it."""
    from snakemake.utils import update_config

    from .hub_standin import ETTIN_REVISIONS, kept_refs

    repos = {f"jhu-clsp/ettin-encoder-{s}": ETTIN_REVISIONS for s in ("17m", "68m", "150m")}
    refs = kept_refs(tmp_path / "embryo-refs.json", repos)
    for path in sorted((REPO / "config").glob("*.yaml")):
        if path.name == "schema.yaml":
            continue
        cfg = yaml.safe_load(path.read_text())
        if path.name in OVERLAYS:  # merged as Snakemake merges --configfile files
            base = yaml.safe_load((REPO / "config" / OVERLAYS[path.name]).read_text())
            update_config(base, cfg)
            cfg = base
        ec.validate(cfg, SCHEMA, source=str(path), check_files=False, refs_cache=refs)


def test_builtin_sizes_in_schema_match_the_library():
    from embryo.data.builtin import DEFAULT_SIZES, MINIMUM

    sizes = SCHEMA["properties"]["builtin"]["properties"]["sizes"]["properties"]
    assert {k: v["default"] for k, v in sizes.items()} == DEFAULT_SIZES
    assert {k: v["minimum"] for k, v in sizes.items() if v["minimum"] > 1} == {
        k: v for k, v in MINIMUM.items() if v > 1
    }


def test_experiments_are_a_union_of_their_own_grids(good):
    """Tamkin et al.'s layout: progressive at every size with 3 seeds, blocks at one size
    with more; a point two experiments share is one point, a repeat maps to its job."""
    cfg = copy.deepcopy(good)
    cfg["tasks"]["cola"] = cfg["tasks"]["sst"]
    cfg["transferability"] = {
        "train_sizes": [1, "full"],
        "task_sizes": {"cola": ["full"]},
        "seeds": [0, 1],
        "schemes": ["progressive"],
        "experiments": [
            {"name": "progressive"},
            {"name": "block", "schemes": ["block-w1"], "train_sizes": [1], "seeds": [0, 1, 2]},
            {"name": "one-task", "schemes": ["none"], "tasks": ["sst"], "seeds": [5]},
        ],
    }
    checked = check(cfg)
    grid = ec.transfer_grid(checked, "r")
    assert set(grid["progressive-k0"]) == {
        ("sst", 1, 0),
        ("sst", 1, 1),
        ("sst", "full", 0),
        ("sst", "full", 1),
        ("cola", "full", 0),
        ("cola", "full", 1),
    }
    assert set(grid["block-0-0"]) == {(t, 1, s) for t in ("sst", "cola") for s in (0, 1, 2)}
    # progressive's K = L is none: one scheme, its points from two experiments, each once
    assert set(grid["none"]) == set(grid["progressive-k0"]) | {("sst", 1, 5), ("sst", "full", 5)}
    assert len(grid["none"]) == 8
    jobs, repeats = ec.transfer_jobs(checked, "r")
    assert repeats == {"block-1-1": "progressive-k1"}
    assert "block-1-1" not in jobs and "block-0-0" in jobs


@pytest.mark.parametrize(
    "experiments, error",
    [
        ([{"name": "a"}, {"name": "a"}], r"experiments\[1\] \(a\): the name 'a' is used by 2"),
        (
            [{"name": "a", "tasks": ["mnli"]}],
            r"experiments\[0\] \(a\)\.tasks: \['mnli'\] are not tasks of the grid",
        ),
        (
            [{"name": "a", "train_sizes": [50]}],
            r"experiments\[0\] \(a\)\.train_sizes: 50 training examples asked for, but task sst's train file has at most 1 rows",
        ),
        ([{"name": "a", "seed": [1]}], r"experiments.*seed"),
        ([{"schemes": ["none"]}], r"experiments.*name"),
    ],
)
def test_experiment_errors_name_the_experiment(good, experiments, error):
    cfg = copy.deepcopy(good)
    cfg["transferability"] = {"experiments": experiments}
    with pytest.raises(EmbryoError, match=error):
        check(cfg)


def test_the_grid_table_has_each_scheme_at_its_own_points():
    import pandas as pd

    from embryo.results.tables import on_grid

    jobs = pd.DataFrame(
        [
            {"run": "r", "task": "t", "n": n, "reinit": s, "seed": seed, "score": i}
            for i, (n, s, seed) in enumerate(
                [(1, "none", 0), ("full", "none", 0), (1, "none", 1), (1, "progressive-k1", 0)]
            )
        ]
    )
    grid = {
        "r": {
            "none": ["none", [["t", "full", 0], ["t", 1, 0]]],
            "progressive-k2": ["none", [["t", 1, 1]]],
            "progressive-k1": ["progressive-k1", [["t", 1, 0]]],
        }
    }
    table = on_grid(jobs, grid)
    got = {(r.reinit, str(r.n), r.seed): (r.score, r.same_as) for r in table.itertuples()}
    assert got == {
        ("none", "1", 0): (0, None),
        ("none", "full", 0): (1, None),
        ("progressive-k2", "1", 1): (2, "none"),  # the job ran for k2's point only
        ("progressive-k1", "1", 0): (3, None),
    }
    assert on_grid(jobs, {}) is jobs


def test_segment_processes_come_from_the_run_or_the_gpus():
    assert ec.segment_processes({"processes": None}, None) == 1
    assert ec.segment_processes({"processes": None}, 4) == 4
    assert ec.segment_processes({"processes": 2}, 4) == 2


def test_task_sizes_replace_the_grid_sizes_of_their_task(good):
    cfg = copy.deepcopy(good)
    cfg["transferability"] = {"train_sizes": [1, "full"], "task_sizes": {"sst": ["full"]}}
    checked = check(cfg)
    assert ec.transfer_sizes(checked, "sst") == ["full"]
    checked["transferability"]["task_sizes"] = {}
    assert ec.transfer_sizes(checked, "sst") == [1, "full"]


@pytest.mark.parametrize(
    "studies, error",
    [
        ({"architecture": ["nobody"]}, r"inheritance\.studies\.architecture: unknown run 'nobody'"),
        ({"data": ["w"]}, r"inheritance\.studies\.data: w has no teacher"),
        ({"domain": ["s"]}, r"inheritance\.studies\.domain: s starts from scratch"),
        (
            {"lineage": ["s", "g"]},
            r"inheritance\.studies\.lineage: g follows s in the lineage, but its teacher is r",
        ),
        ({"teachers": ["s"]}, r"inheritance\.studies.*teachers"),
    ],
)
def test_study_errors_name_the_study(good, studies, error):
    cfg = with_student(copy.deepcopy(good))
    cfg["runs"]["g"] = copy.deepcopy(cfg["runs"]["s"])
    cfg["inheritance"] = {"studies": studies}
    with pytest.raises(EmbryoError, match=error):
        check(cfg)
    cfg["runs"]["g"]["teacher"]["run"] = "s"
    cfg["inheritance"] = {"studies": {"lineage": ["s", "g"], "architecture": ["s", "g"]}}
    assert check(cfg)["inheritance"]["studies"]["lineage"] == ["s", "g"]


def test_cache_dir_is_expanded_created_and_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMBRYO_SCRATCH", str(tmp_path / "scratch"))
    assert ec.cache_dir("$EMBRYO_SCRATCH/hf") == str(tmp_path / "scratch" / "hf")
    assert (tmp_path / "scratch" / "hf").is_dir()
    assert ec.cache_dir("rel/hf") == str(tmp_path / "rel" / "hf")
    with pytest.raises(EmbryoError, match="an environment variable is unset"):
        ec.cache_dir("$EMBRYO_UNSET_VARIABLE/hf")
    (tmp_path / "file").write_text("")
    with pytest.raises(EmbryoError, match="cannot be created"):
        ec.cache_dir(str(tmp_path / "file" / "hf"))


def test_a_tracker_without_its_package_is_named_before_any_job(good, monkeypatch):
    import importlib.util

    from embryo.config.settings import check_tracking
    from embryo.train.tracking import from_config

    cfg = check(good)
    assert cfg["tracking"]["trackers"] == ["tensorboard"]
    check_tracking(cfg)  # tensorboard is a dependency
    live = from_config(cfg, "r")
    assert live.log_dir == "results/r/tensorboard" and live.trackers == ("tensorboard",)
    good["tracking"] = {"trackers": ["tensorboard", "wandb"]}
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n: None if n == "wandb" else real(n))
    with pytest.raises(EmbryoError, match=r"tracking.trackers lists wandb, but the wandb package"):
        check_tracking(check(good))
    good["tracking"] = {"trackers": ["mlflow"]}
    with pytest.raises(EmbryoError, match=r"tracking"):
        check(good)


def test_a_branch_continues_its_parent_and_anneals_from_its_rate(good):
    from embryo.config.runs import resumes_from
    from embryo.config.settings import segment

    good["runs"]["r"]["optimizer"] = {"lr": 1e-3, "warmup_steps": 0}
    good["runs"]["cool"] = {
        **copy.deepcopy(good["runs"]["r"]),
        "checkpoints": [10, 15, 20],
        "branch": {"run": "r", "step": 10, "anneal": True},
    }
    cfg = check(good)
    assert resumes_from(cfg, "cool", 10) == ("r", 10) and resumes_from(cfg, "cool", 15) == (
        "cool",
        10,
    )
    assert resumes_from(cfg, "r", 0) is None
    opt = segment(cfg, "cool", 20).optimizer
    # r's rate at step 10 of 20 without warm-up: 1e-3 * (21 - 10) / (21 - 1)
    assert opt.lr == pytest.approx(1e-3 * 11 / 20) and opt.decay_start == 10
    assert opt.warmup_steps == 0 and opt.total_steps == 20
    assert segment(cfg, "r", 20).optimizer.decay_start is None
    # its batches: r's data order up to step 10, then its own; a branch of the branch too
    from embryo.config.runs import data_spans, drawn_by

    assert data_spans(cfg, "r") == [("r", 0, 20)]
    assert data_spans(cfg, "cool") == [("r", 0, 10), ("cool", 10, 20)]
    assert [drawn_by(cfg, "cool", t) for t in (1, 10, 11, 20)] == ["r", "r", "cool", "cool"]
    good["runs"]["colder"] = {
        **copy.deepcopy(good["runs"]["cool"]),
        "checkpoints": [15, 30],
        "branch": {"run": "cool", "step": 15, "anneal": True},
    }
    assert data_spans(check(good), "colder") == [("r", 0, 10), ("cool", 10, 15), ("colder", 15, 30)]
    del good["runs"]["colder"]
    for edit, message in (
        ({"checkpoints": [0, 15]}, "runs.cool.checkpoints: a branch starts at its branch step 10"),
        (
            {"branch": {"run": "r", "step": 12}},
            "runs.cool.branch.step: 12 is not a checkpoint of r",
        ),
        (
            {"block_size": 64},
            "runs.cool.branch: a branch continues r's training state, so its block_size",
        ),
        ({"model": {"num_layers": 3}}, "so its model must be r's"),
        (
            {"branch": {"run": "nope", "step": 10}},
            "runs.cool.branch.run: 'nope' is not another run",
        ),
    ):
        bad = copy.deepcopy(good)
        bad["runs"]["cool"].update(edit)
        with pytest.raises(EmbryoError, match=re.escape(message)):
            check(bad)


def test_tokens_seen_per_checkpoint_put_runs_on_one_axis(good):
    """A trained run's tokens are its steps x batch x block, a branch's its parent's up to
    the branch step and its own batch after; an imported series' its tokens_per_step or
    its per-step tokens; the tables carry them after the step."""
    import pandas as pd

    from embryo.results.tables import with_tokens

    good["runs"]["r"] |= {"block_size": 16, "optimizer": {"batch_size": 4}}
    good["runs"]["wide"] = {
        **copy.deepcopy(good["runs"]["r"]),
        "checkpoints": [10, 20],
        "optimizer": {"batch_size": 8},
        "branch": {"run": "r", "step": 10},
    }
    good["runs"]["suite"] = {
        "import": {"path": "s-{step}", "tokens_per_step": 1000, "tokens": {20: 12345}},
        "checkpoints": [10, 20],
    }
    good["runs"]["unknown"] = {"import": {"path": "s-{step}"}, "checkpoints": [10]}
    good["transferability"] = {"enabled": False}
    good["analyses"] = {"downstream": {"enabled": False}}
    tokens = ec.tokens_seen(check(good))
    assert tokens["r"] == {0: 0, 10: 640, 20: 1280}  # 10 steps x 4 blocks x 16 tokens
    assert tokens["wide"] == {10: 640, 20: 640 + 10 * 8 * 16}
    assert tokens["suite"] == {10: 10_000, 20: 12345} and tokens["unknown"] == {10: None}
    table = with_tokens(
        pd.DataFrame({"run": ["r", "suite", "unknown"], "step": [10, 20, 10], "score": [1, 2, 3]}),
        tokens,
    )
    assert list(table.columns) == ["run", "step", "tokens", "score"]
    assert table["tokens"].tolist()[:2] == [640, 12345] and table["tokens"].isna().tolist()[2]


def test_extractive_qa_tasks_need_no_columns_and_stay_out_of_the_grid(good):
    """A SQuAD task is files and a type; its metrics are QA's; the grid refuses it."""
    cfg = copy.deepcopy(good)
    cfg["tasks"]["squad"] = {
        "source": "local",
        "type": "extractive_qa",
        "train": "train.tsv",
        "dev": "dev.tsv",
    }
    cfg["analyses"] = {"downstream": {"tasks": ["squad"]}}
    cfg["transferability"] = {"tasks": ["sst"]}
    assert check(cfg)["tasks"]["squad"]["type"] == "extractive_qa"
    no_text = copy.deepcopy(good)
    del no_text["tasks"]["sst"]["text"]
    with pytest.raises(EmbryoError, match="text"):
        check(no_text)
    cfg["tasks"]["squad"]["metrics"] = ["accuracy"]
    with pytest.raises(EmbryoError, match=r"tasks\.squad\.metrics: \['accuracy'\] do not apply"):
        check(cfg)
    del cfg["tasks"]["squad"]["metrics"]
    cfg["transferability"] = {"tasks": ["squad"]}
    with pytest.raises(EmbryoError, match="transferability.tasks: squad is an extractive QA task"):
        check(cfg)
