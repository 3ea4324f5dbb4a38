"""Published checkpoint series, read as the suites publish them, from an offline Hub stand-in.

The stand-in (``tests/hub_standin.py``) is a Hugging Face cache laid out as
``huggingface_hub`` writes it, holding tiny models under MultiBERTs' and Ettin's real ids
and revision names, read with ``HF_HUB_OFFLINE=1``. Checked: templates over the step and
other fields (MultiBERTs' steps in thousands, a seed), refs matched by patterns with phase
offsets (Ettin's step/ext/decay tags), explicit sources, a ``Trainer``'s local
``checkpoint-{step}`` directories of a ModernBERT; ``series.json`` records the commits and
``import_checkpoint`` fetches exactly those; the family, depth and positions are read from
the first step while the config is parsed; and every bad input named in issue 33 fails in
the series check, naming the step and the file or revision.
"""

from __future__ import annotations

import json
import shutil

import pytest

from embryo.runtime.errors import EmbryoError
from embryo.train.series import match_refs, series_record, step_source

from .hub_standin import ettin, multiberts, publish
from .tiny_models import save_tiny

MB = "google/multiberts-seed_{seed}-step_{step_k}k"
ETTIN_REFS = [
    {"pattern": r"step(?P<step>\d+)", "offset": 0},
    {"pattern": r"ext(?P<step>\d+)", "offset": 6000},
    {"pattern": r"decay(?P<step>\d+)", "offset": 8000},
]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    cache = root / "cache"
    return {
        "cache": cache,
        "multiberts": multiberts(cache, root / "work"),
        "ettin": ettin(cache, root / "work"),
        "root": root,
    }


@pytest.fixture
def offline(standin, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(standin["cache"]))
    return standin


def mb_run(seed=0, steps=(0, 20_000, 40_000), **extra):
    return {
        "import": {"hub_id": MB, "revision": None, **extra},
        "seed": seed,
        "checkpoints": list(steps),
        "architecture": None,
    }


def test_templates_name_the_step_in_thousands_and_the_seed(tmp_path):
    run = mb_run(seed=3)
    assert step_source("mb", run, 40_000, tmp_path) == {
        "hub_id": "google/multiberts-seed_3-step_40k",
        "revision": None,
    }
    run = {
        "import": {"path": "out/checkpoint-{step:06d}-{size}", "fields": {"size": "17m"}},
        "seed": 0,
    }
    assert step_source("t", run, 500, tmp_path) == {
        "path": str(tmp_path / "out/checkpoint-000500-17m")
    }
    with pytest.raises(EmbryoError, match=r"runs\.mb\.import\.hub_id: .*step_k.*multiple of 1000"):
        step_source("mb", mb_run(), 1500, tmp_path)
    run = {"import": {"hub_id": "org/{missing}"}, "seed": 0}
    with pytest.raises(EmbryoError, match=r"names the field \{missing\}"):
        step_source("x", run, 0, tmp_path)
    sources = {0: {"hub_id": "org/first"}, 7: {"path": "elsewhere"}}
    run = {"import": {"hub_id": "org/m", "revision": "step{step}", "sources": sources}, "seed": 0}
    assert step_source("s", run, 0, tmp_path) == {"hub_id": "org/first", "revision": None}
    assert step_source("s", run, 7, tmp_path) == {"path": str(tmp_path / "elsewhere")}
    assert step_source("s", run, 9, tmp_path) == {"hub_id": "org/m", "revision": "step9"}


def test_multiberts_series_is_checked_from_the_hub_standin(offline, tmp_path):
    record = series_record("mb", mb_run(), [0, 20_000, 40_000], tmp_path)
    assert [record[s]["source"] for s in record] == [
        "google/multiberts-seed_0-step_0k",
        "google/multiberts-seed_0-step_20k",
        "google/multiberts-seed_0-step_40k",
    ]
    entry = record[20_000]
    snapshot = offline["cache"] / "models--google--multiberts-seed_0-step_20k" / "refs" / "main"
    assert entry["commit"] == snapshot.read_text()
    assert entry["model_type"] == "bert" and entry["num_hidden_layers"] == 2
    assert list(entry["files"]) == ["model.safetensors"] and entry["mask_token"] == "[MASK]"
    run = mb_run(tokens_per_step=256 * 512)
    assert series_record("mb", run, [0, 20_000], tmp_path)[20_000]["tokens"] == 20_000 * 256 * 512


