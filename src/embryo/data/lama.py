"""LAMA T-REx facts (Petroni et al. 2019): relations with their templates, and facts.

``root/relations.jsonl`` lists the relations (id, template with [X] and [Y], label,
type 1-1, N-1 or N-M); ``root/TREx/{relation}.jsonl`` their facts (sub_label,
obj_label). Read once by the input check (:mod:`embryo.data.checks`) before any model
trains, then by every LAMA job (:mod:`embryo.embryology.lama`).
"""

from __future__ import annotations

from pathlib import Path

from embryo.data.records import read_records
from embryo.runtime.errors import EmbryoError, where

TYPES = ("1-1", "N-1", "N-M")


def load_lama(
    root,
    *,
    relations: list[str] | None = None,
    max_facts_per_relation: int | None = None,
    types=TYPES,
) -> list[dict]:
    """LAMA T-REx facts from ``root/relations.jsonl`` and ``root/TREx/{relation}.jsonl``.

    Each fact is a dict with ``relation``, ``label``, ``type``, ``template``,
    ``sub_label``, ``obj_label``, in relations.jsonl order then file order. ``relations``
    selects relation ids (an unknown id is an EmbryoError); relations without a facts
    file are skipped; ``max_facts_per_relation`` keeps the first facts of each file;
    ``types`` keeps the relations of those types (Chiang et al.'s code drops N-M:
    ``Sec-5:Knowledge/prepare_knowledge_data.py`` of d223302/albert-embryology).
    """
    unknown_types = sorted(set(types) - set(TYPES))
    if unknown_types:
        raise EmbryoError(f"LAMA relation types {unknown_types}: expected some of {TYPES}")
    root = Path(root)
    index = root / "relations.jsonl"
    if not index.is_file():
        raise EmbryoError(f"{index}: LAMA relations file not found")
    known = {}
    for n, rec in read_records(index, ("relation", "template", "label", "type")):
        if rec["type"] not in TYPES:
            raise EmbryoError(f"{where(index, n)}: type {rec['type']!r} is not one of {TYPES}")
        if rec["template"].count("[Y]") != 1:
            raise EmbryoError(f"{where(index, n)}: template should hold [Y] exactly once")
        known[rec["relation"]] = rec
    if relations is not None:
        unknown = [r for r in relations if r not in known]
        if unknown:
            raise EmbryoError(f"{index}: unknown relations {unknown}; known: {sorted(known)}")
    wanted = [
        r for r in known if (relations is None or r in relations) and known[r]["type"] in types
    ]

    facts = []
    for relation in wanted:
        path = root / "TREx" / f"{relation}.jsonl"
        if not path.is_file():
            continue
        rel = known[relation]
        for i, (_, rec) in enumerate(read_records(path, ("sub_label", "obj_label"))):
            if max_facts_per_relation is not None and i >= max_facts_per_relation:
                break
            facts.append(
                {
                    "relation": relation,
                    "label": rel["label"],
                    "type": rel["type"],
                    "template": rel["template"],
                    "sub_label": rec["sub_label"],
                    "obj_label": rec["obj_label"],
                }
            )
    return facts
