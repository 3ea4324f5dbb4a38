"""Every input file read once, before anything trains.

The treebank, LAMA facts, BLiMP pairs and tasks are first needed by analyses that run
after pretraining; a malformed line found then costs the whole pretraining. So the
workflow reads each of them whole while it is parsed (:func:`check_inputs`, called by
``rules/checks.smk`` before any job starts), with the same reader the analyses use. Each
check returns a short summary; bad input is the reader's EmbryoError, naming the file and
line. A check is remembered with the state (size, modification time) of the files it
read and the code it ran, so an unchanged file is not read again at the next parse.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from embryo.runtime.atomic import write_json


def check_treebank(splits: dict) -> dict:
    """Read every sentence of each treebank split ({name: CoNLL-U path}); count them."""
    from embryo.data.treebank import read_conllu

    summary = {}
    for name, path in splits.items():
        sentences = read_conllu(path)
        summary[name] = {
            "file": str(path),
            "sentences": len(sentences),
            "words": sum(len(s.words) for s in sentences),
            "upos": len({t for s in sentences for t in s.upos}),
            "xpos": len({t for s in sentences for t in s.xpos}),
            "deprels": len({t for s in sentences for t in s.deprels}),
        }
    return summary


def check_lama(root) -> dict:
    """Read every relation and fact of the LAMA folder ``root``; count them."""
    from embryo.data.lama import load_lama

    facts = load_lama(root)
    relations = Counter(f["relation"] for f in facts)
    types = Counter(f["type"] for f in facts)
    return {
        "root": str(root),
        "relations": len(relations),
        "facts": len(facts),
        "facts_per_type": dict(sorted(types.items())),
    }


def check_blimp(root) -> dict:
    """Read every pair of every BLiMP paradigm in ``root``; count them."""
    from embryo.data.blimp import load_blimp

    pairs = load_blimp(root)
    paradigms = Counter(p["UID"] for p in pairs)
    return {"root": str(root), "paradigms": len(paradigms), "pairs": len(pairs)}


def check_task(spec: dict, root, *, name: str) -> dict:
    """Read both splits of a task and encode its labels; count rows and labels (an
    extractive QA task: its questions, each answer checked against its context)."""
    from embryo.data.qa import QA, load_qa
    from embryo.data.tasks import SPLITS, load_task

    if spec["type"] == QA:
        qa = load_qa(spec, root)
        return {"task": name, **{f"{split}_questions": len(qa[split]) for split in SPLITS}}
    task = load_task(spec, root)
    return {
        "task": name,
        **{f"{split}_rows": len(task[split]["line"]) for split in SPLITS},
        "labels": task["labels"],
    }


def check_edges(tasks: dict) -> dict:
    """Read every record of each edge-probing task's files ({task: {split: path}})."""
    from embryo.data.edges import read_edges

    summary = {}
    for task, files in tasks.items():
        for split, path in files.items():
            records = read_edges(path)
            labels = {t.label for r in records for t in r.targets}
            summary[f"{task}/{split}"] = {
                "file": str(path),
                "records": len(records),
                "targets": sum(len(r.targets) for r in records),
                "labels": len(labels),
            }
    return summary


CHECKS = {
    "treebank": check_treebank,
    "lama": check_lama,
    "blimp": check_blimp,
    "edges": check_edges,
}


def _files(kind: str, target) -> list[Path]:
    """The files a check reads."""
    if kind == "treebank":
        return [Path(p) for p in target.values()]
    if kind == "edges":
        return [Path(p) for files in target.values() for p in files.values()]
    if kind == "task":
        return [Path(target["root"]) / target["spec"][s] for s in ("train", "dev")]
    root = Path(target)
    return (
        [root / "relations.jsonl", *sorted(root.glob("TREx/*.jsonl"))]
        if kind == "lama"
        else sorted(root.glob("*.jsonl"))
    )


def _state(kind: str, target) -> list:
    """What a check's result rests on: each file's path, size and modification time."""
    out = []
    for path in _files(kind, target):
        stat = path.stat() if path.is_file() else None
        out.append([str(path), stat.st_size if stat else None, stat.st_mtime_ns if stat else None])
    return out


def check_inputs(specs: list[tuple[str, object]], *, cache=None) -> dict:
    """Run every check of ``specs`` (``(kind, target)``: ``treebank`` and {split: path},
    ``lama`` or ``blimp`` and a folder, ``task`` and {name, spec, root}, ``edges`` and
    {task: {split: path}}); their summaries.

    With ``cache`` (a JSON file), a check whose files and code are as they were when it
    last passed is not run again. The first check that fails raises its EmbryoError.
    """
    from embryo.runtime.fingerprint import fingerprint

    code = fingerprint("embryo.data.checks")
    cache = Path(cache) if cache else None
    known = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    summaries, changed = {}, False
    for kind, target in specs:
        key = json.dumps([kind, target], sort_keys=True, default=str)
        state = [code, _state(kind, target)]
        if key in known and known[key]["state"] == state:
            summaries[key] = known[key]["summary"]
            continue
        if kind == "task":
            summary = check_task(target["spec"], target["root"], name=target["name"])
        else:
            summary = CHECKS[kind](target)
        known[key] = {"state": state, "summary": summary}
        summaries[key], changed = summary, True
    if cache and changed:
        write_json(cache, known)
    return summaries
