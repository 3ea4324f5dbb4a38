"""Knowledge inheritance: the α_t schedules and the KD term, on values computed by hand."""

import math

import pandas as pd
import pytest
import torch

from embryo.inheritance.comparison import matching_steps, reaching_step
from embryo.runtime.errors import EmbryoError
from embryo.train.distillation import alpha, kd_loss


def test_alpha_schedules():
    linear = dict(schedule="linear", alpha0=1.0, kd_steps=100)
    assert [alpha(t, **linear) for t in (1, 50, 100, 150)] == [0.99, 0.5, 0.0, 0.0]
    assert alpha(50, schedule="linear", alpha0=0.5, kd_steps=100) == 0.25
    assert alpha(7, schedule="constant", alpha0=0.3, kd_steps=100) == 0.3
    heaviside = dict(schedule="heaviside", alpha0=1.0, kd_steps=100)
    assert [alpha(t, **heaviside) for t in (1, 100, 101)] == [1.0, 1.0, 0.0]
    with pytest.raises(EmbryoError, match="unknown inheritance schedule 'cosine'"):
        alpha(1, schedule="cosine", alpha0=1.0, kd_steps=10)


def test_kd_term_by_hand():
    # teacher p = (3/4, 1/4), student q = (1/2, 1/2):
    # KL = 3/4 ln(3/2) + 1/4 ln(1/2) = 0.1308...
    kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    student = torch.zeros(1, 2)
    teacher = torch.tensor([[math.log(3.0), 0.0]])
    assert kd_loss(student, teacher, temperature=1.0).item() == pytest.approx(kl, rel=1e-6)
    # τ = 2 on doubled teacher logits: the same p and q, times τ² = 4
    doubled = kd_loss(student, 2 * teacher, temperature=2.0).item()
    assert doubled == pytest.approx(4 * kl, rel=1e-6)
    # averaged over positions: a second, identical row leaves it unchanged
    two = kd_loss(student.repeat(2, 1), teacher.repeat(2, 1), temperature=1.0)
    assert two.item() == pytest.approx(kl, rel=1e-6)
    # top-1: the teacher's cut distribution is all on token 0, so KL = -ln q_0 = ln 2
    top1 = kd_loss(student, teacher, temperature=1.0, top_k=1).item()
    assert top1 == pytest.approx(math.log(2.0), rel=1e-6)


def test_top_k_of_the_whole_vocabulary_is_the_full_kl():
    gen = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(5, 30, generator=gen), torch.randn(5, 30, generator=gen)
    full = kd_loss(student, teacher, temperature=2.0)
    assert torch.allclose(kd_loss(student, teacher, temperature=2.0, top_k=30), full)
    assert not torch.allclose(kd_loss(student, teacher, temperature=2.0, top_k=10), full)
    assert full.item() > 0 and kd_loss(student, student, temperature=2.0).abs().item() < 1e-6


def test_steps_to_reach_a_perplexity_by_hand():
    steps, ppl = [0, 100, 200, 400], [1000.0, 100.0, 10.0, 5.0]
    # 10**1.5 lies halfway between 100 and 10 in log perplexity: halfway from 100 to 200
    assert reaching_step(steps, ppl, 10**1.5) == pytest.approx(150.0)
    assert reaching_step(steps, ppl, 100.0) == 100.0 and reaching_step(steps, ppl, 5000) == 0.0
    assert reaching_step(steps, ppl, 4.0) is None
    student = pd.DataFrame({"step": steps, "val_perplexity": ppl})
    twin = pd.DataFrame({"step": [0, 200, 400], "val_perplexity": [1000.0, 100.0, 10**1.5]})
    rows = matching_steps(student, twin)
    assert rows["twin_step"].tolist() == [200, 400]
    assert rows["student_step"].tolist() == pytest.approx([100.0, 150.0])
    # the twin ends where the student was at step 150: 1 - 150/400 of the steps saved
    assert rows["saving"].tolist() == pytest.approx([0.5, 0.625])


def test_a_study_figure_shows_its_students_only(tmp_path):
    """ki_{study}: the study's students and their twins, not another study's."""
    from embryo.inheritance.comparison import comparison
    from embryo.plots.inheritance import study

    steps = [0, 100, 200]
    curves = {
        "t": [900, 60, 40],
        "s-deep": [900, 50, 20],
        "s-wide": [900, 80, 50],
        "s-other": [900, 10, 5],
        "scratch": [900, 90, 35],
    }
    validation = pd.DataFrame(
        [
            {"run": r, "step": s, "val_perplexity": float(p)}
            for r, ps in curves.items()
            for s, p in zip(steps, ps, strict=True)
        ]
    )
    pair = {
        "teacher": "t",
        "teacher_step": 200,
        "twin": "scratch",
        "schedule": "linear",
        "alpha": 1.0,
        "kd_steps": 100,
        "temperature": 2.0,
        "top_k": None,
    }
    pairs = [
        {"student": "s-deep", "studies": "architecture data", **pair},
        {"student": "s-wide", "studies": "architecture", **pair},
        {"student": "s-other", "studies": "lineage", **pair},
    ]
    table = comparison(pairs, validation)
    # s-wide never reaches its twin's final 35: drawn as "not reached"
    assert table.loc[table["student"] == "s-wide", "saving"].isna().iloc[-1]
    drawn = []

    import matplotlib.axes

    real = matplotlib.axes.Axes.plot

    def spy(self, x, y, *args, label=None, **kw):
        drawn.append(label)
        return real(self, x, y, *args, label=label, **kw)

    matplotlib.axes.Axes.plot = spy
    try:
        study(validation, table, tmp_path / "ki_architecture.png", study="architecture")
    finally:
        matplotlib.axes.Axes.plot = real
    assert (tmp_path / "ki_architecture.png").stat().st_size > 0
    assert drawn == ["s-deep (teacher t)", "s-wide (teacher t)", "scratch (twin, from scratch)"]


def test_a_lineage_is_drawn_in_its_order_whatever_the_table_order():
    from embryo.plots.inheritance import _generations

    rows = [{"student": "a-g3", "teacher": "z-g2"}, {"student": "z-g2", "teacher": "g1"}]
    assert [s["student"] for s in _generations(rows)] == ["z-g2", "a-g3"]
