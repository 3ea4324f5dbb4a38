"""The library's layout shows its architecture: stages import only the stages below them.

The order is the one ``src/embryo/__init__.py`` states; every import counts, at the top of
a module or inside a function. The registry, like the runtime, imports nothing else of
ours; the three studies are peers that do not import each other; nothing imports in a
cycle.
"""

from __future__ import annotations

import ast

import pytest

from .helpers import MODULES, PACKAGE, imports

RANK = {
    "runtime": 0,
    "registry": 0,
    "data": 1,
    "models": 2,
    "train": 3,
    "embryology": 4,
    "transfer": 4,
    "inheritance": 4,
    "results": 5,
    "plots": 6,
    "config": 7,
}


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_belongs_to_a_declared_stage():
    stages = {stage(m) for m in MODULES} - {None}
    assert stages == set(RANK)
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    for name in RANK:
        assert f"``{name}``" in doc or f"embryo.{name}" in doc, name
    for name in RANK:
        if (PACKAGE / name).is_dir():
            package_doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
            assert package_doc and "import" in package_doc.lower(), name


@pytest.mark.parametrize("module", sorted(m for m in MODULES if stage(m)))
def test_a_stage_imports_only_the_stages_below_it(module):
    own = stage(module)
    wrong = []
    for target in imports(MODULES[module]):
        other = stage(target)
        if target == "embryo" or other == own:
            continue
        if own in ("runtime", "registry") or RANK[other] >= RANK[own]:
            wrong.append(target)
    assert not wrong, f"{module} ({own}) imports {wrong}"


def test_no_import_cycle():
    graph = {m: {t for t in imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles
