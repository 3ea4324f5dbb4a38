"""Parse-time checks of the settings for running at scale (config ``cluster``)."""

from __future__ import annotations

import os
from pathlib import Path

from embryo.runtime.errors import EmbryoError


def cache_dir(spec: str) -> str:
    """``cluster.cache_dir`` as an absolute path (``~`` and ``$VARS`` expanded, relative to
    the working directory), created if absent; an error naming the key unless this user
    can write there."""
    expanded = os.path.expandvars(os.path.expanduser(spec))
    if "$" in expanded:
        raise EmbryoError(f"config: cluster.cache_dir {spec!r}: an environment variable is unset")
    path = Path(expanded).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EmbryoError(f"config: cluster.cache_dir {str(path)!r} cannot be created: {e}") from e
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise EmbryoError(
            f"config: cluster.cache_dir {str(path)!r} is not a directory this user can write"
        )
    return str(path)


def use_cache_dir(spec: str | None) -> None:
    """Point the Hugging Face caches (``HF_HOME``: the Hub's and ``datasets``') of this
    process and of every job it starts at ``cluster.cache_dir`` (:func:`cache_dir`);
    None leaves the environment as it is."""
    if spec is not None:
        os.environ["HF_HOME"] = cache_dir(spec)
