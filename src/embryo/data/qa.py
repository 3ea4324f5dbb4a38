"""Extractive question answering tasks (SQuAD 2.0, Rajpurkar et al. 2018): reading, windows.

A SQuAD task gives each question a context paragraph and its answers: spans of the
context (their text and character offset), or none for SQuAD 2.0's unanswerable
questions. Read from the official JSON (``data -> paragraphs -> qas``, the files
``train-v2.0.json`` and ``dev-v2.0.json``), from JSON lines with the Hub dataset's columns
(``id``, ``context``, ``question``, ``answers: {text, answer_start}``), or from the Hub
(``rajpurkar/squad_v2``). An answer whose text is not at its offset in the context is an
error naming the file and the question.

:func:`prepare_qa` cuts each question-context pair into windows of ``max_length`` pieces
(the context overlapping by ``stride`` pieces from one window to the next, as Hugging
Face's ``run_qa.py`` does), labels each training window with the answer's first and last
piece (the first piece, [CLS], when the answer is not wholly inside it or there is none:
SQuAD 2.0's "no answer"), and keeps each dev window's character offsets, with which
:mod:`embryo.transfer.qa` maps the predicted span back to the context's text.
"""

from __future__ import annotations

import json
from pathlib import Path

from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError, where

QA = "extractive_qa"
QA_METRICS = ["exact_match", "token_f1"]
SPLITS = ("train", "dev")


def _example(qa: dict, context: str, source: str, line: int) -> dict:
    texts = (
        qa["answers"]["text"]
        if isinstance(qa["answers"], dict)
        else [a["text"] for a in qa["answers"]]
    )
    starts = (
        qa["answers"]["answer_start"]
        if isinstance(qa["answers"], dict)
        else [a["answer_start"] for a in qa["answers"]]
    )
    for text, start in zip(texts, starts, strict=True):
        if context[start : start + len(text)] != text:
            raise EmbryoError(
                f"{where(source, line)}: question {qa['id']!r}: answer {text!r} is not at "
                f"character {start} of its context ({context[start : start + len(text)]!r} is)"
            )
    return {
        "id": str(qa["id"]),
        "question": qa["question"],
        "context": context,
        "answers": [{"text": t, "start": int(s)} for t, s in zip(texts, starts, strict=True)],
        "line": line,
    }


