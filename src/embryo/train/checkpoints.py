"""Exported checkpoints: ``save_pretrained`` directories usable with no code of ours.

``results/{run}/models/step-{step}/`` holds the masked-LM model (weights only, no
optimizer state) and its tokenizer, loadable by ``AutoModelForMaskedLM.from_pretrained``
and ``AutoTokenizer.from_pretrained``. Trained runs are exported from their segment
directories; imported runs (a Hub id with a per-step revision, or a local directory per
step) are copied into the same place, so analyses never care where a model came from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from embryo.models.hub import is_weight_file, load_kwargs, sha256_file
from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError
from embryo.train.series import weights_digest


def export_checkpoint(
    segment_dir,
    tokenizer_dir,
    out_dir,
    *,
    provenance: dict,
    parent: dict | None = None,
    code: dict | None = None,
) -> None:
    """Export a segment's model as ``AutoModelForMaskedLM`` with its tokenizer.

    An ALBERT trained with sentence-order prediction drops its SOP head and pooler here:
    the exported model is the masked LM every analysis uses. ``parent`` (the segment and
    its predecessor) and ``code`` go to the manifest.
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
        parent = {
            **(parent or {"segment": str(segment_dir)}),
            "metrics_sha256": sha256_file(segment_dir / "metrics.json"),
        }
        write_manifest(
            tmp, run=provenance["run"], step=metrics["step"], parent=parent, code=code or {}
        )


def import_checkpoint(
    run_name: str, run: dict, step: int, data_dir, out_dir, *, provenance: dict, series, code: dict
) -> None:
    """Copy one checkpoint of an imported series (Hub or local) into ``out_dir``.

    ``series`` is the series record (:func:`embryo.train.series.series_record`,
    ``results/{run}/series.json``): a Hub step is downloaded at the commit recorded there,
    a local step must still have the weight files recorded there, so what is imported is
    what was checked.
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from embryo.train.series import read_series, step_source

    series_file = Path(series)
    record = read_series(series_file).get(step)
    if record is None:
        raise EmbryoError(f"{series_file}: no step {step}; rerun check_series")
    if record.get("commit") is not None:
        source, revision = record["source"], record["commit"]
    else:
        source, revision = step_source(run_name, run, step, data_dir)["path"], None
        if local_revision(source)["files"] != record["files"]:
            raise EmbryoError(
                f"{source}: its weight files changed since {series_file} was written; rerun "
                "check_series"
            )
    hub = load_kwargs() if revision is not None else {}
    model = AutoModelForMaskedLM.from_pretrained(source, revision=revision, **hub)
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, **hub)
    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info = {
            **provenance,
            "source": source,
            "revision": revision,
            "ref": record.get("ref"),
            "tokens": record.get("tokens"),
        }
        (tmp / "embryo.json").write_text(json.dumps(info, indent=2) + "\n")
        parent = {
            k: record.get(k) for k in ("source", "revision", "ref", "commit", "weights_sha256")
        }
        write_manifest(tmp, run=provenance["run"], step=step, parent=parent, code=code)


# --------------------------------------------------------------------------- manifests

MANIFEST = "manifest.json"


def checkpoint_files(directory) -> list[Path]:
    """A checkpoint directory's files, but its manifest and hidden files (Snakemake's
    ``.snakemake_timestamp`` of a directory output)."""
    return [
        p
        for p in sorted(Path(directory).iterdir())
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    ]


def write_manifest(directory, *, run: str, step: int, parent: dict, code: dict) -> dict:
    """``manifest.json`` of a checkpoint directory: the SHA-256 of each of its files (the
    weight files marked), its run and step, where its weights came from (``parent``: the
    segment and its predecessor, or the imported source and commit) and the code
    fingerprints of the jobs that made it. :func:`verify_checkpoint` checks it later."""
    directory = Path(directory)
    files = {p.name: sha256_file(p) for p in checkpoint_files(directory)}
    manifest = {
        "run": run,
        "step": step,
        "weights": sorted(name for name in files if is_weight_file(name)),
        "weights_sha256": weights_digest(files),
        "files": files,
        "parent": parent,
        "code": code,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def verify_checkpoint(directory) -> list[str]:
    """What differs between a checkpoint directory and its manifest: files missing, added
    or changed (an empty list when it is what its manifest says)."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.exists():
        return [f"{path}: no manifest"]
    recorded = json.loads(path.read_text())["files"]
    present = {p.name for p in checkpoint_files(directory)}
    problems = [f"{directory / n}: missing" for n in sorted(set(recorded) - present)]
    problems += [f"{directory / n}: not in the manifest" for n in sorted(present - set(recorded))]
    problems += [
        f"{directory / n}: SHA-256 differs from the manifest's"
        for n in sorted(present & set(recorded))
        if sha256_file(directory / n) != recorded[n]
    ]
    return problems


def local_revision(path) -> dict:
    """A local save_pretrained directory's weight files and their SHA-256."""
    files = {p.name: sha256_file(p) for p in sorted(Path(path).iterdir()) if is_weight_file(p.name)}
    return {"source": str(path), "revision": None, "commit": None, "files": files}


def main(argv=None) -> int:
    """``python -m embryo.train.checkpoints verify DIR...``: check checkpoint directories
    against their manifests; exit status 1 if any differs."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m embryo.train.checkpoints")
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("directories", nargs="+")
    args = parser.parse_args(argv)
    bad = 0
    for directory in args.directories:
        problems = verify_checkpoint(directory)
        print(f"{directory}: " + ("ok" if not problems else "DIFFERS"))
        for problem in problems:
            print(f"  {problem}")
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
