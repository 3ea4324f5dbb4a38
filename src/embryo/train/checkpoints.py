"""Exported checkpoints: ``save_pretrained`` directories usable with no code of ours.

``results/{run}/models/step-{step}/`` holds the masked-LM model (weights only, no
optimizer state) and its tokenizer, loadable by ``AutoModelForMaskedLM.from_pretrained``
and ``AutoTokenizer.from_pretrained``. Trained runs are exported from their segment
directories; imported runs (a Hub id with a per-step revision, or a local directory per
step) are copied into the same place, so analyses never care where a model came from.
"""

from __future__ import annotations

import json
from pathlib import Path

from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError


def export_checkpoint(segment_dir, tokenizer_dir, out_dir, *, provenance: dict) -> None:
    """Export a segment's model as ``AutoModelForMaskedLM`` with its tokenizer.

    An ALBERT trained with sentence-order prediction drops its SOP head and pooler here:
    the exported model is the masked LM every analysis uses.
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    segment_dir = Path(segment_dir)
    model = AutoModelForMaskedLM.from_pretrained(segment_dir / "model")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    metrics = json.loads((segment_dir / "metrics.json").read_text())
    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "embryo.json").write_text(
            json.dumps({**provenance, "metrics": metrics}, indent=2) + "\n"
        )


def import_source(spec: dict, step: int, data_dir) -> tuple[str, str | None]:
    """Where step ``step`` of an imported run comes from: (Hub id or local path, revision)."""
    if "hub_id" in spec:
        revision = spec.get("revision")
        return spec["hub_id"], revision.format(step=step) if revision else None
    path = Path(spec["path"].format(step=step))
    if not path.is_absolute():
        path = Path(data_dir) / path
    if not (path / "config.json").exists():
        raise EmbryoError(
            f"{path}: expected a save_pretrained directory (with config.json) for step {step}"
        )
    return str(path), None


def import_checkpoint(spec: dict, step: int, data_dir, out_dir, *, provenance: dict) -> None:
    """Copy one checkpoint of an external series (Hub or local) into ``out_dir``."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    source, revision = import_source(spec, step, data_dir)
    model = AutoModelForMaskedLM.from_pretrained(source, revision=revision)
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info = {**provenance, "source": source, "revision": revision}
        (tmp / "embryo.json").write_text(json.dumps(info, indent=2) + "\n")
