"""Aggregation and figures of the transferability grid, on tables built by hand."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest

from embryo import registry
from embryo.plots.base import draw
from embryo.transfer.summary import ci95, scramble_correlations, summarize


def test_ci95_by_hand():
    # mean 2, sd 1, t(0.975, 2) = 4.302653: half-width 4.302653 / sqrt(3)
    assert ci95([1.0, 2.0, 3.0]) == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert math.isnan(ci95([0.7]))


def grid_table():
    """Scores of a 2-layer run: none 0.8/0.9, progressive-k0 0.5/0.6, single-1 0.7/0.7."""
    rows = []
    for step in (10, 20):
        for task, metric in (("a", "accuracy"), ("b", "pearson")):
            for n in ("100", "full"):
                for reinit, scores in {
                    "none": (0.8, 0.9),
                    "progressive-k0": (0.5, 0.6),
                    "progressive-k1": (0.6, 0.7),
                    "single-0": (0.6, 0.8),
                    "single-1": (0.7, 0.7),
                    "scramble-s1": (0.7, 0.8),
                    "scramble-s2": (0.75, 0.9),
                }.items():
                    for seed, score in enumerate(scores):
                        bump = 0.05 if n == "full" else 0.0
                        rows.append(
                            {
                                "run": "r",
                                "step": step,
                                "task": task,
                                "metric": metric,
                                "n": n,
                                "reinit": reinit,
                                "seed": seed,
                                "score": score + bump,
                                "layers": 2,
                            }
                        )
    return pd.DataFrame(rows)


def test_summary_means_intervals_and_deltas():
    summary = summarize(grid_table())
    row = summary.query("step == 10 and task == 'a' and n == '100' and reinit == 'progressive-k0'")
    row = row.iloc[0]
    assert row["mean"] == pytest.approx(0.55) and row["seeds"] == 2
    assert row["none_mean"] == pytest.approx(0.85) and row["delta"] == pytest.approx(-0.30)
    # two seeds: t(0.975, 1) = 12.7062, sd = 0.0707107, / sqrt 2
    assert row["ci95"] == pytest.approx(12.7062 * 0.0707107 / math.sqrt(2), rel=1e-4)
    assert (row["family"], row["kept_layers"]) == ("progressive", 0)
    single = summary.query("reinit == 'single-1'").iloc[0]
    assert (single["family"], single["first_layer"], single["kept_layers"]) == ("single", 1, 1)
    none = summary.query("reinit == 'none'").iloc[0]
    assert none["kept_layers"] == 2 and none["delta"] == 0


def test_scramble_rank_correlation_between_tasks():
    rows = []
    for s, (a, b) in enumerate([(0.1, 0.3), (0.2, 0.1), (0.3, 0.4), (0.4, 0.5)], start=1):
        for task, score in (("x", a), ("y", b)):
            rows.append(
                {
                    "run": "r",
                    "step": 5,
                    "task": task,
                    "metric": "accuracy",
                    "n": "full",
                    "reinit": f"scramble-s{s}",
                    "seed": 0,
                    "score": score,
                    "layers": 4,
                }
            )
    result = scramble_correlations(summarize(pd.DataFrame(rows)))
    # ranks x: 1 2 3 4, y: 2 1 3 4 -> rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert result.iloc[0]["spearman"] == pytest.approx(0.8)
    # x mean 0.25, y mean 0.325; the products of deviations sum to 0.045, the squares to
    # 0.05 and 0.0875: r = 0.045 / sqrt(0.05 * 0.0875) = 0.6804
    assert result.iloc[0]["pearson"] == pytest.approx(0.045 / math.sqrt(0.05 * 0.0875))
    assert 0 < result.iloc[0]["pearson_p_value"] < 1
    assert result.iloc[0]["permutations"] == 4


TRANSFER_FIGURES = [f for f in registry.FIGURES if any("family:" in n for n in f.needs)]


@pytest.mark.parametrize("figure", TRANSFER_FIGURES, ids=lambda f: f.name)
def test_transfer_figures_draw(figure, tmp_path):
    summary = summarize(grid_table())
    probe = pd.DataFrame(
        [
            {
                "run": "r",
                "step": step,
                "task": task,
                "layer": k,
                "metric": "accuracy",
                "score": 0.5 + 0.1 * k,
            }
            for step in (10, 20)
            for task in ("a", "b")
            for k in range(3)
        ]
    )
    out = Path(os.environ.get("EMBRYO_FIGURE_DIR", tmp_path)) / f"{figure.name}.png"
    tables = {"transfer_summary": summary, "task_probe": probe}
    draw(figure.draw, [tables[t] for t in figure.tables], out, dict(figure.options))
    assert out.stat().st_size > 10_000 and out.with_suffix(".pdf").exists()
