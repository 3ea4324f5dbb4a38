"""Which outputs a config produces, and what its jobs ask a cluster for, without Snakemake.

- ``embryo.config.targets``: the facts of the demo config, worked out by hand from
  ``config/config.yaml``; every fact any preset yields is declared in the registry; a
  fact that does not hold removes exactly the tables and figures that need it; the steps
  analysed and in the grid;
- ``embryo.config.cluster``: each resource key from the rule, its parent (a student's
  segments ask what pretraining asks), the default, in that order; the checks of
  unknown rules, of jobs spanning nodes, of processes split over nodes.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from embryo import config as ec
from embryo import registry
from embryo.config import cluster, targets
from embryo.runtime.errors import EmbryoError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = ec.load_schema(REPO / "config" / "schema.yaml")


def validated(raw: dict) -> dict:
    return ec.validate(copy.deepcopy(raw), SCHEMA, check_files=False)


def preset(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())


@pytest.fixture(scope="module")
def demo() -> dict:
    return validated(preset("config"))


def test_the_demos_facts(demo):
    # config/config.yaml: two trained runs and a branch, all analysed; SST-2 and STS-B
    # downstream at steps that include the KI pair's 50 and 100; a grid of progressive and
    # single schemes at steps 64 and 600 with task probes; a student with a twin; the
    # three word-level probes; LAMA with its exposure (the default)
    assert targets.facts(demo) == {
        "trained",
        "analysed",
        "lama_exposure",
        "downstream_tasks",
        "transfer",
        "transfer_probing",
        "family:none",  # the grid's baseline, nothing redrawn
        "family:progressive",
        "family:single",
        "crossed",
        "ki",
        "twin",
        "students_downstream",
        "probe_task:upos",
        "probe_task:xpos",
        "probe_task:deprel",
    }


@pytest.mark.parametrize("name", ["config", "real-cpu", "ki-studies", "paper", "wikitext2"])
def test_every_fact_a_preset_yields_is_declared(name):
    facts = targets.facts(validated(preset(name)))
    assert facts and all(registry.declared(f) for f in facts), facts


def test_a_fact_that_does_not_hold_removes_what_needs_it(demo):
    raw = preset("config")
    del raw["runs"]["bert-deep-ki"]["teacher"]
    without = validated(raw)
    facts = targets.facts(without)
    assert not facts & {"ki", "twin", "students_downstream"}
    before = targets.tables(demo, targets.facts(demo))
    after = targets.tables(without, facts)
    assert set(before) - set(after) == {"inheritance"}
    drawn = set(targets.figures(before, targets.facts(demo)))
    gone = drawn - set(targets.figures(after, facts))
    needing = {
        f.name
        for f in registry.FIGURES
        if "inheritance" in f.tables or {"ki", "twin", "students_downstream"} & set(f.needs)
    }
    assert gone == needing & drawn and gone


def test_an_analysis_switched_off_takes_its_table_and_figures(demo):
    raw = preset("config")
    raw["analyses"]["lama"] = {"enabled": False}
    off = validated(raw)
    facts = targets.facts(off)
    assert "lama_exposure" not in facts
    tables = targets.tables(off, facts)
    assert "lama" not in tables and "lama_exposure" not in tables
    assert not {"lama", "lama_exposure"} & set(targets.figures(tables, facts))


def test_needs_hold_one_of_their_alternatives():
    assert targets.holds(("a|b", "c"), {"b", "c"})
    assert not targets.holds(("a|b", "c"), {"a"})
    assert targets.holds((), set())


def test_steps_analysed_and_in_the_grid(demo):
    assert targets.analysed_steps(demo, "bert-tiny") == [0, 16, 64, 300, 600]
    assert targets.analysed_steps(demo, "bert-tiny", [0, 50, 64, 100, 600]) == [0, 64, 600]
    assert targets.transfer_steps(demo, "bert-tiny") == [64, 600]
    raw = preset("config")
    del raw["transferability"]["steps"]
    assert targets.transfer_steps(validated(raw), "bert-tiny") == [600]  # the last


def test_ki_pairs_and_runs(demo):
    (pair,) = targets.ki_pairs(demo)
    assert pair["student"] == "bert-deep-ki" and pair["teacher"] == "bert-tiny"
    assert pair["teacher_step"] == 600 and pair["twin"] == "bert-deep-scratch"
    assert (pair["schedule"], pair["alpha"], pair["temperature"]) == ("linear", 1.0, 2.0)
    assert targets.ki_runs(demo) == ["bert-deep-ki", "bert-deep-scratch", "bert-tiny"]


def with_resources(demo, resources):
    return {**demo, "resources": resources}


def test_resources_come_from_the_rule_its_parent_and_the_default(demo):
    cfg = with_resources(
        demo,
        {
            "default": {"runtime": 30, "mem_mb": 2000},
            "pretrain": {"mem_mb": 8000, "gpu": 1},
            "pretrain_student": {"runtime": 90},
        },
    )
    assert cluster.wanted_resources(cfg, "pretrain_student") == {
        **cluster.RESOURCE_DEFAULTS,
        "runtime": 90,  # its own
        "mem_mb": 8000,  # its parent's
        "gpu": 1,
    }
    assert cluster.wanted_resources(cfg, "probe")["mem_mb"] == 2000  # the default
    assert cluster.wanted_resources(demo, "probe") == cluster.RESOURCE_DEFAULTS
    assert cluster.stated_mem_mb(cfg, "pretrain_student") == 8000
    assert cluster.stated_mem_mb(cfg, "probe") == 2000
    assert cluster.stated_mem_mb(demo, "probe") is None  # the machine's, then
    assert cluster.segment_rules(cfg, "bert-deep-ki") == ["pretrain", "pretrain_student"]
    assert cluster.segment_rules(cfg, "bert-tiny") == ["pretrain"]


def test_resources_are_checked(demo):
    rules = {"pretrain", "pretrain_student", "probe"}
    with pytest.raises(EmbryoError, match=r"unknown rule\(s\) \['prob'\]"):
        cluster.check_resources(with_resources(demo, {"prob": {"mem_mb": 1}}), rules)
    with pytest.raises(EmbryoError, match="resources.probe.nodes is 2: only pretrain"):
        cluster.check_resources(with_resources(demo, {"probe": {"nodes": 2}}), rules)
    cfg = with_resources(demo, {"pretrain": {"nodes": 2, "gpu": 1}})
    cfg["runs"] = copy.deepcopy(demo["runs"])
    cfg["runs"]["bert-tiny"]["processes"] = 3
    with pytest.raises(EmbryoError, match="runs.bert-tiny: 3 processes do not split evenly"):
        cluster.check_resources(cfg, rules)
    cluster.check_resources(with_resources(demo, {"default": {"mem_mb": 1}}), rules)
