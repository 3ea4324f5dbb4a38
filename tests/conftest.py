"""Shared fixtures: a tiny synthetic corpus, tokenizer and packed blocks; the real-data mirror.

In CI (the environment variable ``CI`` set, as ``.ci/run`` does) a skipped test fails:
every test the README promises (SLURM, the browser, the real data, the paper preset)
must run there, not disappear into a skip count. Outside CI a skip stays a skip, with
its reason in the summary (``-rs``).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

NOUNS = "cat dog bird teacher river city farmer song window garden doctor child".split()
VERBS = "sees likes finds follows paints hears helps builds".split()
ADJS = "small old green quiet bright strange".split()
DETS = "the a every this".split()
PREPS = "near under behind with".split()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"


def sentences(n: int, seed: int = 0) -> list[str]:
    """Simple seeded sentences with enough regularity for a tiny model to learn something."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [
            rng.choice(DETS),
            rng.choice(ADJS),
            rng.choice(NOUNS),
            rng.choice(VERBS),
            rng.choice(DETS),
            rng.choice(NOUNS),
        ]
        if rng.random() < 0.5:
            words += [rng.choice(PREPS), rng.choice(DETS), rng.choice(NOUNS)]
        out.append(" ".join(words).capitalize() + " .")
    return out


def write_parquet(path: Path, texts: list[str]) -> Path:
    import pandas as pd

    pd.DataFrame({"text": texts}).to_parquet(path)
    return path


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return (
        write_parquet(root / "train.parquet", sentences(3000, seed=1)),
        write_parquet(root / "validation.parquet", sentences(300, seed=2)),
    )


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_corpus, tmp_path_factory):
    from embryo.data.tokenizer import train_tokenizer_from_parquet

    out = tmp_path_factory.mktemp("tok") / "wordpiece"
    train_tokenizer_from_parquet(
        tiny_corpus[0], out, algorithm="wordpiece", vocab_size=120, lowercase=True
    )
    return out


@pytest.fixture(scope="session")
def tiny_blocks(tiny_corpus, tiny_tokenizer, tmp_path_factory):
    from embryo.data.blocks import pack_corpus

    out = tmp_path_factory.mktemp("blocks") / "block32"
    pack_corpus(tiny_tokenizer, *tiny_corpus, out, block_size=32)
    return out


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data mirror {SHARED_DATA} is absent (see ../shared/data/README.md)")
    return SHARED_DATA


# the schema's defaults of the objective's masking keys, where a test's spec leaves them out
OBJECTIVE_DEFAULTS = {
    "masking": "token",
    "whole_word": False,
    "max_ngram": 3,
    "max_predictions": None,
}


def segment_settings(spec: dict):
    """A :class:`~embryo.train.segment.SegmentSettings` from a dict laid out like it (nested
    dicts for the model, objective, evaluation, optimizer, teacher and growth sections)."""
    from embryo.models.families import model_spec
    from embryo.train.growth import Growth
    from embryo.train.optimizer import Optimizer
    from embryo.train.segment import Evaluation, Objective, Seeds, SegmentSettings, Teacher

    def section(cls, key, **defaults):
        return cls(**defaults, **spec[key]) if spec.get(key) is not None else None

    return SegmentSettings(
        architecture=spec["architecture"],
        seed=spec["seed"],
        seeds=Seeds(**spec["seeds"]) if "seeds" in spec else Seeds(*[spec["seed"]] * 4),
        block_size=spec["block_size"],
        model=model_spec(spec["architecture"], spec["model"]),
        objective=section(
            Objective,
            "objective",
            **{k: v for k, v in OBJECTIVE_DEFAULTS.items() if k not in spec["objective"]},
        ),
        evaluation=Evaluation(**spec["evaluation"]),
        tokenizer=spec["tokenizer"],
        corpus=spec["corpus"],
        step=spec["step"],
        grow_from=section(Growth, "grow_from"),
        optimizer=section(
            Optimizer,
            "optimizer",
            **({} if "name" in (spec.get("optimizer") or {}) else {"name": "adamw"}),
        ),
        teacher=section(Teacher, "teacher"),
    )


@pytest.fixture(scope="module", params=["albert", "roberta"])
def tiny_model(request, tiny_tokenizer, tmp_path_factory):
    from transformers import AutoTokenizer

    from embryo.models.families import model_spec, new_model

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer)
    from .helpers import TINY_DIMS as dims

    model = new_model(
        request.param, model_spec(request.param, dims), tokenizer, 64, seed=0, sop=False
    )
    out = tmp_path_factory.mktemp(request.param)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_bert(tiny_tokenizer, tmp_path_factory):
    """A tiny BERT (2 layers of 32, 64 positions) with the tiny tokenizer, saved once."""
    from transformers import AutoTokenizer

    from embryo.models.families import model_spec, new_model

    from .helpers import TINY_DIMS

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer)
    out = tmp_path_factory.mktemp("tiny-bert") / "bert"
    model = new_model("bert", model_spec("bert", TINY_DIMS), tokenizer, 64, seed=0, sop=False)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
