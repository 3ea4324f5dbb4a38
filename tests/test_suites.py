"""The suite presets end to end, against the offline Hub stand-in, at toy size.

``config/multiberts.yaml`` and ``config/ettin.yaml`` run through Snakemake's CLI with their
real repository ids and revision names, read from a Hugging Face cache laid out as
``huggingface_hub`` writes it (``tests/hub_standin.py``: tiny BERTs under
``google/multiberts-seed_{seed}-step_{k}k``, tiny ModernBERTs tagged ``step{N}``,
``ext{N}``, ``decay{N}`` under ``jhu-clsp/ettin-encoder-{size}``) with ``HF_HUB_OFFLINE=1``.
Toy size: fewer checkpoints and seeds, a few sentences, facts and pairs, positions of the
tiny models; everything else is the preset's. Then a series written by the ``Trainer``
(``output/checkpoint-{step}``) of a ModernBERT runs the whole battery and a transfer grid
by config alone. Checked: every step's commit in ``series.json`` is the stand-in's and the
imported checkpoint is it; the suite's seeds are one series' replicates in the tables and
the findings; the validation curve, the weights, every per-checkpoint table, the grid.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
import yaml

from .conftest import REPO, SHARED_DATA
from .helpers import BUILTIN_SIZES, snakemake
from .hub_standin import ettin, multiberts
from .tiny_models import save_tiny

pytestmark = pytest.mark.slow

TOY = {
    "treebank": {"max_sentences": {"train": 40, "test": 20}},
    "threads": 1,
}


def toy(preset: str, **changes) -> dict:
    """A preset at toy size: its keys, with the data and the models' positions cut down."""
    config = yaml.safe_load((REPO / "config" / preset).read_text())
    config["data_dir"] = str(SHARED_DATA)
    config.pop("resources", None)
    config.pop("cluster", None)
    config["treebank"].update(TOY["treebank"])
    config["threads"] = 1
    analyses = config["analyses"]
    analyses |= {"max_length": 32, "batch_size": 32}
    analyses["lama"] |= {"max_facts_per_relation": 2}
    analyses["blimp"] |= {"max_pairs": 1}
    for run in config["runs"].values():
        run |= {"block_size": 32, "evaluation": {"max_blocks": 4}}
        run["import"].pop("layers", None)  # the tiny models have 2: read from the stand-in
    config["finetuning"] = {"lr": 1.0e-3, "batch_size": 8, "epochs": 1, "max_length": 32}
    for key, value in changes.items():
        target = config
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        target[last] = value
    return config


@pytest.fixture(scope="module")
def hub(tmp_path_factory, shared_data_dir):
    root = tmp_path_factory.mktemp("hub")
    cache = root / "cache"
    return {
        "cache": cache,
        "multiberts": multiberts(cache, root / "work", seeds=(0, 1), steps=(0, 20_000, 40_000)),
        "ettin": ettin(
            cache,
            root / "work",
            sizes=("17m", "68m", "150m"),
            revisions=("step0", "step2998", "ext1000", "decay100"),
        ),
    }


@pytest.fixture(scope="module")
def shared_data_dir():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data mirror {SHARED_DATA} is absent (see ../shared/data/README.md)")
    return SHARED_DATA


def offline_env(cache) -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}


def run_ok(workdir, config, env):
    result = snakemake(workdir, config, env=env, timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-6000:]


def test_multiberts_preset_runs_against_the_hub_standin(hub, tmp_path):
    config = toy(
        "multiberts.yaml",
        **{
            "runs.multiberts.checkpoints": [0, 20_000, 40_000],
            "runs.multiberts.replicates": {"seeds": [1]},
            "analyses.downstream": {
                "tasks": ["sst2"],
                "steps": [0, 40_000],
                "seeds": [1],
                "train_size": 40,
            },
            "transferability.tasks": ["sst2"],
            "transferability.steps": [40_000],
            "transferability.train_sizes": [40],
            "transferability.seeds": [1],
            "transferability.probing": {"train_size": 40, "pooling": "cls"},
        },
    )
    config["figures"] = {"axis": "tokens"}  # the figures over training against tokens seen
    run_ok(tmp_path, config, offline_env(hub["cache"]))
    results = tmp_path / "results"
    for seed in (0, 1):
        run = "multiberts" if seed == 0 else "multiberts@s1"
        series = json.loads((results / run / "series.json").read_text())
        for step in (0, 20_000, 40_000):
            repo = hub["multiberts"][seed, step]
            commit = (
                hub["cache"] / f"models--{repo.replace('/', '--')}" / "refs" / "main"
            ).read_text()
            assert series[str(step)]["source"] == repo and series[str(step)]["commit"] == commit
            assert series[str(step)]["tokens"] == step * 131072
            manifest = json.loads((results / run / f"models/step-{step}/manifest.json").read_text())
            assert manifest["parent"]["commit"] == commit
    for table in ("mlm_pos", "probe", "lama", "blimp", "weights", "validation", "downstream"):
        frame = pd.read_parquet(results / f"tables/{table}.parquet")
        assert set(frame["run"]) == {"multiberts", "multiberts@s1"}, table
        assert set(frame["series"]) == {"multiberts"} and set(frame["replicate"]) == {0, 1}, table
        assert (frame["tokens"] == frame["step"] * 131072).all(), table
    validation = pd.read_csv(results / "tables/validation.csv")
    assert sorted(validation["step"].unique()) == [0, 20_000, 40_000]
    assert validation["val_loss"].notna().all()
    grid = pd.read_parquet(results / "tables/transferability.parquet")
    assert set(grid["reinit"]) == {"progressive-k0", "progressive-k1", "none"}
    for figure in ("validation", "weights", "mlm_pos", "probe_upos", "lama", "blimp", "downstream"):
        assert (results / f"figures/{figure}.png").stat().st_size > 10_000, figure
    findings = pd.read_csv(results / "tables/findings.csv")
    assert findings["scope"].str.contains("series multiberts \\(2 replicates\\)").any()


