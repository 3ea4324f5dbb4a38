"""Code fingerprints: a short hash of what a job's code does, not of how its text looks.

Every rule passes ``code("<script>")`` (``rules/common.smk``) among its ``params``: the
fingerprint of its job script and of every ``embryo`` module the script imports,
transitively, found by reading their imports (top-level or inside functions), without
running them. Snakemake's params trigger then reruns exactly the jobs whose code
changed: editing the probing code reruns the probes and what reads them, not the
pretraining.

What is hashed is each file's abstract syntax tree with its docstrings removed, dumped
without line and column numbers (:func:`normalised`): a comment, a docstring or a
reformatting changes nothing; any change to what the code does changes the hash. (A new
Python version may dump the same code differently and so rerun everything once.)

Three parts of the library are never part of a fingerprint:

- :mod:`embryo.runtime` (this stage): atomic writes, errors, logs, locks, the warm
  interpreter, this module; they decide how a job runs and writes, not what it computes;
- :mod:`embryo.config` and :mod:`embryo.registry`: they run while the workflow is parsed,
  and everything they decide reaches a job as its params, which Snakemake compares;
- the root package ``embryo`` (its version string only).

Their imports are not followed either.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import cache
from pathlib import Path

# modules (and their submodules) that are no part of any fingerprint: module docstring
UNHASHED = ("embryo.runtime", "embryo.config", "embryo.registry")


def unhashed(module: str) -> bool:
    """Whether ``module`` is infrastructure or parse-time code (module docstring)."""
    return module == "embryo" or any(
        module == prefix or module.startswith(prefix + ".") for prefix in UNHASHED
    )


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):  # a module may be left empty
                    node.body = body[1:] or ([] if isinstance(node, ast.Module) else [ast.Pass()])
    return tree


def normalised(source: str, filename: str = "<source>") -> str:
    """The code of ``source`` without comments, docstrings, layout or positions."""
    return _dump(ast.parse(source, filename))


def _dump(tree: ast.AST) -> str:
    """:func:`normalised` of a parsed tree (whose docstrings it removes in place)."""
    return ast.dump(_strip_docstrings(tree), annotate_fields=False, include_attributes=False)


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module, found without running it or its parent module.

    ``find_spec("a.b.c")`` imports ``a.b``; when ``a.b`` is a module rather than a package
    (``from embryo.train.objective import PretrainingLoss``), that would import torch
    while the Snakefile is parsed. So ask first whether the parent is a package.
    """
    parent = importlib.util.find_spec(name.rpartition(".")[0])
    if parent is None or parent.submodule_search_locations is None:
        return False
    return importlib.util.find_spec(name) is not None


def _imports(tree: ast.AST) -> frozenset[str]:
    """The ``embryo`` modules a syntax tree imports, anywhere in it."""
    deps = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embryo"):
            deps.add(node.module)
            # from embryo.data import corpus / from embryo.data.builtin import world: submodules
            deps.update(
                f"{node.module}.{a.name}"
                for a in node.names
                if _is_module(f"{node.module}.{a.name}")
            )
        elif isinstance(node, ast.Import):
            deps.update(a.name for a in node.names if a.name.startswith("embryo"))
    # importing embryo.data.corpus runs embryo/data/__init__.py first
    deps |= {d.rsplit(".", k)[0] for d in deps for k in range(1, d.count("."))}
    return frozenset(d for d in deps if not unhashed(d))


@cache
def _read(path: str) -> tuple[str, frozenset[str]]:
    """(normalised code, embryo modules imported) of the Python file at ``path``."""
    tree = ast.parse(Path(path).read_text(), path)  # parsed once: imports, then the dump
    imports = _imports(tree)
    return _dump(tree), imports


def _module_file(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(module)
    return spec.origin


EMPTY = normalised("")


def modules(*names: str, scripts=()) -> list[str]:
    """The named modules and every embryo module they (and ``scripts``, paths of Python
    files) import, transitively, without the unhashed ones and packages whose
    ``__init__`` holds no code (a docstring at most); sorted."""
    seen, todo = set(), [n for n in names if not unhashed(n)]
    for script in scripts:
        todo.extend(_read(str(script))[1])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_read(_module_file(name))[1])
    return sorted(name for name in seen if counted(name))


def counted(module: str) -> bool:
    """Whether ``module`` is part of the fingerprints that reach it: not unhashed, and not a
    package whose ``__init__`` holds no code."""
    return not unhashed(module) and _read(_module_file(module))[0] != EMPTY


def fingerprint(*names: str, scripts=()) -> str:
    """A 12-hex-digit hash of the code of ``scripts`` (paths), ``names`` (modules) and
    every embryo module they import, transitively, except the unhashed ones."""
    h = hashlib.sha256()
    for script in scripts:
        h.update(b"script\0" + _read(str(script))[0].encode() + b"\0")
    for name in modules(*names, scripts=scripts):
        h.update(name.encode() + b"\0" + _read(_module_file(name))[0].encode() + b"\0")
    return h.hexdigest()[:12]
