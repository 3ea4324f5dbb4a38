"""Style checks as tests: ruff (lint and format), snakefmt, and snakemake --lint."""

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
    result = run(str(BIN / "ruff"), *args, "src", "tests", "workflow")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt():
    result = run(str(BIN / "snakefmt"), "--check", "Snakefile", "rules")
    assert result.returncode == 0, result.stdout + result.stderr


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
