"""Releasing a run's checkpoints on the Hugging Face Hub, one revision branch per step.

Each exported step of a run goes to one Hub repository as branch ``step{N}`` — the mirror
of importing a series with ``import: {hub_id: ..., revision: "step{step}"}``, as Pythia
and MultiBERTs publish theirs — with its weights, tokenizer, ``embryo.json``,
``manifest.json`` and a model card (``README.md``, :func:`model_card`) written from the
checkpoint's provenance: the data, the steps and hyper-parameters, the validation scores
and the headline analyses of that step where they were run. Opt-in: nothing is released
unless ``release.runs`` names the run and its release is asked for by name.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import yaml

from embryo.runtime.atomic import write_json


def branch(step: int) -> str:
    return f"step{step}"


def _headlines(analyses: dict) -> list[str]:
    """One line per analysis summary of the step: LAMA P@1, BLiMP accuracy."""
    import pandas as pd

    lines = []
    if (path := analyses.get("lama")) and Path(path).exists():
        lama = pd.read_csv(path)
        if len(lama) and lama["facts"].sum():
            p1 = (lama["p_at_1"] * lama["facts"]).sum() / lama["facts"].sum()
            lines.append(
                f"| LAMA P@1 (fact-weighted, {int(lama['facts'].sum())} facts) | {p1:.3f} |"
            )
    if (path := analyses.get("blimp")) and Path(path).exists():
        blimp = pd.read_csv(path)
        if len(blimp) and blimp["pairs"].sum():
            acc = (blimp["accuracy"] * blimp["pairs"]).sum() / blimp["pairs"].sum()
            lines.append(f"| BLiMP accuracy ({int(blimp['pairs'].sum())} pairs) | {acc:.3f} |")
    return lines


def model_card(model_dir, *, hub_id: str, analyses: dict | None = None) -> str:
    """The model card of one exported step: YAML metadata, then what the checkpoint is,
    how it was trained, its scores and how to load it and its siblings."""
    model_dir = Path(model_dir)
    info = json.loads((model_dir / "embryo.json").read_text())
    manifest = json.loads((model_dir / "manifest.json").read_text())
    metrics, opt = info.get("metrics", {}), info.get("optimizer") or {}
    run, step = info["run"], manifest["step"]
    meta = {
        "library_name": "transformers",
        "pipeline_tag": "fill-mask",
        "tags": ["embryo", "masked-lm", "training-dynamics", info.get("architecture", "")],
    }
    rows = [
        ("run", run),
        ("step", step),
        ("architecture", info.get("architecture")),
        ("model", ", ".join(f"{k} {v}" for k, v in (info.get("model") or {}).items())),
        ("parameters", metrics.get("parameters")),
        ("corpus", info.get("corpus")),
        ("tokenizer", info.get("tokenizer")),
        ("block size", info.get("block_size")),
        ("objective", ", ".join(f"{k} {v}" for k, v in (info.get("objective") or {}).items())),
        ("optimizer", ", ".join(f"{k} {v}" for k, v in opt.items())),
        ("seeds", ", ".join(f"{k} {v}" for k, v in (info.get("seeds") or {}).items())),
        ("tokens seen", metrics.get("tokens_seen")),
    ]
    scores = [
        f"| validation {k[4:]} | {metrics[k]:.4f} |"
        for k in ("val_loss", "val_perplexity", "val_accuracy")
        if k in metrics
    ]
    scores += _headlines(analyses or {})
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False).strip(),
        "---",
        "",
        f"# {run}, step {step}",
        "",
        f"A masked language model checkpoint of the run `{run}` after {step} optimizer steps, "
        "trained and exported by [Embryo](https://github.com/) (a Snakemake workflow for the "
        "embryology, transferability and knowledge inheritance of masked language models). "
        f"Every checkpoint of the run is a branch of this repository: `step{{N}}`.",
        "",
        "## How it was trained",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in rows if v not in (None, "")),
        "",
        "## Scores at this step",
        "",
        "| | |",
        "|---|---|",
        *scores,
        "",
        "## Use",
        "",
        "```python",
        "from transformers import AutoModelForMaskedLM, AutoTokenizer",
        f'model = AutoModelForMaskedLM.from_pretrained("{hub_id}", revision="step{step}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{hub_id}", revision="step{step}")',
        "```",
        "",
        "As an Embryo run of its own: `import: {hub_id: " + hub_id + ', revision: "step{step}"}`.',
        "",
        "## Provenance",
        "",
        f"- weights SHA-256 (manifest.json): `{manifest['weights_sha256']}`",
        *(f"- code of `{k}`: `{v}`" for k, v in sorted(manifest.get("code", {}).items())),
        f"- from: {json.dumps(manifest.get('parent', {}))}",
        "- `embryo.json` holds every setting; `manifest.json` the SHA-256 of every file "
        "(`python -m embryo.train.checkpoints verify DIR`).",
        "",
    ]
    return "\n".join(lines)


def release_step(
    model_dir, out_json, *, hub_id: str, private: bool, analyses=None, api=None
) -> dict:
    """Push one exported step to branch ``step{N}`` of ``hub_id`` (created if missing,
    private unless said otherwise) with its model card; record the commit in ``out_json``."""
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    model_dir = Path(model_dir)
    step = json.loads((model_dir / "manifest.json").read_text())["step"]
    api.create_repo(hub_id, private=private, exist_ok=True)
    api.create_branch(hub_id, branch=branch(step), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="embryo-release-") as tmp:
        folder = Path(tmp) / "step"
        shutil.copytree(model_dir, folder, ignore=shutil.ignore_patterns(".*"))
        (folder / "README.md").write_text(model_card(model_dir, hub_id=hub_id, analyses=analyses))
        commit = api.upload_folder(
            repo_id=hub_id,
            folder_path=str(folder),
            revision=branch(step),
            commit_message=f"Embryo: {model_dir.parent.parent.name} step {step}",
        )
    record = {
        "hub_id": hub_id,
        "revision": branch(step),
        "step": step,
        "commit": getattr(commit, "oid", None),
        "url": getattr(commit, "commit_url", None),
    }
    write_json(out_json, record)
    return record