def test_refs_patterns_find_ettins_phases_and_the_import_takes_the_recorded_commit(
    offline, tmp_path
):
    from embryo.models import hub

    refs = hub.list_refs("jhu-clsp/ettin-encoder-17m")
    spec = {"hub_id": "jhu-clsp/ettin-encoder-17m", "refs": ETTIN_REFS}
    assert match_refs("e", spec, refs) == {
        0: "step0",
        2998: "step2998",
        5996: "step5996",
        7000: "ext1000",
        8100: "decay100",
    }
    following = [{**p, "offset": "previous"} for p in ETTIN_REFS]  # phases going on in turn
    assert list(match_refs("e", {**spec, "refs": following}, refs)) == [0, 2998, 5996, 6996, 7096]
    with pytest.raises(
        EmbryoError, match=r"refs\[1\]\.pattern: 'extension.*matches none of the 6 refs"
    ):
        match_refs(
            "e", {**spec, "refs": [ETTIN_REFS[0], {"pattern": r"extension(?P<step>\d+)"}]}, refs
        )
    with pytest.raises(EmbryoError, match=r"refs 'ext1000' and 'step1000'|both step"):
        match_refs(
            "e",
            {**spec, "refs": [{"pattern": r"(?:step|ext)(?P<step>\d+)"}]},
            {**refs, "step1000": "x" * 40},
        )
    with pytest.raises(EmbryoError, match=r"has no group \(\?P<step>"):
        match_refs("e", {**spec, "refs": [{"pattern": r"step\d+"}]}, refs)

    run = {"import": {**spec, "revision": None}, "seed": 0, "architecture": "modernbert"}
    record = series_record("ettin", run, [0, 7000, 8100], tmp_path)
    assert record[7000]["ref"] == "ext1000" and record[7000]["revision"] == "ext1000"
    assert record[7000]["commit"] == offline["ettin"]["17m"]["ext1000"]
    from embryo.train.series import write_series

    write_series(tmp_path / "series.json", record)
    # main moves on, and ext1000 is re-tagged: the import still takes the checked commit
    repo = offline["cache"] / "models--jhu-clsp--ettin-encoder-17m"
    (repo / "refs" / "ext1000").write_text(offline["ettin"]["17m"]["step0"])
    from embryo.train.checkpoints import import_checkpoint, verify_checkpoint

    out = tmp_path / "step-7000"
    import_checkpoint(
        "ettin",
        run,
        7000,
        tmp_path,
        out,
        provenance={"run": "ettin", "step": 7000},
        series=tmp_path / "series.json",
        code={},
    )
    (repo / "refs" / "ext1000").write_text(offline["ettin"]["17m"]["ext1000"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parent"]["commit"] == offline["ettin"]["17m"]["ext1000"]
    assert manifest["parent"]["ref"] == "ext1000" and verify_checkpoint(out) == []
    snapshot = repo / "snapshots" / offline["ettin"]["17m"]["ext1000"] / "model.safetensors"
    from safetensors.numpy import load_file

    ours, theirs = load_file(out / "model.safetensors"), load_file(snapshot)
    assert all((ours[k] == theirs[k]).all() for k in theirs if k in ours)


def test_a_trainer_series_of_a_modernbert_is_read_from_its_checkpoint_directories(tmp_path):
    for step in (0, 500, 1000):
        save_tiny("modernbert", tmp_path / "out" / f"checkpoint-{step}", seed=step)
    run = {"import": {"path": "out/checkpoint-{step}"}, "seed": 0, "architecture": None}
    record = series_record("trainer", run, [0, 500, 1000], tmp_path)
    assert {e["model_type"] for e in record.values()} == {"modernbert"}
    assert record[500]["source"] == str(tmp_path / "out" / "checkpoint-500")


def _bad_series(tmp_path, family="bert", steps=(0, 10)):
    for k, step in enumerate(steps):
        save_tiny(family, tmp_path / f"ckpt-{step}", seed=k)
    return {"import": {"path": "ckpt-{step}"}, "seed": 0, "architecture": None}


def test_bad_series_fail_naming_the_step_and_the_file(tmp_path, offline):
    run = _bad_series(tmp_path)
    # a step missing from the suite
    with pytest.raises(EmbryoError, match=r"runs\.r: step 20 \(.*ckpt-20\): no save_pretrained"):
        series_record("r", run, [0, 10, 20], tmp_path)
    # two steps that are one checkpoint
    shutil.copytree(tmp_path / "ckpt-10", tmp_path / "ckpt-20")
    with pytest.raises(EmbryoError, match=r"steps 10 and 20 have the same weight files"):
        series_record("r", run, [0, 10, 20], tmp_path)
    # a truncated weight file
    weights = tmp_path / "ckpt-20" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-200])
    with pytest.raises(
        EmbryoError, match=r"step 20 .*ckpt-20/model\.safetensors: truncated or corrupt"
    ):
        series_record("r", run, [0, 10, 20], tmp_path)
    # a family other than the one declared
    with pytest.raises(
        EmbryoError,
        match=r"ckpt-0/config\.json: model_type 'bert', but runs\.r\.architecture is 'roberta'",
    ):
        series_record("r", {**run, "architecture": "roberta"}, [0, 10], tmp_path)
    # steps of two families
    shutil.rmtree(tmp_path / "ckpt-20")
    save_tiny("distilbert", tmp_path / "ckpt-20")
    with pytest.raises(
        EmbryoError, match=r"steps 0 and 20 differ in family: 'bert' .* and 'distilbert'"
    ):
        series_record("r", run, [0, 20], tmp_path)
    # a tokenizer without a mask token
    config = json.loads((tmp_path / "ckpt-10" / "tokenizer_config.json").read_text())
    (tmp_path / "ckpt-10" / "tokenizer_config.json").write_text(
        json.dumps({**config, "mask_token": None})
    )
    with pytest.raises(EmbryoError, match=r"step 10: .*ckpt-10: its tokenizer has no mask token"):
        series_record("r", run, [0, 10], tmp_path)
    # a tokenizer whose vocabulary is larger than the model's embeddings
    config_file = tmp_path / "ckpt-0" / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "vocab_size": 20}))
    with pytest.raises(
        EmbryoError, match=r"step 0: .*tokens, but .*ckpt-0/config\.json gives the embeddings 20"
    ):
        series_record("r", run, [0], tmp_path)


