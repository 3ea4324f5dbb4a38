"""The registry (embryo.registry) and the rules agree; every rule's code is its script's."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from embryo import config as ec
from embryo import registry
from embryo.embryology.probing import TASKS as PROBE_TASKS
from embryo.transfer.reinit import _PATTERNS as SCHEME_PATTERNS

from .conftest import REPO

BLOCK = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.S | re.M)
RULES = {
    name: body
    for path in sorted((REPO / "rules").glob("*.smk"))
    for name, body in BLOCK.findall(path.read_text())
}
SCRIPTS = {p.stem for p in (REPO / "workflow" / "scripts").glob("*.py")}
SCHEMA = ec.load_schema(REPO / "config" / "schema.yaml")
STUDIES = set(SCHEMA["properties"]["inheritance"]["properties"]["studies"]["properties"])


def test_rules_are_found():
    assert {"pretrain", "pretrain_student", "table", "figure", "findings"} <= set(RULES)


@pytest.mark.parametrize("rule", sorted(set(RULES) - {"all"}))
def test_a_rules_code_is_the_fingerprint_of_its_own_script(rule):
    body = RULES[rule]
    script = re.search(r'script:\n\s+"\.\./workflow/scripts/(\w+)\.py"', body)
    assert script, f"rule {rule} has no script"
    code = re.findall(r"code=(?:lambda w: )?code\(\"(\w+)\"", body)
    assert code == [script.group(1)], f"rule {rule}: code={code}, script {script.group(1)}"
    assert re.search(r"^    log:", body, re.M) and re.search(r"^    benchmark:", body, re.M)
    assert f'**cluster_resources("{rule}")' in body
    assert re.search(rf'"results/logs/{rule}[/.]', body), f"rule {rule}: log under its name"


def reached(script) -> set[str]:
    """The library modules a script reaches through its imports, followed by this test's
    own reading of them (tests/test_layout.py), for the fingerprint to be checked against:
    every module with code, but the runtime, the config and the registry."""
    from .helpers import MODULES, imports

    seen, todo = set(), list(imports(script))
    while todo:
        module = todo.pop()
        if module in seen or module not in MODULES:
            continue
        seen.add(module)
        todo.extend(imports(MODULES[module]))
        parts = module.split(".")
        todo.extend(".".join(parts[:k]) for k in range(2, len(parts)))  # its packages run too
    skip = ("embryo.runtime", "embryo.config", "embryo.registry")
    return {m for m in seen if not m.startswith(skip) and ast_has_code(MODULES[m])}


def ast_has_code(path) -> bool:
    import ast

    body = ast.parse(path.read_text()).body
    return bool(body[1:] if body and isinstance(body[0], ast.Expr) else body)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_scripts_fingerprint_covers_exactly_the_modules_it_reaches(script):
    from embryo.runtime.fingerprint import modules

    path = REPO / "workflow" / "scripts" / f"{script}.py"
    assert set(modules(scripts=[path])) == reached(path)


def test_every_script_belongs_to_a_rule():
    used = {re.search(r"scripts/(\w+)\.py", b).group(1) for r, b in RULES.items() if r != "all"}
    assert used == SCRIPTS


def test_tables_name_rules_sections_and_captions():
    for table in registry.TABLES:
        assert table.section in registry.SECTIONS, table.name
        assert len(table.caption) > 40, table.name
        for rule in (*registry.UPSTREAM, *table.lineage, table.rule):
            assert rule in RULES, (table.name, rule)
        if table.per_checkpoint:
            assert table.rule == "table" and table.name in RULES, table.name
            output = "results/{run}/step-{step}/" + table.per_checkpoint
            assert f'"{output}"' in RULES[table.name], (table.name, output)
            # the per-item outcomes: an output of the rule, or a file in its output folder
            items = "results/{run}/step-{step}/" + table.items
            inside = table.items.startswith(table.per_checkpoint + "/")
            assert inside or f'per_item="{items}"' in RULES[table.name], (table.name, items)
        if table.items and not table.per_checkpoint:  # beside the last rule's output
            assert f'/{table.items}"' in RULES[table.lineage[-1]], table.name
        if table.rule != "table":  # a table of its own rule: its report entry has the caption
            body = RULES[table.rule]
            assert f'caption=caption("{table.name}")' in body, table.name
            assert f'registry.section("{table.name}")' in body, table.name


def need_is_known(need: str) -> bool:
    for alternative in need.split("|"):
        kind, _, value = alternative.partition(":")
        if kind == "family":
            assert value in SCHEME_PATTERNS, need
        elif kind == "probe_task":
            assert value in PROBE_TASKS, need
        elif kind == "ki_study":
            assert value in STUDIES, need
        else:
            assert alternative in registry.FACTS, need
    return True


def test_figures_name_functions_tables_needs_and_sections():
    for figure in registry.FIGURES:
        module, function = figure.draw.split(":")
        assert module.startswith("embryo.plots.")
        assert callable(getattr(importlib.import_module(module), function)), figure.name
        assert set(figure.tables) <= set(registry.TABLE), figure.name
        assert figure.section in registry.SECTIONS and len(figure.caption) > 40
        assert all(need_is_known(n) for n in figure.needs)
    for table in registry.TABLES:
        assert all(need_is_known(n) for n in table.needs)
    assert len(registry.FIGURE) == len(registry.FIGURES)  # names are unique
    assert not set(registry.FIGURE) & {"findings", "provenance"}
    with pytest.raises(KeyError, match="neither a table nor a figure"):
        registry.section("nothing")


def test_every_fact_kind_is_declared_and_needed():
    """The registry's fact kinds (family:, probe_task:, ki_study:) are each needed by some
    table or figure, and each plain fact too: a declared fact no output needs is dead."""
    items = (*registry.TABLES, *registry.FIGURES)
    needs = {alt for item in items for need in item.needs for alt in need.split("|")}
    plain = {n for n in needs if ":" not in n}
    kinds = {n.split(":")[0] for n in needs if ":" in n}
    assert plain | {"analysed"} == set(registry.FACTS)  # analysed: per_checkpoint tables
    assert kinds == set(registry.FACT_KINDS)
    assert registry.declared("family:single") and not registry.declared("family:")
    assert not registry.declared("nothing") and not registry.declared("colour:red")


def test_the_demo_plans_every_table_and_figure_of_the_registry():
    """The demo config produces every table, and every figure but those of scrambling (its
    grid has none) and of the knowledge-inheritance studies (config/ki-studies.yaml and
    the paper overlay draw them, tests/test_paper.py)."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "--detailed-summary",
        "--configfile",
        "config/config.yaml",
        "-d",
        str(REPO / ".snakemake" / "registry-test"),
    ]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    planned = set(
        re.findall(r"^results/(?:tables|figures)/(\w+)\.(?:csv|json|png)\t", result.stdout, re.M)
    )
    tables = {t.name for t in registry.TABLES}
    studies = {
        f.name
        for f in registry.FIGURES
        if f.name.startswith("ki_") and any(n.startswith("ki_study:") for n in f.needs)
    }
    figures = {f.name for f in registry.FIGURES} - {"transfer_scramble"} - studies
    assert tables | figures == planned
