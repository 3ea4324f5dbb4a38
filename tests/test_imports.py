"""What a job pays before its work: the light modules stay light, and its log says how long.

To parse the workflow Snakemake imports some of ``embryo`` and fingerprints the code of every
rule (:mod:`embryo.runtime.fingerprint`), and every job's process imports
:mod:`embryo.runtime.warm` before it hands itself over: none of it should import torch or the other heavy libraries (seconds
each; on a cluster every job parses the workflow). Each in a fresh interpreter, checked on
``sys.modules``.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from .conftest import REPO

HEAVY = ("torch", "transformers", "datasets", "sklearn", "scipy", "pandas", "pyarrow", "matplotlib")
SOURCES = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
# the embryo modules the workflow imports at parse time, and the scripts its rules fingerprint
IMPORT = re.compile(r"^(?:import|from) (embryo[\w.]*)", re.MULTILINE)
PARSE_TIME = sorted({name for path in SOURCES for name in IMPORT.findall(path.read_text())})
SCRIPTS = sorted(str(p) for p in (REPO / "workflow" / "scripts").glob("*.py"))


def _heavy_after(code: str, *args: str) -> list[str]:
    """The heavy libraries loaded in a fresh interpreter after ``code``."""
    code += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}
    return sorted(loaded & set(HEAVY))


def test_the_workflow_imports_embryo_modules_at_parse_time():
    assert "embryo.config" in PARSE_TIME and "embryo.runtime.fingerprint" in PARSE_TIME
    assert "embryo.config.overview" in PARSE_TIME and len(SCRIPTS) > 20


@pytest.mark.parametrize(
    "module",
    sorted(
        {"embryo", "embryo.runtime.warm", "embryo.registry", "embryo.config.settings", *PARSE_TIME}
    ),
)
def test_light_modules_import_no_heavy_library(module):
    assert _heavy_after("import importlib, sys; importlib.import_module(sys.argv[1])", module) == []


def test_fingerprinting_the_rules_imports_no_heavy_library():
    code = (
        "import sys\nfrom embryo.runtime.fingerprint import fingerprint\n"
        "fingerprint(scripts=sys.argv[1:])"
    )
    assert _heavy_after(code, *SCRIPTS) == []


def test_building_every_jobs_settings_imports_no_heavy_library():
    """The settings NamedTuples live beside their code; building them must stay light."""
    code = (
        "import sys\nfrom embryo import config as ec\nfrom embryo.config import settings\n"
        "cfg = ec.load(sys.argv[1], sys.argv[2])\n"
        "for run in cfg['runs']:\n"
        "    for step in ec.checkpoint_steps(cfg['runs'][run]):\n"
        "        settings.segment(cfg, run, step)\n"
        "settings.finetuning(cfg), settings.probing(cfg), settings.task_probing(cfg)\n"
        "[settings.tokenizer(cfg, t) for t in cfg['tokenizers']]\n"
    )
    paths = str(REPO / "config" / "config.yaml"), str(REPO / "config" / "schema.yaml")
    assert _heavy_after(code, *paths) == []


# A job script as Snakemake runs it: its preamble defines `snakemake`; the job's own process
# spends SLEEP seconds before it hands over, the warm child none.
SCRIPT = """
import os, sys, time
snakemake = None
if "EMBRYO_WARM_CHILD" not in os.environ:
    time.sleep(float(sys.argv[2]))
from embryo.runtime.warm import delegate
delegate()
from embryo.runtime.logs import logged
with logged(sys.argv[1]):
    print("work")
"""
SLEEP = 0.5
LINE = re.compile(r"embryo: started work (\d+\.\d\d) s after the job's process started \((\w+)\)")


@pytest.mark.skipif(not os.path.isdir("/proc") or not hasattr(os, "fork"), reason="needs /proc")
@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_a_job_log_begins_with_the_time_since_the_jobs_process_started(tmp_path, mode):
    (tmp_path / "job.py").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("EMBRYO_WARM", "SLURM_JOB_ID")}
    env |= {"EMBRYO_WARM": "0"} if mode == "cold" else {"EMBRYO_WARM_IDLE": "3"}
    subprocess.run(
        [sys.executable, "job.py", "job.log", str(SLEEP)],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=300,
    )
    first, *rest = (tmp_path / "job.log").read_text().splitlines()
    match = LINE.fullmatch(first)
    assert match and match.group(2) == mode, first
    assert rest == ["work", "embryo: ran -"]  # and the library modules it ran: none
    # counted from the start of the process that ran the script, not from the warm child's
    assert float(match.group(1)) >= SLEEP