def test_bad_hub_series_fail_naming_the_revision(offline, tmp_path):
    run = mb_run()
    with pytest.raises(
        EmbryoError,
        match=r"step 60000 \(google/multiberts-seed_0-step_60k\): .*no such revision in the Hugging Face cache",
    ):
        series_record("mb", run, [0, 60_000], tmp_path)
    # a corrupt blob in the cache: its SHA-256 is no longer its name's
    repo = offline["cache"] / "models--google--multiberts-seed_1-step_40k"
    blob = next(p for p in (repo / "blobs").iterdir() if len(p.name) == 64)
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    try:
        with pytest.raises(
            EmbryoError, match=r"step 40000 .*model\.safetensors: its SHA-256 is not the Hub's"
        ):
            series_record("mb", mb_run(seed=1), [0, 40_000], tmp_path)
    finally:
        blob.write_bytes(data)
    # one tokenizer for the series
    folder = offline["root"] / "other-tokenizer"
    save_tiny("roberta", folder)
    publish(offline["cache"], "org/mixed", folder, ("step1",))
    bert = save_tiny("bert", offline["root"] / "bert-tokenizer")
    publish(offline["cache"], "org/mixed", bert, ("step0",))
    mixed = {
        "import": {"hub_id": "org/mixed", "revision": "step{step}"},
        "seed": 0,
        "architecture": None,
    }
    with pytest.raises(EmbryoError, match=r"steps 0 and 1 differ in family"):
        series_record("mixed", mixed, [0, 1], tmp_path)


