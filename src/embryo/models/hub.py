"""The Hugging Face Hub as a checkpoint series reads it: refs, commits and weight files.

Every call reads ``HF_HUB_OFFLINE`` and the cache's place (``HF_HUB_CACHE``, ``HF_HOME``)
when it is made and passes them on (``cache_dir``, ``local_files_only``), rather than
relying on what ``huggingface_hub`` read when it was first imported.

Online, through ``huggingface_hub``'s ``HfApi`` (``list_repo_refs``, ``model_info`` with
file metadata) and ``snapshot_download``; with ``HF_HUB_OFFLINE=1``, from the local cache
that ``huggingface_hub`` writes (``models--{org}--{name}/refs/{revision}`` holding a
commit, ``snapshots/{commit}/{file}`` linking to ``blobs/{etag}``, an LFS file's etag
being its SHA-256), so that a cluster node without network, and the test suite, read a
series from a cache exactly as the Hub would have answered. Nothing here imports torch.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

from embryo.runtime.errors import EmbryoError

# the weight files of a save_pretrained directory (sharded or not), by name
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
# what a checkpoint needs besides its weights: its config and its tokenizer's files
SMALL_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "*.model",
    "added_tokens.json",
)
COMMIT = re.compile(r"[0-9a-f]{40}")


def is_weight_file(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in WEIGHT_PATTERNS)


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB chunks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def load_kwargs() -> dict:
    """What ``from_pretrained`` needs to read a Hub checkpoint as this module does."""
    return {"cache_dir": str(cache_dir()), "local_files_only": offline()}


def offline() -> bool:
    """Whether the Hub may not be reached (``HF_HUB_OFFLINE``, read now, not at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def cache_dir() -> Path:
    """The Hub cache of this process (``HF_HUB_CACHE``, else ``HF_HOME``/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return Path(home) / "hub"


def repo_cache(repo_id: str) -> Path:
    """A model repository's folder in the cache (``models--org--name``)."""
    return cache_dir() / ("models--" + repo_id.replace("/", "--"))


def list_refs(repo_id: str) -> dict[str, str]:
    """The repository's branches and tags: {ref name: commit}. Offline, the refs the cache
    holds (every revision once downloaded by name)."""
    if offline():
        refs = repo_cache(repo_id) / "refs"
        if not refs.is_dir():
            raise EmbryoError(
                f"{repo_id}: not in the Hugging Face cache {cache_dir()} (HF_HUB_OFFLINE is "
                "set, so its refs cannot be listed from the Hub)"
            )
        return {
            p.relative_to(refs).as_posix(): p.read_text().strip()
            for p in sorted(refs.rglob("*"))
            if p.is_file()
        }
    from huggingface_hub import HfApi

    found = HfApi().list_repo_refs(repo_id)
    return {r.name: r.target_commit for r in [*found.branches, *found.tags]}


def commit_of(repo_id: str, revision: str | None) -> str:
    """The commit a revision (a branch, a tag, a commit, None for main) points to."""
    revision = revision or "main"
    if not offline():
        from huggingface_hub import HfApi

        return HfApi().model_info(repo_id, revision=revision).sha
    if COMMIT.fullmatch(revision) and (repo_cache(repo_id) / "snapshots" / revision).is_dir():
        return revision
    ref = repo_cache(repo_id) / "refs" / revision
    if not ref.is_file():
        raise EmbryoError(
            f"{repo_id}@{revision}: no such revision in the Hugging Face cache {cache_dir()} "
            "(HF_HUB_OFFLINE is set)"
        )
    return ref.read_text().strip()


def weight_files(repo_id: str, revision: str | None) -> dict:
    """``{"commit", "files": {weight file: SHA-256}}`` of a revision, from the Hub's file
    metadata (no download: an LFS file's own SHA-256, else its git blob id), or offline
    from the cached snapshot's files."""
    if not offline():
        from huggingface_hub import HfApi

        info = HfApi().model_info(repo_id, revision=revision, files_metadata=True)
        files = {
            s.rfilename: (s.lfs.sha256 if s.lfs is not None else s.blob_id)
            for s in info.siblings or []
            if is_weight_file(s.rfilename)
        }
        return {"commit": info.sha, "files": files}
    commit = commit_of(repo_id, revision)
    snapshot = repo_cache(repo_id) / "snapshots" / commit
    files = {p.name: sha256_file(p) for p in sorted(snapshot.iterdir()) if is_weight_file(p.name)}
    return {"commit": commit, "files": files}


def small_files(repo_id: str, commit: str) -> Path:
    """A local folder with the config and tokenizer files of ``repo_id`` at ``commit``
    (downloaded if need be; from the cache offline)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(
                repo_id,
                revision=commit,
                allow_patterns=list(SMALL_FILES),
                cache_dir=cache_dir(),
                local_files_only=offline(),
            )
        )
    except Exception as err:  # noqa: BLE001 - huggingface_hub's errors name the file
        raise EmbryoError(f"{repo_id}@{commit}: its config and tokenizer files: {err}") from None


def cached_config(repo_id: str, revision: str | None) -> dict | None:
    """``config.json`` of a revision if the cache has it (no network), else None."""
    import json

    from huggingface_hub import try_to_load_from_cache

    path = try_to_load_from_cache(
        repo_id, "config.json", revision=revision or "main", cache_dir=cache_dir()
    )
    if not isinstance(path, str):
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
