"""Real data: tiny BERT and ALBERT pretrained on WikiText-2 (../shared/data) learn."""

from __future__ import annotations

import json

import pytest

from embryo.blocks import pack_corpus
from embryo.corpus import prepare_corpus
from embryo.pretrain import run_segment
from embryo.tokenizer import train_tokenizer_from_parquet

pytestmark = [pytest.mark.slow, pytest.mark.realdata]
STEPS = 300


@pytest.fixture(scope="module")
def wikitext(tmp_path_factory):
    from .conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data mirror {SHARED_DATA} is absent (see ../shared/data/README.md)")
    root = tmp_path_factory.mktemp("wikitext")
    spec = {
        "source": "local",
        "format": "wikitext",
        "files": ["wikitext-2/valid.txt"],
        "validation_files": ["wikitext-2/test.txt"],
    }
    prepare_corpus(spec, SHARED_DATA, root / "train.parquet", root / "validation.parquet")
    return root


@pytest.mark.parametrize("architecture,algorithm", [("bert", "wordpiece"), ("albert", "unigram")])
def test_validation_loss_falls_well_below_initialisation(
    wikitext, architecture, algorithm, tmp_path
):
    tokenizer = tmp_path / "tokenizer"
    train_tokenizer_from_parquet(
        wikitext / "train.parquet", tokenizer, algorithm=algorithm, vocab_size=4000, lowercase=True
    )
    blocks = tmp_path / "blocks"
    pack_corpus(
        tokenizer,
        wikitext / "train.parquet",
        wikitext / "validation.parquet",
        blocks,
        block_size=64,
    )
    settings = {
        "architecture": architecture,
        "seed": 0,
        "block_size": 64,
        "tokenizer": "t",
        "corpus": "c",
        "model": {"size": "tiny", "dropout": 0.1, "initializer_range": 0.02},
        "objective": {"mlm_probability": 0.15, "sop": False},
        "evaluation": {"batch_size": 64, "max_blocks": 256},
    }
    optimizer = {
        "lr": 2e-3,
        "weight_decay": 0.01,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-6,
        "warmup_steps": 30,
        "total_steps": STEPS,
        "batch_size": 32,
        "grad_accum": 1,
        "max_grad_norm": 1.0,
        "mixed_precision": "no",
    }
    common = {"blocks_dir": blocks, "tokenizer_dir": tokenizer, "threads": 2}
    start = run_segment(
        {**settings, "step": 0}, previous_dir=None, out_dir=tmp_path / "step-0", **common
    )
    end = run_segment(
        {**settings, "step": STEPS, "optimizer": optimizer},
        previous_dir=tmp_path / "step-0",
        out_dir=tmp_path / f"step-{STEPS}",
        **common,
    )
    print(json.dumps({"architecture": architecture, "start": start, "end": end}, indent=1))
    # ln(4000) = 8.3 nats at initialisation; a tiny model that learns unigram statistics
    # and some context gets well below 7.
    assert start["val_loss"] > 7.5
    assert end["val_loss"] < start["val_loss"] - 1.5
    assert end["val_accuracy"] > 0.05
