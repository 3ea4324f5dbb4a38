"""A stand-in for the Hugging Face Hub: a local cache laid out as ``huggingface_hub`` writes it.

Not a test module. :func:`publish` puts a ``save_pretrained`` folder into a cache under a
repository id and revision names, exactly as ``huggingface_hub`` leaves a download:
``models--{org}--{name}/blobs/{etag}`` (an LFS file's etag is its SHA-256, a small file's
its git blob id), ``snapshots/{commit}/{file}`` linking to the blob, and
``refs/{revision}`` holding the commit. Read with ``HF_HUB_OFFLINE=1`` and ``HF_HUB_CACHE``
pointing there, ``from_pretrained(repo_id, revision=...)`` loads from it and
``embryo.models.hub`` lists its refs and weight files as the Hub would answer.
:func:`multiberts` and :func:`ettin` fill it with tiny models under the suites' real ids
and revision names.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .tiny_models import save_tiny


def git_blob_id(data: bytes) -> str:
    """git's object id of a blob (what the Hub reports for a file not in LFS)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(name: str) -> bool:
    return name.endswith((".safetensors", ".bin", ".model", ".h5"))


def publish(cache: Path, repo_id: str, folder: Path, revisions=("main",)) -> str:
    """Put ``folder``'s files into ``cache`` as commit of ``repo_id`` that ``revisions``
    (branches or tags) point to; return the commit."""
    repo = Path(cache) / ("models--" + repo_id.replace("/", "--"))
    files = {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()}
    etags = {
        name: hashlib.sha256(data).hexdigest() if is_lfs(name) else git_blob_id(data)
        for name, data in files.items()
    }
    commit = hashlib.sha1(json.dumps([repo_id, sorted(etags.items())]).encode()).hexdigest()
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        blob = repo / "blobs" / etags[name]
        if not blob.exists():
            blob.write_bytes(data)
        link = snapshot / name
        if not link.is_symlink():
            os.symlink(Path("..") / ".." / "blobs" / etags[name], link)
    for revision in revisions:
        ref = repo / "refs" / revision
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(commit)
    return commit


MULTIBERTS_STEPS = (0, 20_000, 40_000)  # of 0, 20k ... 200k, 300k ... 2,000k


def multiberts(cache: Path, work: Path, seeds=(0, 1), steps=MULTIBERTS_STEPS) -> dict:
    """MultiBERTs as the Hub has it, at toy size: one repository per seed and step,
    ``google/multiberts-seed_{seed}-step_{k}k`` (its main branch), each a BERT; returns
    {(seed, step): repo id}."""
    out = {}
    for seed in seeds:
        for step in steps:
            repo_id = f"google/multiberts-seed_{seed}-step_{step // 1000}k"
            folder = save_tiny("bert", Path(work) / repo_id, seed=1000 * seed + step // 1000)
            publish(cache, repo_id, folder)
            out[seed, step] = repo_id
    return out


ETTIN_REVISIONS = ("step0", "step2998", "step5996", "ext1000", "decay100")


def ettin(cache: Path, work: Path, sizes=("17m",), revisions=ETTIN_REVISIONS) -> dict:
    """Ettin's encoders as the Hub has them, at toy size: ``jhu-clsp/ettin-encoder-{size}``,
    a ModernBERT, one commit per tagged training checkpoint (``step{N}`` pretraining,
    ``ext{N}`` extension, ``decay{N}`` decay) and ``main`` at the last; returns
    {size: {revision: commit}}."""
    out = {}
    for n, size in enumerate(sizes):
        repo_id = f"jhu-clsp/ettin-encoder-{size}"
        commits = {}
        for k, revision in enumerate(revisions):
            folder = save_tiny("modernbert", Path(work) / repo_id / revision, seed=100 * n + k)
            last = k == len(revisions) - 1
            commits[revision] = publish(
                cache, repo_id, folder, (revision, "main") if last else (revision,)
            )
        out[size] = commits
    return out


def kept_refs(path: Path, repos: dict[str, list[str]]) -> Path:
    """A refs listing as the workflow keeps it (``.snakemake/embryo-refs.json``, written on
    the first parse): {repo id: ref names}, each ref a made-up commit. For parsing a preset
    whose steps are a repository's tags where neither the Hub nor a cache holds them."""
    listing = {
        repo: {
            "refs": {n: hashlib.sha1(f"{repo}@{n}".encode()).hexdigest() for n in names},
            "listed": "stand-in",
        }
        for repo, names in repos.items()
    }
    Path(path).write_text(json.dumps(listing, indent=2))
    return Path(path)
