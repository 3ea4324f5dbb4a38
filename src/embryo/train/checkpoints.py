"""Exported checkpoints: ``save_pretrained`` directories usable with no code of ours.

``results/{run}/models/step-{step}/`` holds the masked-LM model (weights only, no
optimizer state) and its tokenizer, loadable by ``AutoModelForMaskedLM.from_pretrained``
and ``AutoTokenizer.from_pretrained``. Trained runs are exported from their segment
directories; imported runs (a Hub id with a per-step revision, or a local directory per
step) are copied into the same place, so analyses never care where a model came from.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import sys
from pathlib import Path

from embryo.runtime.atomic import atomic_path, write_json
from embryo.runtime.errors import EmbryoError


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
        parent = {**(parent or {"segment": str(segment_dir)}),
                  "metrics_sha256": sha256_file(segment_dir / "metrics.json")}  # fmt: skip
        write_manifest(
            tmp, run=provenance["run"], step=metrics["step"], parent=parent, code=code or {}
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


def import_checkpoint(
    spec: dict, step: int, data_dir, out_dir, *, provenance: dict, series, code: dict
) -> None:
    """Copy one checkpoint of an external series (Hub or local) into ``out_dir``.

    ``series`` is the series record (:func:`series_record`, ``results/{run}/series.json``):
    a Hub step is downloaded at the commit recorded there, a local step must still have
    the weight files recorded there, so what is imported is what was checked.
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    series_file = Path(series)
    record = json.loads(series_file.read_text()).get(str(step))
    if record is None:
        raise EmbryoError(f"{series_file}: no step {step}; rerun check_series")
    source, revision = import_source(spec, step, data_dir)
    if "hub_id" in spec:
        revision = record["commit"]
    elif local_revision(source)["files"] != record["files"]:
        raise EmbryoError(
            f"{source}: its weight files changed since {series_file} was written; rerun "
            "check_series"
        )
    model = AutoModelForMaskedLM.from_pretrained(source, revision=revision)
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info = {**provenance, "source": source, "revision": revision}
        (tmp / "embryo.json").write_text(json.dumps(info, indent=2) + "\n")
        parent = {k: record[k] for k in ("source", "revision", "commit", "weights_sha256")}
        write_manifest(tmp, run=provenance["run"], step=step, parent=parent, code=code)


# --------------------------------------------------------------------------- manifests

MANIFEST = "manifest.json"
# the weight files of a save_pretrained directory (sharded or not), by name
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def is_weight_file(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in WEIGHT_PATTERNS)


def weights_digest(files: dict[str, str]) -> str:
    """One hash of a checkpoint's weight files ({name: SHA-256}): equal iff every weight
    file is byte for byte the same."""
    weights = sorted((name, sha) for name, sha in files.items() if is_weight_file(name))
    return hashlib.sha256(json.dumps(weights).encode()).hexdigest()


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


# --------------------------------------------------------------------------- series


def hub_revision(api, hub_id: str, revision: str | None) -> dict:
    """The commit a Hub revision points to and the SHA-256 of its weight files, from the
    Hub's file metadata (no download): an LFS file's own SHA-256, else its git blob id."""
    info = api.model_info(hub_id, revision=revision, files_metadata=True)
    files = {
        s.rfilename: (s.lfs.sha256 if s.lfs is not None else s.blob_id)
        for s in info.siblings or []
        if is_weight_file(s.rfilename)
    }
    return {"source": hub_id, "revision": revision, "commit": info.sha, "files": files}


def local_revision(path) -> dict:
    """A local save_pretrained directory's weight files and their SHA-256."""
    files = {p.name: sha256_file(p) for p in sorted(Path(path).iterdir()) if is_weight_file(p.name)}
    return {"source": str(path), "revision": None, "commit": None, "files": files}


def series_record(run: str, spec: dict, steps, data_dir, *, api=None) -> dict:
    """What each step of an imported series is, before any of it is imported: its source,
    revision, commit (Hub) and weight files' SHA-256. Raises :class:`EmbryoError` naming
    both steps when two steps are the same weights: the same commit, or the same weight
    files (Pythia's step branches that serve one checkpoint twice) — an analysis of that
    series would show learning stopped where the series is broken.
    """
    if "hub_id" in spec and api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    record = {}
    for step in steps:
        source, revision = import_source(spec, step, data_dir)
        entry = hub_revision(api, source, revision) if "hub_id" in spec else local_revision(source)
        if not entry["files"]:
            raise EmbryoError(
                f"runs.{run}: step {step} ({source}"
                f"{'@' + revision if revision else ''}) has no weight files "
                f"({' or '.join(WEIGHT_PATTERNS)})"
            )
        record[step] = {**entry, "weights_sha256": weights_digest(entry["files"])}
    check_distinct(run, record)
    return record


def check_distinct(run: str, record: dict) -> None:
    """Fail when two steps of a series share a commit or their weight files."""
    seen = {}
    for step, entry in record.items():
        for key in ("commit", "weights_sha256"):
            value = entry.get(key)
            if value is None:
                continue
            if (key, value) in seen:
                first = seen[key, value]
                what = "commit" if key == "commit" else "weight files (SHA-256)"
                raise EmbryoError(
                    f"runs.{run}: steps {first} and {step} have the same {what} {value[:12]}: "
                    f"the series serves one checkpoint twice ({record[first]['source']}"
                    f"{'@' + str(record[first]['revision']) if record[first]['revision'] else ''}"
                    f" and {entry['source']}"
                    f"{'@' + str(entry['revision']) if entry['revision'] else ''}); "
                    "fix the series or leave one of the steps out of runs."
                    f"{run}.checkpoints"
                )
            seen[key, value] = step


def write_series(path, record: dict) -> None:
    write_json(path, {str(step): entry for step, entry in record.items()})


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
