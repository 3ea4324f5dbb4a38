"""Extractive question answering (SQuAD 2.0): reading, windows, answers, scores, a job.

Checked: the official evaluation's normalisation, exact match and token F1 by hand
(unanswerable questions included); the best span against "no answer" over a question's
windows; SQuAD files read in both layouts, and an answer that is not where its offset
says refused with its file, line and question; training windows whose labelled pieces
spell the answer (and point at [CLS] in the windows that do not hold it); a fine-tuning
job on a small synthetic task whose reported scores are those of its per-question file.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from embryo.data.qa import load_qa, prepare_qa, read_squad, windows
from embryo.runtime.errors import EmbryoError
from embryo.transfer import qa

from .helpers import FINETUNE

NAMES = ["anna", "ben", "carl", "dora", "emil", "fay", "gus", "hana", "ivan", "jo"]
PLACES = ["paris", "rome", "oslo", "lima", "cairo", "quito", "dakar", "perth"]


def test_scores_by_hand():
    assert qa.normalize_answer("The  Cat, sat!") == "cat sat"
    assert qa.exact_match("the cat", ["Cat", "dog"]) == 1.0
    assert qa.exact_match("a cat", ["dog"]) == 0.0
    # tokens big red dog vs red dog barks: 2 in common, precision = recall = 2/3
    assert qa.token_f1("big red dog", ["red dog barks"]) == pytest.approx(2 / 3)
    assert qa.token_f1("red dog", ["red dog barks", "red dog"]) == 1.0  # the best gold
    # unanswerable: the gold is the empty answer
    assert qa.exact_match("", []) == 1.0 and qa.token_f1("", []) == 1.0
    assert qa.exact_match("paris", []) == 0.0 and qa.token_f1("paris", []) == 0.0


def test_best_span_against_no_answer_over_windows():
    context = "paris is big"
    # two windows of one question: [CLS] q [SEP] paris is | [CLS] q [SEP] is big
    offsets = [[[-1, -1]] * 3 + [[0, 5], [6, 8]], [[-1, -1]] * 3 + [[6, 8], [9, 12]]]
    start = [np.array([0.0, 0, 0, 5, 1]), np.array([0.0, 0, 0, 1, 2])]
    end = [np.array([0.0, 0, 0, 4, 1]), np.array([0.0, 0, 0, 1, 3])]
    assert qa.best_answers(start, end, [0, 0], offsets, [context]) == ["paris"]
    # an end before its start is no span: (4, 3) would score 9; the best left is "is" (5 + 1)
    start[0], end[0] = np.array([0.0, 0, 0, 1, 5]), np.array([0.0, 0, 0, 4, 1])
    assert qa.best_answers(start, end, [0, 0], offsets, [context]) == ["is"]
    # "no answer" scores the first piece's start + end, the lowest over the windows: one
    # window's 6 is not above the span's 6; both windows' above it, no answer wins
    start[0][0], end[0][0] = 4.0, 4.0
    start[1][0], end[1][0] = 3.0, 3.0
    assert qa.best_answers(start, end, [0, 0], offsets, [context]) == ["is"]
    start[1][0], end[1][0] = 3.5, 3.5
    assert qa.best_answers(start, end, [0, 0], offsets, [context]) == [""]


def squad_examples(n: int, seed: int = 0) -> list[dict]:
    """Contexts naming where two people live; a third of the questions ask about someone
    the context does not name (unanswerable)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a, b, c = rng.choice(NAMES, 3, replace=False)
        pa, pb = rng.choice(PLACES, 2, replace=False)
        context = f"{a} lives in {pa} . {b} lives in {pb} ."
        who, where = (c, None) if i % 3 == 2 else ((a, pa) if i % 2 else (b, pb))
        answers = (
            []
            if where is None
            else [
                {
                    "text": where,
                    "answer_start": context.index(f"{who} lives in ") + len(f"{who} lives in "),
                }
            ]
        )
        out.append(
            {
                "id": f"q{i}",
                "question": f"where does {who} live ?",
                "context": context,
                "answers": answers,
            }
        )
    return out


def write_official(path, examples):
    paragraphs = [
        {"context": e["context"], "qas": [{k: e[k] for k in ("id", "question", "answers")}]}
        for e in examples
    ]
    path.write_text(
        json.dumps({"version": "v2.0", "data": [{"title": "t", "paragraphs": paragraphs}]})
    )


