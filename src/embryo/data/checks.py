"""Every input file read once, before anything trains.

The treebank, LAMA facts, BLiMP pairs and tasks are first needed by analyses that run
after pretraining; a malformed line found then costs the whole pretraining. So the
workflow's first jobs (rules ``check_treebank``, ``check_lama``, ``check_blimp``,
``check_task``) read each of them whole with the same reader the analyses use, and every
run's first pretraining segment waits for them. Each check returns a short summary (the
job writes it as JSON under ``results/checks/``); bad input is the reader's EmbryoError,
naming the file and line.
"""

from __future__ import annotations

from collections import Counter


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
    return {"root": str(root), "relations": len(relations), "facts": len(facts),
            "facts_per_type": dict(sorted(types.items()))}  # fmt: skip


def check_blimp(root) -> dict:
    """Read every pair of every BLiMP paradigm in ``root``; count them."""
    from embryo.data.blimp import load_blimp

    pairs = load_blimp(root)
    paradigms = Counter(p["UID"] for p in pairs)
    return {"root": str(root), "paradigms": len(paradigms), "pairs": len(pairs)}


def check_task(spec: dict, root, *, name: str) -> dict:
    """Read both splits of a task and encode its labels; count rows and labels."""
    from embryo.data.tasks import SPLITS, load_task

    task = load_task(spec, root)
    return {
        "task": name,
        **{f"{split}_rows": len(task[split]["line"]) for split in SPLITS},
        "labels": task["labels"],
    }
