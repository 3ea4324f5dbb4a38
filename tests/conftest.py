"""Shared fixtures: a tiny synthetic corpus, tokenizer and packed blocks; the real-data mirror."""

from __future__ import annotations

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
    from embryo.tokenizer import train_tokenizer_from_parquet

    out = tmp_path_factory.mktemp("tok") / "wordpiece"
    train_tokenizer_from_parquet(
        tiny_corpus[0], out, algorithm="wordpiece", vocab_size=120, lowercase=True
    )
    return out


@pytest.fixture(scope="session")
def tiny_blocks(tiny_corpus, tiny_tokenizer, tmp_path_factory):
    from embryo.blocks import pack_corpus

    out = tmp_path_factory.mktemp("blocks") / "block32"
    pack_corpus(tiny_tokenizer, *tiny_corpus, out, block_size=32)
    return out


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data mirror {SHARED_DATA} is absent (see ../shared/data/README.md)")
    return SHARED_DATA
