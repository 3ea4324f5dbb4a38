"""Job logs: everything a job writes lands in its log; a failure is summarised on the terminal."""

import logging
import os
import sys

import pytest

from embryo.runtime.errors import EmbryoError
from embryo.runtime.logs import logged


def test_python_and_fd_level_output_reach_the_log(tmp_path, capfd):
    early = logging.StreamHandler(sys.__stderr__)  # made before the job, as in embryo.runtime.warm
    logger = logging.getLogger("embryo-test-early")
    logger.addHandler(early)
    log = tmp_path / "job.log"
    with logged(log):
        print("print")
        print("stderr", file=sys.stderr)
        os.write(1, b"fd 1\n")
        logger.warning("handler")
    print("after")
    logger.removeHandler(early)
    assert log.read_text().splitlines() == ["print", "stderr", "fd 1", "handler"]
    out, err = capfd.readouterr()
    assert out == "after\n" and err == ""


def test_a_failure_goes_to_the_log_and_a_summary_to_the_terminal(tmp_path, capfd):
    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as exit_, logged(log):
        raise EmbryoError("tasks/x.tsv, line 3: expected 2 columns")
    assert exit_.value.code == 1
    assert "Traceback" in log.read_text() and "line 3" in log.read_text()
    _, err = capfd.readouterr()
    assert err == f"error: tasks/x.tsv, line 3: expected 2 columns\n(see {log})\n"