def _config(runs: dict, **extra) -> dict:
    return {
        "data_dir": ".",
        "corpora": {},
        "tokenizers": {},
        "runs": runs,
        "analyses": {"downstream": {"enabled": False}},
        **extra,
    }


def test_parse_time_reads_the_family_and_lists_the_refs(offline, tmp_path):
    import embryo.config as ec

    from .conftest import REPO

    schema = ec.load_schema(REPO / "config" / "schema.yaml")
    runs = {
        "ettin": {
            "import": {
                "hub_id": "jhu-clsp/ettin-encoder-{size}",
                "fields": {"size": "17m"},
                "refs": ETTIN_REFS,
            },
            "checkpoints": "refs",
        },
        "mb": {"import": {"hub_id": MB}, "checkpoints": [0, 20_000], "replicates": {"seeds": [1]}},
    }
    cache = tmp_path / "refs.json"
    config = ec.validate(_config(runs), schema, refs_cache=cache)
    assert ec.checkpoint_steps(config["runs"]["ettin"]) == [0, 2998, 5996, 7000, 8100]
    resolved = config["runs"]["ettin"]["resolved"]
    assert resolved["model_type"] == "modernbert" and resolved["layers"] == 2
    assert resolved["positions"] == 64 and "ettin-encoder-17m@step0" in resolved["read_from"]
    assert config["runs"]["mb@s1"]["seed"] == 1
    assert ec.replicates(config)["mb@s1"] == ("mb", 1)
    assert config["runs"]["mb@s1"]["resolved"]["model_type"] == "bert"
    # a replicate whose templates do not name the seed would repeat the series
    runs_bad = {
        "mb": {
            "import": {"hub_id": "google/multiberts-seed_0-step_{step_k}k"},
            "checkpoints": [0],
            "replicates": {"seeds": [1]},
        }
    }
    with pytest.raises(
        EmbryoError, match=r"runs\.mb\.import: the run has replicates .* no template names \{seed\}"
    ):
        ec.validate(_config(runs_bad), schema)
    # a declared family that the checkpoint contradicts
    runs_bad = {"mb": {"import": {"hub_id": MB}, "checkpoints": [0], "architecture": "roberta"}}
    with pytest.raises(
        EmbryoError,
        match=r"runs\.mb\.architecture: 'roberta', but .*step_0k.*says model_type 'bert'",
    ):
        ec.validate(_config(runs_bad), schema)


def test_parse_time_refuses_a_grid_on_a_family_without_known_layers(tmp_path):
    """A Megatron-BERT series may have the per-checkpoint analyses, but a transfer grid
    that redraws its layers is refused while the config is parsed, naming the run, the
    family and what is missing."""
    from transformers import AutoConfig, AutoModelForMaskedLM

    import embryo.config as ec

    from .conftest import REPO
    from .tiny_models import tokenizer

    tok = tokenizer("bert")
    cfg = AutoConfig.for_model(
        "megatron-bert",
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    for step in (0, 10):
        AutoModelForMaskedLM.from_config(cfg).save_pretrained(tmp_path / f"m-{step}")
        tok.save_pretrained(tmp_path / f"m-{step}")
    schema = ec.load_schema(REPO / "config" / "schema.yaml")
    runs = {"megatron": {"import": {"path": str(tmp_path / "m-{step}")}, "checkpoints": [0, 10]}}
    tasks = {"t": {"source": "builtin", "train": "x", "dev": "y", "text": [0], "label": 1}}
    config = _config(
        runs, tasks=tasks, transferability={"enabled": True, "schemes": ["progressive"]}
    )
    with pytest.raises(
        EmbryoError,
        match=r"progressive-k0 redraws or reorders layers of a megatron-bert model, which lacks its list of layers",
    ):
        ec.validate(config, schema, check_files=False)
    config["transferability"]["schemes"] = ["none"]
    assert (
        ec.validate(config, schema, check_files=False)["runs"]["megatron"]["resolved"]["layers"]
        == 2
    )
