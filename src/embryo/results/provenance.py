"""Provenance of the tables: what produced every row.

``results/tables/provenance.json`` sits next to the tables and records, for each table,
its file's SHA-256, its rows and columns, the rules that produced it from the corpus
(``embryo.registry``: the upstream rules and the table's lineage) with the code
fingerprint of each and of them all, and the library modules they ran
(:mod:`embryo.runtime.fingerprint`); and, for all of them, the validated config with its
defaults filled in, each run's resolved settings (:func:`embryo.config.settings.segment`
at its last checkpoint: what its checkpoints depend on), the versions of the packages
that matter, the lock file they were installed from (:func:`environment`) and the git
commit of the workflow.
A row is traced through its keys: ``run`` to the run's settings, ``task`` to the task's,
the table to its code.

The fingerprints and settings are those of the current code and config; Snakemake's
params triggers rerun every job whose code or settings changed, so once the workflow is
complete they are also those that produced the tables. Package versions are those of the
environment that wrote this file: Snakemake does not rerun jobs when a package is
upgraded (``--forcerun`` does).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

PACKAGES = (
    "embryo",
    "torch",
    "transformers",
    "tokenizers",
    "datasets",
    "accelerate",
    "safetensors",
    "snakemake",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "scikit-learn",
    "matplotlib",
)


def package_versions(names=PACKAGES) -> dict:
    """Installed version of each package (None when it is not installed), without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


LOCK_FILE = "requirements.lock"


def environment(root, lock_file=LOCK_FILE) -> dict:
    """The lock file the environment was built from (``scripts/bootstrap`` installs with it
    as constraints; ``make lock`` refreshes it): its SHA-256 and the locked packages whose
    installed version differs from the lock (an empty list: this environment is the lock's).
    torch is not locked: its build (CPU or CUDA) is the machine's."""
    from importlib.metadata import PackageNotFoundError, version

    path = Path(root) / lock_file
    if not path.exists():
        return {"lock_file": lock_file, "sha256": None, "differs": None}
    differs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, sep, locked = line.partition("==")
        if not sep:
            raise ValueError(f"{path}:{number}: expected name==version, got {line!r}")
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != locked:
            differs.append(f"{name} {installed or 'missing'} (locked {locked})")
    return {
        "lock_file": lock_file,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "differs": differs,
    }


def git_state(root) -> dict:
    """The commit checked out at ``root`` and whether the tree has changes (None outside git)."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
        )

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def table_record(path) -> dict:
    """A table file's SHA-256, rows and columns."""
    import pandas as pd

    path = Path(path)
    data = path.read_bytes()
    table = pd.read_csv(path) if data.strip() else pd.DataFrame()
    return {
        "file": str(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows": len(table),
        "columns": list(table.columns),
        "runs": sorted(map(str, table["run"].unique())) if "run" in table else [],
    }


def record(
    tables: list,
    *,
    code: dict,
    packages: dict,
    overview: dict,
    runs: dict,
    config: dict,
    root,
    environment: dict | None = None,
) -> dict:
    """The provenance file's content: tables, code, packages (and the lock file they were
    installed from), git state, runs and config."""
    import datetime
    import platform

    records = {}
    for path in tables:
        name = Path(path).stem
        records[name] = {**table_record(path), "code": code[name]}
    return {
        "written": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "workflow": git_state(root),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "environment": environment,
        "tables": records,
        "overview": overview,
        "runs": runs,
        "config": config,
    }
