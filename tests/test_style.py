"""Style checks as tests: ruff (lint and format), snakefmt, and snakemake --lint; the
formatter owns the layout (no ``fmt: skip`` without a reason); no rule file grows past a
few screens; no test module imports another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

BIN = Path(sys.executable).parent


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args", [("check",), ("format", "--check")])
def test_ruff(args):
    result = run(str(BIN / "ruff"), *args, "src", "tests", "workflow", "benchmarks", "docs/hooks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt():
    result = run(str(BIN / "snakefmt"), "--check", "Snakefile", "rules")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_formatter_owns_the_layout():
    """At most a handful of ``fmt: skip`` / ``fmt: off`` markers, each saying why."""
    markers = []
    for folder in ("src", "tests", "workflow", "benchmarks", "rules", "docs"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix not in (".py", ".smk") or path.name == "test_style.py":
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if "fmt: skip" in line or "fmt: off" in line:
                    markers.append((path.relative_to(REPO), n, line.split("fmt:")[1]))
    assert len(markers) <= 5, markers
    assert all(len(reason.split()) > 3 for *_, reason in markers), markers


def test_rule_files_stay_a_few_screens():
    """The workflow layer split by concern: no rule file (common.smk included) over 400 lines."""
    long = {
        p.name: n
        for p in (REPO / "rules").glob("*.smk")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long


def test_no_test_module_imports_another():
    """What tests share lives in conftest.py and helpers.py, so each test file stands alone."""
    import ast

    found = []
    for path in sorted((REPO / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names if not node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [(path.name, n) for n in names if n.split(".")[-1].startswith("test_")]
    assert not found, found


def test_snakemake_lint_runs_through_and_reports_only_the_environment_advice():
    """--lint may advise a conda environment or container per rule (conda is unavailable here).

    It exits 1 when it has advice; so that a lint that fails (a parse error, an exception)
    does not pass for one with advice, every rule but ``all`` must have been linted.
    """
    import re

    result = run(sys.executable, "-m", "snakemake", "--lint", "--configfile", "config/config.yaml")
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1), output
    rules = {
        m
        for path in (REPO / "rules").glob("*.smk")
        for m in re.findall(r"^rule (\w+):", path.read_text(), flags=re.M)
    }
    linted = set(re.findall(r"^Lints for rule (\w+) ", output, flags=re.M))
    assert linted == rules, output
    lints = [line.strip() for line in output.splitlines() if line.lstrip().startswith("* ")]
    unexpected = [lint for lint in lints if "conda environment or container" not in lint]
    assert not unexpected, output
