"""Code fingerprints: a short hash of the library modules a job runs.

A rule passes ``fingerprint("embryo.pretrain")`` among its ``params``, so Snakemake's
params trigger reruns exactly the jobs whose library code changed: editing the probing
code reruns the probes, not the pretraining. The hash covers the named modules and,
transitively, every ``embryo`` module they import.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import cache
from pathlib import Path


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module, found without running it or its parent module.

    ``find_spec("a.b.c")`` imports ``a.b``; when ``a.b`` is a module rather than a package
    (``from embryo.objective import PretrainingLoss``), that would import torch while
    the Snakefile is parsed. So ask first whether the parent is a package.
    """
    parent = importlib.util.find_spec(name.rpartition(".")[0])
    if parent is None or parent.submodule_search_locations is None:
        return False
    return importlib.util.find_spec(name) is not None


@cache
def _source(module: str) -> tuple[str, frozenset[str]]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(module)
    text = Path(spec.origin).read_text()
    deps = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embryo"):
            deps.add(node.module)
            # from embryo import corpus / from embryo.builtin import world: submodules
            deps.update(
                f"{node.module}.{a.name}"
                for a in node.names
                if _is_module(f"{node.module}.{a.name}")
            )
        elif isinstance(node, ast.Import):
            deps.update(a.name for a in node.names if a.name.startswith("embryo"))
    return text, frozenset(deps - {"embryo"})


def modules(*names: str) -> list[str]:
    """The named modules and every embryo module they import, transitively, sorted."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_source(name)[1])
    return sorted(seen)


def fingerprint(*names: str) -> str:
    """A 12-hex-digit hash of the source of ``names`` and their embryo imports."""
    h = hashlib.sha256()
    for name in modules(*names):
        h.update(name.encode() + b"\0" + _source(name)[0].encode() + b"\0")
    return h.hexdigest()[:12]
