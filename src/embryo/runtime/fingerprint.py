"""Code fingerprints: a short hash of what a job's code does, not of how its text looks.

Every rule passes ``code("<script>")`` (``rules/fingerprints.smk``) among its ``params``: the
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
import json
import sys
from functools import cache
from pathlib import Path

from embryo.runtime.atomic import write_json

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


def _import_names(tree: ast.AST) -> tuple[list[str], list[str]]:
    """The ``embryo`` names a syntax tree imports, anywhere in it: (modules, and the names
    imported ``from`` a module, which may be submodules: ``from embryo.data import corpus``,
    ``from embryo.data.builtin import world``)."""
    sure, maybe = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embryo"):
            sure.add(node.module)
            maybe.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            sure.update(a.name for a in node.names if a.name.startswith("embryo"))
    return sorted(sure), sorted(maybe)


def _imports(sure: list[str], maybe: list[str]) -> frozenset[str]:
    """The hashed ``embryo`` modules that :func:`_import_names`'s names import."""
    deps = {*sure, *(name for name in maybe if _is_module(name))}
    # importing embryo.data.corpus runs embryo/data/__init__.py first
    deps |= {d.rsplit(".", k)[0] for d in deps for k in range(1, d.count("."))}
    return frozenset(d for d in deps if not unhashed(d))


# What parsing a file gave, by the SHA-256 of its bytes: [normalised code, modules,
# maybe-submodules]. Kept between parses of the workflow in a JSON file (use_cache), so
# that an unchanged file is hashed, not parsed again. The key is the file's whole content,
# so an entry is what parsing the same bytes gives; a cache written by another Python
# version (whose ast.dump may differ) is not read.
_PARSED: dict[str, list] = {}
_CACHE = {"path": None, "new": False}


def use_cache(path) -> None:
    """Read earlier parses from the JSON file ``path``, and let :func:`save_cache` write
    them back there (an absent or unreadable file: parse again)."""
    path = Path(path)
    _CACHE["path"] = path
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(stored, dict) and stored.get("python") == sys.version:
        _PARSED.update(stored.get("files") or {})


def save_cache() -> None:
    """Write the parses to :func:`use_cache`'s file, if there were new ones since."""
    if _CACHE["path"] is not None and _CACHE["new"]:
        write_json(_CACHE["path"], {"python": sys.version, "files": _PARSED})
        _CACHE["new"] = False


@cache
def _read(path: str) -> tuple[str, frozenset[str]]:
    """(normalised code, embryo modules imported) of the Python file at ``path``."""
    data = Path(path).read_bytes()
    key = hashlib.sha256(data).hexdigest()
    if key not in _PARSED:
        tree = ast.parse(data, path)
        sure, maybe = _import_names(tree)  # before the dump strips the tree's docstrings
        _PARSED[key] = [_dump(tree), sure, maybe]
        _CACHE["new"] = True
    code, sure, maybe = _PARSED[key]
    return code, _imports(sure, maybe)


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
