"""Code fingerprints: what the code does, not how its text looks (embryo.runtime.fingerprint)."""

from __future__ import annotations

import textwrap

from embryo.runtime.fingerprint import fingerprint, modules, normalised, unhashed

CODE = '''
"""A module."""

import math


def area(r):
    """The area of a disc."""
    return math.pi * r**2  # pi r squared
'''


def test_comments_docstrings_and_layout_change_nothing():
    same = """
import math
def area(r):
    # no docstring, another comment
    return (math.pi
            * r ** 2)
"""
    assert normalised(CODE) == normalised(same)
    assert normalised(CODE) != normalised(CODE.replace("r**2", "r**3"))
    assert normalised(CODE) != normalised(CODE.replace("area(r)", "area(radius)"))
    # a string that is not a docstring is code
    assert normalised("x = 1\n'a'\n") != normalised("x = 1\n'b'\n")


def test_a_function_that_is_only_a_docstring_keeps_a_body():
    assert normalised('def f():\n    """Doc."""\n') == normalised("def f():\n    pass\n")


def test_scripts_and_modules_reach_their_imports_and_no_infrastructure(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(
        textwrap.dedent(
            """
            from embryo.runtime.logs import logged
            from embryo.embryology.mlm_pos import mlm_by_pos

            def later():
                from embryo.results.rows import write_csv  # inside a function: found too
            """
        )
    )
    reached = modules(scripts=[script])
    assert {"embryo.embryology.mlm_pos", "embryo.data.treebank", "embryo.results.rows"} <= set(
        reached
    )
    assert not [m for m in reached if unhashed(m)]
    assert "embryo.train.objective" not in reached  # the analyses do not run the objective
    assert "embryo.embryology" not in reached  # a package with a docstring only


def test_unhashed_stages():
    assert unhashed("embryo.runtime.atomic") and unhashed("embryo.config.settings")
    assert unhashed("embryo.registry") and unhashed("embryo")
    assert not unhashed("embryo.registryx") and not unhashed("embryo.data.corpus")


def test_a_script_comment_changes_nothing_and_its_code_does(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("from embryo.data.corpus import prepare_corpus\nprepare_corpus(1)\n")
    before = fingerprint(scripts=[script])
    script.write_text(
        "# a comment\nfrom embryo.data.corpus import prepare_corpus\n\nprepare_corpus(1)\n"
    )
    from embryo.runtime import fingerprint as fp

    fp._read.cache_clear()
    assert fingerprint(scripts=[script]) == before
    script.write_text("from embryo.data.corpus import prepare_corpus\nprepare_corpus(2)\n")
    fp._read.cache_clear()
    assert fingerprint(scripts=[script]) != before and len(before) == 12


def test_the_distillation_loss_is_the_students_not_the_analyses():
    """The issue's example: editing the KD loss reran every analysis (through the objective)."""
    from pathlib import Path

    scripts = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
    assert "embryo.train.distillation" in modules(scripts=[scripts / "pretrain_student.py"])
    for analysis in (
        "pretrain",
        "mlm_pos",
        "lama",
        "blimp",
        "extract_features",
        "probe",
        "finetune",
    ):
        assert "embryo.train.distillation" not in modules(scripts=[scripts / f"{analysis}.py"])
    assert "embryo.train.segment" not in modules(scripts=[scripts / "finetune.py"])
    assert "embryo.train.checkpoints" not in modules(scripts=[scripts / "validation_curve.py"])


def test_the_parse_cache_gives_the_same_fingerprints_and_follows_each_change(tmp_path, monkeypatch):
    """A file is parsed once: the next parse of the workflow reads its parse from the
    cache (keyed by the file's bytes), and an edited file is parsed again."""
    import ast
    import json

    from embryo.runtime import fingerprint as fp

    script = tmp_path / "job.py"
    script.write_text("from embryo.data.corpus import prepare_corpus\nprepare_corpus(1)\n")
    cache = tmp_path / ".snakemake" / "embryo-fingerprints.json"
    monkeypatch.setattr(fp, "_PARSED", {})
    monkeypatch.setattr(fp, "_CACHE", {"path": None, "new": False})
    fp._read.cache_clear()
    fp.use_cache(cache)  # no file yet: parse
    before = fingerprint(scripts=[script])
    fp.save_cache()
    assert json.loads(cache.read_text())["files"]

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed a file the cache holds")

    # a new parse of the workflow: nothing parsed again, the same fingerprint
    monkeypatch.setattr(fp, "_PARSED", {})
    fp._read.cache_clear()
    fp.use_cache(cache)
    with monkeypatch.context() as m:
        m.setattr(ast, "parse", no_parse)
        assert fingerprint(scripts=[script]) == before
    # an edit: that file is parsed again, and its fingerprint follows
    script.write_text("from embryo.data.corpus import prepare_corpus\nprepare_corpus(2)\n")
    fp._read.cache_clear()
    assert fingerprint(scripts=[script]) != before
    # a cache another Python wrote, or a broken one, is not read
    for stored in ('{"python": "2.7", "files": {}}', "{not json"):
        cache.write_text(stored)
        monkeypatch.setattr(fp, "_PARSED", {})
        fp._read.cache_clear()
        fp.use_cache(cache)
        assert fp._PARSED == {}
    fp._read.cache_clear()