def test_ettin_preset_runs_against_the_hub_standin(hub, tmp_path):
    config = toy("ettin.yaml")
    run_ok(tmp_path, config, offline_env(hub["cache"]))
    results = tmp_path / "results"
    weights = set()
    for size in ("17m", "68m", "150m"):
        series = json.loads((results / f"ettin-{size}" / "series.json").read_text())
        weights.add(series["2998"]["weights_sha256"])  # each size its own repository
        # ext1000 goes on from the last pretraining checkpoint, step 2998, decay from it
        assert {s: e["ref"] for s, e in series.items()} == {
            "0": "step0",
            "2998": "step2998",
            "3998": "ext1000",
            "4098": "decay100",
        }
        assert series["3998"]["commit"] == hub["ettin"][size]["ext1000"]
        assert {e["model_type"] for e in series.values()} == {"modernbert"}
    assert len(weights) == 3
    mlm = pd.read_parquet(results / "tables/mlm_pos.parquet")
    assert set(mlm["run"]) == {"ettin-17m", "ettin-68m", "ettin-150m"}
    assert set(mlm["step"]) == {0, 2998, 3998, 4098}
    weights = pd.read_parquet(results / "tables/weights.parquet")
    assert {"embeddings", "layer 1", "layer 2", "head"} <= set(weights["part"])
    refs = json.loads((tmp_path / ".snakemake" / "embryo-refs.json").read_text())
    assert set(refs) == {f"jhu-clsp/ettin-encoder-{s}" for s in ("17m", "68m", "150m")}


def test_a_trainer_series_of_a_modernbert_runs_the_battery_and_a_grid(tmp_path):
    """``output/checkpoint-{step}`` directories as the Trainer writes them, of a
    ModernBERT: no architecture given, the family read from the checkpoints."""
    for k, step in enumerate((0, 500)):
        save_tiny("modernbert", tmp_path / "data" / "output" / f"checkpoint-{step}", seed=k)
    config = toy(
        "ettin.yaml",
        data_dir=str(tmp_path / "data"),
        runs={
            "trainer": {
                "import": {"path": "output/checkpoint-{step}"},
                "checkpoints": [0, 500],
                "block_size": 32,
                "evaluation": {"max_blocks": 4},
            }
        },
    )
    config["corpora"] = {}
    config["treebank"] = {"source": "builtin", "max_sentences": {"train": 40, "test": 20}}
    config["builtin"] = {"sizes": BUILTIN_SIZES}
    config["analyses"] |= {
        "lama": {"source": "builtin", "max_facts_per_relation": 2},
        "blimp": {"source": "builtin", "max_pairs": 2},
        "downstream": {"enabled": True, "seeds": [0]},
    }
    config["tasks"] = {
        "sst2": {
            "source": "builtin",
            "train": "glue/SST-2/train.tsv",
            "dev": "glue/SST-2/dev.tsv",
            "text": [1],
            "label": 0,
        }
    }
    config["transferability"] = {
        "enabled": True,
        "schemes": ["progressive", "scramble-n1"],
        "train_sizes": [20],
        "seeds": [0],
        "probing": {"train_size": 20},
    }
    run_ok(tmp_path, config, None)
    results = tmp_path / "results"
    assert (
        json.loads((results / "trainer/series.json").read_text())["500"]["model_type"]
        == "modernbert"
    )
    for table in ("mlm_pos", "probe", "lama", "blimp", "weights", "downstream"):
        assert set(pd.read_parquet(results / f"tables/{table}.parquet")["run"]) == {"trainer"}
    grid = pd.read_parquet(results / "tables/transferability.parquet")
    assert set(grid["reinit"]) == {"progressive-k0", "progressive-k1", "none", "scramble-s2"}
    metrics = json.loads(
        (
            results / "trainer/step-500/finetune/sst2/n-20/progressive-k1/seed-0/metrics.json"
        ).read_text()
    )
    assert metrics["packed"] and metrics["reinit_layers"] == [1]
