"""Checkpoint manifests, weight distances and releases (embryo.train.checkpoints, release).

The series check and the import of published series are tests/test_series.py's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from embryo.train import checkpoints
from embryo.train.checkpoints import verify_checkpoint, write_manifest


def tiny_bert(seed: int):
    import torch
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    return BertForMaskedLM(config)


def test_manifest_holds_each_file_hash_and_verify_finds_a_changed_byte(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "config.json").write_text("{}")
    manifest = write_manifest(
        tmp_path, run="r", step=5, parent={"segment": "results/r/train/step-5"}, code={"x": "1"}
    )
    assert manifest["files"]["model.safetensors"] == hashlib.sha256(b"weights").hexdigest()
    assert manifest["weights"] == ["model.safetensors"] and manifest["step"] == 5
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == manifest and verify_checkpoint(tmp_path) == []
    (tmp_path / "model.safetensors").write_bytes(b"weightS")
    (tmp_path / "extra.txt").write_text("")
    assert verify_checkpoint(tmp_path) == [
        f"{tmp_path / 'extra.txt'}: not in the manifest",
        f"{tmp_path / 'model.safetensors'}: SHA-256 differs from the manifest's",
    ]
    assert checkpoints.main(["verify", str(tmp_path)]) == 1


def test_weight_distances_by_hand():
    """Two parameters per part, set by hand: norms and distances are the L2 of each part."""
    import torch

    from embryo.models.weights import parameter_parts, weight_rows

    model, reference = tiny_bert(0), tiny_bert(0)
    parts = parameter_parts(model)
    assert parts["bert.embeddings.word_embeddings.weight"] == (0, "embeddings")
    assert parts["bert.encoder.layer.1.output.dense.weight"] == (2, "layer 2")
    assert parts["cls.predictions.transform.dense.weight"] == (10_000, "head")
    with torch.no_grad():
        for param in reference.parameters():
            param.zero_()
        for name, param in model.named_parameters():
            param.fill_(0.0)
            if name == "bert.encoder.layer.0.output.dense.bias":  # 16 values of 3: norm 12
                param.fill_(3.0)
                next(p for n, p in reference.named_parameters() if n == name).fill_(3.0)
            if name == "bert.encoder.layer.1.output.dense.bias":  # 16 of 1 from 0: distance 4
                param.fill_(1.0)
    rows = {r["part"]: r for r in weight_rows(model, reference)}
    assert list(rows) == ["embeddings", "layer 1", "layer 2", "head", "model"]
    assert rows["layer 1"]["norm"] == 12.0 and rows["layer 1"]["distance"] == 0.0
    assert rows["layer 1"]["relative_distance"] == 0.0
    assert rows["layer 2"]["distance"] == 4.0 and rows["layer 2"]["norm"] == 4.0
    assert rows["model"]["distance"] == 4.0 and rows["model"]["norm"] == (144 + 16) ** 0.5
    # the tied output embedding is counted once, with the embeddings
    total = sum(p.numel() for p in model.parameters())
    assert rows["model"]["parameters"] == total
    assert sum(r["parameters"] for p, r in rows.items() if p != "model") == total


@pytest.fixture
def exported(tmp_path, tiny_tokenizer):
    """An exported step as export_checkpoint leaves it: weights, tokenizer, embryo.json
    (settings and metrics), manifest.json."""
    from transformers import AutoTokenizer

    out = tmp_path / "results" / "bert" / "models" / "step-40"
    tiny_bert(0).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_tokenizer).save_pretrained(out)
    (out / ".snakemake_timestamp").write_text("")
    info = {
        "run": "bert",
        "architecture": "bert",
        "corpus": "wiki",
        "tokenizer": "wp",
        "block_size": 16,
        "optimizer": {"lr": 0.0005, "batch_size": 8},
        "metrics": {"step": 40, "val_loss": 2.5, "val_perplexity": 12.18, "tokens_seen": 5120},
    }
    (out / "embryo.json").write_text(json.dumps(info))
    write_manifest(
        out,
        run="bert",
        step=40,
        parent={"segment": "results/bert/train/step-40"},
        code={"segment": "abc123"},
    )
    return out


def test_model_card_states_the_checkpoint_its_training_and_its_scores(exported, tmp_path):
    import pandas as pd
    import yaml

    from embryo.train.release import model_card

    lama, blimp = tmp_path / "lama.csv", tmp_path / "blimp.csv"
    pd.DataFrame({"facts": [10, 30], "p_at_1": [0.5, 0.1]}).to_csv(lama, index=False)
    pd.DataFrame({"pairs": [4, 4], "accuracy": [1.0, 0.5]}).to_csv(blimp, index=False)
    card = model_card(exported, hub_id="org/bert-embryo", analyses={"lama": lama, "blimp": blimp})
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "fill-mask"
    assert "# bert, step 40" in card and "| tokens seen | 5120 |" in card
    assert "| validation loss | 2.5000 |" in card
    assert "| LAMA P@1 (fact-weighted, 40 facts) | 0.200 |" in card  # (5 + 3) / 40
    assert "| BLiMP accuracy (8 pairs) | 0.750 |" in card
    assert 'from_pretrained("org/bert-embryo", revision="step40")' in card
    sha = json.loads((exported / "manifest.json").read_text())["weights_sha256"]
    assert sha in card and "`abc123`" in card


def test_release_pushes_each_step_to_its_branch_with_the_card(exported, tmp_path):
    from embryo.train.release import release_step

    class FakeHub:
        def __init__(self):
            self.calls = []

        def create_repo(self, repo_id, **kw):
            self.calls.append(("create_repo", repo_id, kw))

        def create_branch(self, repo_id, **kw):
            self.calls.append(("create_branch", repo_id, kw))

        def upload_folder(self, **kw):
            folder = Path(kw.pop("folder_path"))
            self.calls.append(("upload_folder", sorted(p.name for p in folder.iterdir()), kw))
            self.card = (folder / "README.md").read_text()
            return SimpleNamespace(oid="f" * 40, commit_url="https://hf.co/org/b/commit/fff")

    hub = FakeHub()
    record = release_step(exported, tmp_path / "rel.json", hub_id="org/b", private=True, api=hub)
    assert hub.calls[0] == ("create_repo", "org/b", {"private": True, "exist_ok": True})
    assert hub.calls[1] == ("create_branch", "org/b", {"branch": "step40", "exist_ok": True})
    name, files, kw = hub.calls[2]
    assert name == "upload_folder" and kw["repo_id"] == "org/b" and kw["revision"] == "step40"
    assert {"README.md", "config.json", "model.safetensors", "manifest.json", "embryo.json"} <= set(
        files
    )
    assert ".snakemake_timestamp" not in files and "# bert, step 40" in hub.card
    assert record == json.loads((tmp_path / "rel.json").read_text())
    assert record["commit"] == "f" * 40 and record["revision"] == "step40"