def test_squad_files_in_both_layouts_and_a_misplaced_answer(tmp_path):
    examples = squad_examples(6)
    write_official(tmp_path / "official.json", examples)
    hub = [
        {
            **e,
            "answers": {
                "text": [a["text"] for a in e["answers"]],
                "answer_start": [a["answer_start"] for a in e["answers"]],
            },
        }
        for e in examples
    ]
    (tmp_path / "hub.jsonl").write_text("".join(json.dumps(e) + "\n" for e in hub))
    a, b = read_squad(tmp_path / "official.json"), read_squad(tmp_path / "hub.jsonl")
    assert [(e["id"], e["answers"]) for e in a] == [(e["id"], e["answers"]) for e in b]
    assert sum(not e["answers"] for e in a) == 2
    hub[3]["answers"]["answer_start"] = (
        [hub[3]["answers"]["answer_start"][0] + 1] if hub[3]["answers"]["text"] else [0]
    )
    hub[3]["answers"]["text"] = hub[3]["answers"]["text"] or ["x"]
    (tmp_path / "bad.jsonl").write_text("".join(json.dumps(e) + "\n" for e in hub))
    with pytest.raises(EmbryoError, match=r"bad.jsonl:4: question 'q3': answer"):
        read_squad(tmp_path / "bad.jsonl")
    # the parse-time check of the workflow's inputs reads a QA task the same way
    from embryo.data.checks import check_task

    spec = {
        "source": "local",
        "type": "extractive_qa",
        "train": "official.json",
        "dev": "bad.jsonl",
    }
    assert check_task({**spec, "dev": "hub.jsonl"}, tmp_path, name="qa")["dev_questions"] == 6
    with pytest.raises(EmbryoError, match=r"bad.jsonl:4: question 'q3'"):
        check_task(spec, tmp_path, name="qa")
    (tmp_path / "broken.jsonl").write_text(json.dumps(hub[0]) + "\n{not json\n")
    with pytest.raises(EmbryoError, match=r"broken.jsonl:2: not a SQuAD record"):
        read_squad(tmp_path / "broken.jsonl")


def test_training_windows_spell_the_answer(tiny_bert):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    examples = read_squad_list(squad_examples(30))
    cols = windows(tokenizer, examples, max_length=64, stride=16, train=True)
    dev = windows(tokenizer, examples, max_length=64, stride=16, train=False)
    for i, (s, e) in enumerate(zip(cols["start"], cols["end"], strict=True)):
        example = examples[cols["example"][i]]
        if not example["answers"]:
            assert (s, e) == (0, 0)
            continue
        first, last = dev["offsets"][i][s][0], dev["offsets"][i][e][1]
        assert example["context"][first:last] == example["answers"][0]["text"]
    # a window too short for the whole context: several windows, the answer in one of them
    long = [{**examples[0], "context": examples[0]["context"] + " and more" * 30}]
    cut = windows(tokenizer, long, max_length=24, stride=4, train=True)
    assert len(cut["input_ids"]) > 2 and all(len(x) <= 24 for x in cut["input_ids"])
    assert sum(s > 0 for s in cut["start"]) >= 1 and 0 in cut["start"]


def read_squad_list(examples):
    """Examples as :func:`read_squad` gives them (answers with ``start``)."""
    return [
        {**e, "answers": [{"text": a["text"], "start": a["answer_start"]} for a in e["answers"]]}
        for e in examples
    ]


def test_a_qa_job_reports_the_scores_of_its_answers(tiny_bert, tmp_path):
    from embryo.transfer.finetune import finetune

    write_official(tmp_path / "train.json", squad_examples(120, seed=1))
    write_official(tmp_path / "dev.json", squad_examples(30, seed=2))
    spec = {"source": "local", "type": "extractive_qa", "train": "train.json", "dev": "dev.json"}
    assert len(load_qa(spec, tmp_path)["dev"]) == 30
    info = prepare_qa(spec, tmp_path, tiny_bert, tmp_path / "task", name="squad", max_length=48)
    assert info["metrics"] == ["exact_match", "token_f1"] and info["dev_unanswerable"] == 10
    hparams = FINETUNE._replace(epochs=2)
    result = finetune(
        tiny_bert,
        tmp_path / "task",
        tmp_path / "metrics.json",
        n=None,
        seed=0,
        hparams=hparams,
        provenance={"run": "r", "step": 0},
    )
    assert result["metric"] == "exact_match" and result["n_dev"] == 30
    items = pd.read_parquet(tmp_path / "metrics.predictions.parquet")
    assert len(items) == 30 and {"exact_match", "token_f1", "prediction"} <= set(items.columns)
    assert result["metrics"]["exact_match"] == pytest.approx(items["exact_match"].mean())
    assert result["metrics"]["token_f1"] == pytest.approx(items["token_f1"].mean())
    assert result["packed"] is False and result["steps"] == 2 * -(-info["train_rows"] // 16)


def test_qa_scores_enter_the_findings_as_item_means():
    """The downstream not-monotonic series of a QA task: the mean of each question's exact
    match, its floor the share of unanswerable questions (always answering "none")."""
    from embryo.results import findings

    rng = np.random.default_rng(0)
    rows = []
    for step, p in ((0, 0.4), (10, 0.8), (100, 0.5)):
        for seed in (0, 1):
            right = rng.random(300) < p
            rows += [
                {
                    "run": "r",
                    "step": step,
                    "task": "squad",
                    "seed": seed,
                    "item": i,
                    "label": "[]" if i % 3 == 2 else '["paris"]',
                    "prediction": "",
                    "exact_match": float(r),
                    "token_f1": float(r),
                }
                for i, r in enumerate(right)
            ]
    items = pd.DataFrame(rows)
    table = pd.DataFrame({"run": ["r"], "task": ["squad"], "metric": ["exact_match"]})
    (series,) = findings._downstream_series(table, items, {})
    assert series.floor == pytest.approx(1 / 3)
    assert series.curves.observed == pytest.approx(items.groupby("step")["exact_match"].mean())
    (row,) = findings.not_monotonic({"downstream": table}, {"downstream": items})
    assert row.verdict == findings.REPRODUCED  # 0.8 -> 0.5 over 600 answers