def read_squad(path) -> list[dict]:
    """The examples of a SQuAD file: official JSON, or JSON lines of the Hub's columns.
    ``line`` is the question's number in the file (1-based)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    examples = []
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict) and "data" in document:
        for article in document["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    examples.append(_example(qa, paragraph["context"], path, len(examples) + 1))
        return examples
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            examples.append(_example(row, row["context"], path, n))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise EmbryoError(
                f"{where(path, n)}: not a SQuAD record (id, context, question, answers "
                f"with text and answer_start): {error}"
            ) from None
    return examples


def _hub(spec: dict, split: str) -> list[dict]:
    from datasets import load_dataset

    data = load_dataset(
        spec["hub_id"], spec.get("hub_config"), split=spec[split], revision=spec.get("revision")
    )
    source = f"{spec['hub_id']} split {spec[split]}"
    return [_example(row, row["context"], source, n) for n, row in enumerate(data, 1)]


def load_qa(spec: dict, root) -> dict:
    """Both splits of a QA task: ``{split: [example, ...]}``, capped at ``max_train`` /
    ``max_dev`` questions."""
    out = {}
    for split in SPLITS:
        examples = (
            _hub(spec, split) if spec["source"] == "hub" else read_squad(Path(root) / spec[split])
        )
        cap = spec.get(f"max_{split}")
        out[split] = examples if cap is None else examples[:cap]
    return out


def windows(tokenizer, examples: list[dict], *, max_length: int, stride: int, train: bool):
    """The windows of every example (columns): ``input_ids``, ``token_type_ids``,
    ``example`` (its index), and ``start``/``end`` (the answer's pieces, 0 for none) for
    training, ``offsets`` ([start, end) characters of each context piece, [-1, -1] for
    the others) for dev. The overlap is at most half the context's room beside the
    longest question."""
    if not tokenizer.is_fast:
        raise EmbryoError(
            f"tokenizer {tokenizer.name_or_path!r} is not a fast tokenizer: extractive QA "
            "needs its character offsets"
        )
    questions = [e["question"].lstrip() for e in examples]
    longest = max(
        (len(ids) for ids in tokenizer(questions, add_special_tokens=False)["input_ids"]), default=0
    )
    room = max_length - longest - tokenizer.num_special_tokens_to_add(pair=True)
    if room < 2:
        raise EmbryoError(
            f"a question of {longest} pieces leaves no room for its context in windows of "
            f"{max_length} pieces; raise finetuning.max_length"
        )
    stride = min(stride, room // 2)  # the tokenizer needs it below the context's room
    enc = tokenizer(
        questions,
        [e["context"] for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_token_type_ids=True,
    )
    cols = {
        "input_ids": enc["input_ids"],
        "token_type_ids": enc["token_type_ids"],
        "example": list(enc["overflow_to_sample_mapping"]),
    }
    starts, ends, offsets = [], [], []
    for i, pairs in enumerate(enc["offset_mapping"]):
        context = [k for k, s in enumerate(enc.sequence_ids(i)) if s == 1]
        if not train:
            keep = set(context)
            offsets.append([list(p) if k in keep else [-1, -1] for k, p in enumerate(pairs)])
            continue
        answers = examples[cols["example"][i]]["answers"]
        start = end = 0
        if answers and context:
            first, last = answers[0]["start"], answers[0]["start"] + len(answers[0]["text"])
            lo, hi = context[0], context[-1]
            if pairs[lo][0] <= first and pairs[hi][1] >= last:
                start = next(k for k in context if pairs[k][1] > first)
                end = next(k for k in reversed(context) if pairs[k][0] < last)
        starts.append(start)
        ends.append(end)
    if train:
        cols |= {"start": starts, "end": ends}
    else:
        cols["offsets"] = offsets
    return cols


def prepare_qa(
    spec: dict, root, tokenizer_dir, out_dir, *, name: str, max_length: int, stride: int = 128
) -> dict:
    """Cut a QA task's splits into windows (:func:`windows`) in ``out_dir``:
    ``train.parquet``, ``dev.parquet`` and ``dev_examples.parquet`` (id, context, the gold
    answers' texts), with ``task.json`` (type ``extractive_qa``, metrics exact match and
    token F1, questions and windows per split)."""
    import pandas as pd
    from transformers import AutoTokenizer

    task = load_qa(spec, root)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    stride = min(stride, max_length // 4)
    info = {
        "name": name,
        "type": QA,
        "labels": None,
        "num_labels": 2,
        "metrics": list(spec.get("metrics") or QA_METRICS),
        "max_length": max_length,
        "stride": stride,
        "pair": True,
    }
    with atomic_path(out_dir, directory=True) as tmp:
        for split in SPLITS:
            examples = task[split]
            cols = windows(
                tokenizer, examples, max_length=max_length, stride=stride, train=split == "train"
            )
            pd.DataFrame(cols).to_parquet(tmp / f"{split}.parquet", index=False)
            info[f"{split}_rows"] = len(cols["input_ids"])
            info[f"{split}_questions"] = len(examples)
            info[f"{split}_unanswerable"] = sum(not e["answers"] for e in examples)
        dev = task["dev"]
        pd.DataFrame(
            {
                "id": [e["id"] for e in dev],
                "context": [e["context"] for e in dev],
                "answers": [json.dumps([a["text"] for a in e["answers"]]) for e in dev],
            }
        ).to_parquet(tmp / "dev_examples.parquet", index=False)
        (tmp / "task.json").write_text(json.dumps(info, indent=2) + "\n")
    return info
