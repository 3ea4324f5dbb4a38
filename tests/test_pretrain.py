"""Pretraining segments: chains equal uninterrupted runs; exports reproduce the model."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import load_file

from embryo.runtime.errors import EmbryoError
from embryo.train.checkpoints import export_checkpoint, verify_checkpoint
from embryo.train.segment import batch_indices, run_segment
from embryo.train.student import run_student_segment

from .conftest import segment_settings
from .helpers import TINY_DIMS

MODEL = TINY_DIMS


def settings(architecture="bert", step=0, sop=False, objective=None, **optimizer):
    model = dict(MODEL, embedding_size=16) if architecture == "albert" else dict(MODEL)
    out = {
        "architecture": architecture,
        "seed": 3,
        "block_size": 32,
        "model": model,
        "objective": {"mlm_probability": 0.15, "sop": sop, **(objective or {})},
        "evaluation": {"batch_size": 16, "max_blocks": 32},
        "tokenizer": "t",
        "corpus": "c",
        "step": step,
    }
    if step:
        out["optimizer"] = {
            "lr": 3e-3,
            "weight_decay": 0.01,
            "beta1": 0.9,
            "beta2": 0.999,
            "eps": 1e-6,
            "warmup_steps": 2,
            "total_steps": 6,
            "batch_size": 8,
            "grad_accum": 2,
            "max_grad_norm": 1.0,
            "mixed_precision": "no",
            **optimizer,
        }
    return out


def segment(
    tmp_path, tiny_tokenizer, tiny_blocks, arch, step, previous, sop=False, folder=None, **kw
):
    out = tmp_path / (folder or f"step-{step}")
    run_segment(
        segment_settings(settings(arch, step, sop, **kw)),
        blocks_dir=tiny_blocks,
        tokenizer_dir=tiny_tokenizer,
        previous_dir=previous,
        out_dir=out,
        threads=1,
    )
    return out


def test_batch_indices_visit_every_block_once_per_epoch():
    n, b = 10, 4
    first_epoch = [i for t in range(1, 3) for i in batch_indices(t, b, n, seed=0)] + list(
        batch_indices(3, b, n, seed=0)[:2]
    )
    assert sorted(first_epoch) == list(range(n))
    assert list(batch_indices(5, b, n, seed=0)) == list(batch_indices(5, b, n, seed=0))
    assert list(batch_indices(1, b, n, seed=0)) != list(batch_indices(1, b, n, seed=1))


# ALBERT as the paper preset trains it: LAMB, whole-word n-gram masking with a cap
ALBERT_PAPER = {
    "objective": {"masking": "ngram", "whole_word": True, "max_predictions": 5},
    "name": "lamb",
}


@pytest.mark.parametrize(
    "arch,sop,kw", [("bert", False, {}), ("albert", True, {}), ("albert", True, ALBERT_PAPER)]
)
def test_chain_of_segments_equals_one_run(tmp_path, tiny_tokenizer, tiny_blocks, arch, sop, kw):
    s0 = segment(tmp_path, tiny_tokenizer, tiny_blocks, arch, 0, None, sop)
    s2 = segment(tmp_path, tiny_tokenizer, tiny_blocks, arch, 2, s0, sop, **kw)
    s4 = segment(tmp_path, tiny_tokenizer, tiny_blocks, arch, 4, s2, sop, **kw)
    s6 = segment(tmp_path, tiny_tokenizer, tiny_blocks, arch, 6, s4, sop, **kw)
    one = segment(
        tmp_path, tiny_tokenizer, tiny_blocks, arch, 6, s0, sop, folder="uninterrupted", **kw
    )

    chained, single = (
        load_file(s6 / "model" / "model.safetensors"),
        load_file(one / "model" / "model.safetensors"),
    )
    initial = load_file(s0 / "model" / "model.safetensors")
    assert chained.keys() == single.keys()
    for key in chained:
        assert torch.equal(chained[key], single[key]), key
    assert any(not torch.equal(chained[k], initial[k]) for k in chained), "training changed nothing"
    a, b = torch.load(s6 / "state.pt"), torch.load(one / "state.pt")
    assert a["scheduler"] == b["scheduler"]
    for pa, pb in zip(
        a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True
    ):
        assert torch.equal(pa["exp_avg_sq"], pb["exp_avg_sq"])
    curve = (one / "train_curve.csv").read_text().splitlines()
    chain_curve = [
        line for s in (s2, s4, s6) for line in (s / "train_curve.csv").read_text().splitlines()[1:]
    ]
    assert curve[1:] == chain_curve
    assert (
        json.loads((s6 / "metrics.json").read_text())["val_loss"]
        == json.loads((one / "metrics.json").read_text())["val_loss"]
    )


def test_step_zero_is_seeded_and_scored(tmp_path, tiny_tokenizer, tiny_blocks):
    a = segment(tmp_path, tiny_tokenizer, tiny_blocks, "roberta", 0, None, folder="a")
    b = segment(tmp_path, tiny_tokenizer, tiny_blocks, "roberta", 0, None, folder="b")
    assert (a / "model" / "model.safetensors").read_bytes() == (
        b / "model" / "model.safetensors"
    ).read_bytes()
    metrics = json.loads((a / "metrics.json").read_text())
    # an untrained model is close to uniform over the vocabulary: loss ~ ln(V)
    assert metrics["val_loss"] == pytest.approx(torch.log(torch.tensor(120.0)).item(), rel=0.1)
    assert not (a / "state.pt").exists()


@pytest.mark.parametrize("arch,sop", [("bert", False), ("albert", True), ("roberta", False)])
def test_export_loads_with_auto_classes_and_reproduces_logits(
    tmp_path, tiny_tokenizer, tiny_blocks, arch, sop
):
    from transformers import AutoModelForMaskedLM, AutoModelForPreTraining, AutoTokenizer

    s0 = segment(tmp_path, tiny_tokenizer, tiny_blocks, arch, 0, None, sop)
    s2 = segment(tmp_path, tiny_tokenizer, tiny_blocks, arch, 2, s0, sop)
    out = tmp_path / "export"
    export_checkpoint(s2, tiny_tokenizer, out, provenance={"run": "r", "step": 2})

    exported = AutoModelForMaskedLM.from_pretrained(out).eval()
    trained = (
        (AutoModelForPreTraining if sop else AutoModelForMaskedLM)
        .from_pretrained(s2 / "model")
        .eval()
    )
    tokenizer = AutoTokenizer.from_pretrained(out)
    batch = tokenizer(["The old cat sees a dog .", "A bird ."], return_tensors="pt", padding=True)
    with torch.no_grad():
        got = exported(**batch).logits
        out_trained = trained(**batch)
        want = out_trained.prediction_logits if sop else out_trained.logits
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    assert json.loads((out / "embryo.json").read_text())["metrics"]["step"] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["step"] == 2 and manifest["weights"] == ["model.safetensors"]
    assert manifest["parent"]["segment"] == str(s2) and verify_checkpoint(out) == []


def test_missing_training_state_is_an_error(tmp_path, tiny_tokenizer, tiny_blocks):
    from embryo.runtime.errors import EmbryoError

    s0 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 0, None)
    s2 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 2, s0)
    (s2 / "state.pt").unlink()
    with pytest.raises(EmbryoError, match="training state missing"):
        segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 4, s2)


@pytest.mark.parametrize("arch,sop", [("bert", False), ("albert", True), ("roberta", False)])
def test_sparse_loss_equals_the_models_own_loss(tiny_tokenizer, arch, sop):
    from transformers import AutoTokenizer

    from embryo.models.families import model_spec, new_model
    from embryo.models.seeds import generator
    from embryo.train.objective import PretrainingLoss, mask_tokens, sentence_order

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer)
    dims = dict(MODEL, embedding_size=16) if arch == "albert" else MODEL
    model = new_model(arch, model_spec(arch, dims), tokenizer, 32, seed=0, sop=sop).eval()
    ids = torch.randint(5, len(tokenizer), (4, 32))
    ids[:, 0], ids[:, -1] = tokenizer.cls_token_id, tokenizer.sep_token_id
    batch = {}
    if sop:
        ids, types, order, attention = sentence_order(
            ids,
            cls_id=tokenizer.cls_token_id,
            sep_id=tokenizer.sep_token_id,
            gen=generator(1),
            doc_starts=[[10], [], [3, 20], [31]],
            pad_id=tokenizer.pad_token_id,
        )
        batch = {
            "token_type_ids": types,
            "sentence_order_label": order,
            "attention_mask": attention,
        }
    inputs, labels = mask_tokens(
        ids,
        special_ids={tokenizer.cls_token_id, tokenizer.sep_token_id},
        mask_id=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        probability=0.3,
        gen=generator(0),
    )
    with torch.no_grad():
        ours = PretrainingLoss(model)(input_ids=inputs, labels=labels, **batch)
        theirs = model(input_ids=inputs, labels=labels, **batch).loss
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)


def test_learning_rate_schedule_by_hand():
    from embryo.train.optimizer import lr_factor

    assert [lr_factor(t, 2, 6) for t in range(1, 8)] == [0.5, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0]
    assert [lr_factor(t, 0, 3) for t in (1, 2, 3)] == [1.0, 2 / 3, 1 / 3]
    # warmup-stable-decay: at the peak until step 4, then to 0 at step 7; constant past total
    assert [lr_factor(t, 2, 6, 4) for t in range(1, 8)] == [0.5, 1.0, 1.0, 1.0, 2 / 3, 1 / 3, 0.0]
    assert [lr_factor(t, 2, 6, 6) for t in range(3, 7)] == [1.0] * 4


def test_a_student_with_alpha_zero_is_its_twin_and_a_teacher_changes_it(
    tmp_path, tiny_tokenizer, tiny_blocks
):
    """Knowledge inheritance: α_0 = 0 equals from-scratch training bit for bit."""
    s0 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 0, None)
    trained = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 6, s0, folder="teacher")
    teacher = tmp_path / "teacher-model"
    export_checkpoint(trained, tiny_tokenizer, teacher, provenance={"run": "t", "step": 6})

    def student(name, **ki):
        deeper = {**MODEL, "num_layers": 3}
        start = settings("bert", 0) | {"model": deeper}
        out0 = tmp_path / f"{name}-0"
        run_segment(
            segment_settings(start),
            blocks_dir=tiny_blocks,
            tokenizer_dir=tiny_tokenizer,
            previous_dir=None,
            out_dir=out0,
            threads=1,
        )
        spec = settings("bert", 6) | {"model": deeper}
        if ki:
            spec["teacher"] = {
                "run": "t",
                "step": 6,
                "twin": None,
                "schedule": "linear",
                "kd_steps": 4,
                "temperature": 2.0,
                "top_k": None,
                **ki,
            }
        out = tmp_path / name
        run = run_student_segment if ki else run_segment
        run(
            segment_settings(spec),
            blocks_dir=tiny_blocks,
            tokenizer_dir=tiny_tokenizer,
            previous_dir=out0,
            out_dir=out,
            threads=1,
            **({"teacher_dir": teacher} if ki else {}),
        )
        return out

    twin, zero, guided = student("twin"), student("zero", alpha=0.0), student("ki", alpha=1.0)
    weights = {run: load_file(run / "model" / "model.safetensors") for run in (twin, zero, guided)}
    assert all(torch.equal(weights[twin][k], weights[zero][k]) for k in weights[twin])
    assert any(not torch.equal(weights[twin][k], weights[guided][k]) for k in weights[twin])
    # the curve records α_t: linear from α_0 = 1 over kd_steps = 4, then 0
    rows = [line.split(",") for line in (guided / "train_curve.csv").read_text().splitlines()]
    assert rows[0] == ["step", "loss", "lr", "grad_norm", "alpha"]
    assert [float(r[4]) for r in rows[1:]] == [0.75, 0.5, 0.25, 0.0, 0.0, 0.0]
    assert (twin / "train_curve.csv").read_text().splitlines()[0] == "step,loss,lr,grad_norm"


def test_a_grown_run_starts_as_its_source(tmp_path, tiny_tokenizer, tiny_blocks):
    """Step 0 of a run grown to twice the width computes what its source computed."""
    s0 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 0, None)
    trained = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 6, s0, folder="source")
    source = tmp_path / "source-model"
    export_checkpoint(trained, tiny_tokenizer, source, provenance={"run": "s", "step": 6})
    wide = {**MODEL, "hidden_size": 64, "num_heads": 4, "intermediate_size": 128}
    spec = settings("bert", 0) | {"model": wide, "grow_from": {"run": "s", "step": 6}}
    out = tmp_path / "grown"
    run_segment(
        segment_settings(spec),
        blocks_dir=tiny_blocks,
        tokenizer_dir=tiny_tokenizer,
        previous_dir=None,
        out_dir=out,
        threads=1,
        source_dir=source,
    )
    grown, before = (json.loads((d / "metrics.json").read_text()) for d in (out, trained))
    assert grown["grown_from"] == "s@6" and grown["growth_exact"]
    assert grown["growth_logit_deviation"] < 1e-4
    assert grown["val_loss"] == pytest.approx(before["val_loss"], abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("arch, sop", [("bert", False), ("albert", True)])
def test_two_processes_follow_the_one_process_run(tmp_path, tiny_tokenizer, tiny_blocks, arch, sop):
    """Data parallel over 2 processes (torchrun, gloo on CPU), the same global batch:
    every process draws the whole step's masks and keeps its half, and each masked
    position weighs the same after averaging, so without dropout the two runs differ only
    by float rounding of the gradient all-reduce."""
    from embryo.train.segment import launch

    def run(step, previous, processes, name):
        spec = settings(arch, step, sop, grad_accum=1)
        spec["model"]["dropout"] = 0.0
        out = tmp_path / name
        launch(
            segment_settings(spec),
            processes=processes,
            threads=2,
            blocks_dir=tiny_blocks,
            tokenizer_dir=tiny_tokenizer,
            previous_dir=previous,
            out_dir=out,
        )
        return out

    s0 = run(0, None, 1, "step-0")
    one, two = run(6, s0, 1, "one"), run(6, s0, 2, "two")
    same_run(one, two)


def same_run(one, two, processes=2):
    """Two runs of one segment, split differently, equal up to the all-reduce's rounding."""
    import pandas as pd

    curves = [pd.read_csv(d / "train_curve.csv") for d in (one, two)]
    assert curves[0]["step"].tolist() == curves[1]["step"].tolist() == list(range(1, 7))
    assert curves[1]["loss"].to_numpy() == pytest.approx(curves[0]["loss"].to_numpy(), rel=1e-4)
    a, b = (load_file(d / "model" / "model.safetensors") for d in (one, two))
    for name, tensor in a.items():
        assert torch.allclose(tensor, b[name], atol=1e-5), name
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (one, two)]
    assert [m["processes"] for m in metrics] == [1, processes]
    assert metrics[1]["val_loss"] == pytest.approx(metrics[0]["val_loss"], rel=1e-4)


@pytest.mark.slow
def test_two_nodes_follow_the_one_process_run(tmp_path, tiny_tokenizer, tiny_blocks):
    """A segment over two "nodes": two torchrun agents on localhost, each starting one
    worker, joined by one c10d rendezvous (--nnodes 2), as srun starts them on two nodes
    of an allocation (embryo.train.launch); with accumulation, so no_sync is exercised."""
    import pickle
    import socket
    import subprocess

    from embryo.train.launch import agent_command
    from embryo.train.segment import launch

    def spec(step):
        out = settings("bert", step, grad_accum=2)
        out["model"]["dropout"] = 0.0
        return segment_settings(out)

    dirs = dict(blocks_dir=str(tiny_blocks), tokenizer_dir=str(tiny_tokenizer))
    s0 = tmp_path / "step-0"
    launch(spec(0), previous_dir=None, out_dir=s0, threads=1, **dirs)
    one = tmp_path / "one"
    launch(spec(6), previous_dir=s0, out_dir=one, threads=1, **dirs)
    two = tmp_path / "two"
    pickled = tmp_path / "segment.pickle"
    pickled.write_bytes(
        pickle.dumps(
            {
                "settings": spec(6),
                "dirs": {**dirs, "previous_dir": str(s0), "out_dir": str(two), "source_dir": None},
            }
        )
    )
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    agents = [
        subprocess.Popen(
            agent_command(
                "embryo.train.segment",
                pickled,
                nproc_per_node=1,
                threads=1,
                nnodes=2,
                endpoint=f"127.0.0.1:{port}",
                rdzv_id="two-nodes",
            )
        )
        for _ in range(2)
    ]
    assert [a.wait(timeout=600) for a in agents] == [0, 0]
    same_run(one, two)


def test_a_replicate_seed_draws_only_what_it_varies(
    tmp_path, tiny_tokenizer, tiny_blocks, monkeypatch
):
    """runs.<run>.replicates.vary: each source of randomness follows its own seed."""
    import embryo.models.seeds as seeds_module
    import embryo.train.segment as seg

    drawn = []
    batch_indices_, generator_, derive_seed_ = (
        seg.batch_indices,
        seeds_module.generator,
        seeds_module.derive_seed,
    )

    def record(name, fn, index):
        def wrapped(*args, **kwargs):
            drawn.append((name, args[index] if index is not None else kwargs["seed"]))
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(seg, "batch_indices", record("data_order", batch_indices_, 3))
    monkeypatch.setattr(
        seeds_module,
        "generator",
        lambda *parts: (
            (drawn.append(("masks", parts[0])) if parts[-1] == "data" else None)
            or generator_(*parts)
        ),
    )
    monkeypatch.setattr(
        seeds_module,
        "derive_seed",
        lambda *parts: (
            (drawn.append(("dropout", parts[0])) if parts[-1] == "dropout" else None)
            or derive_seed_(*parts)
        ),
    )

    def run(name, step, previous, seeds):
        spec = {**settings("bert", step), "seeds": seeds}
        out = tmp_path / name
        run_segment(
            segment_settings(spec),
            blocks_dir=tiny_blocks,
            tokenizer_dir=tiny_tokenizer,
            previous_dir=previous,
            out_dir=out,
            threads=1,
        )
        return out

    base = dict.fromkeys(("init", "data_order", "masks", "dropout"), 3)
    start = run("base-0", 0, None, base)
    weights = load_file(start / "model" / "model.safetensors")
    for vary in base:
        seeds = {**base, vary: 7}
        zero = run(f"{vary}-0", 0, None, seeds)
        same_start = all(
            torch.equal(weights[k], v)
            for k, v in load_file(zero / "model" / "model.safetensors").items()
        )
        assert same_start == (vary != "init"), vary
        drawn.clear()
        run(f"{vary}-2", 2, start, seeds)
        used = {name: {seed for n, seed in drawn if n == name} for name in base if name != "init"}
        assert used == {name: {7 if name == vary else 3} for name in used}, vary


def test_accumulation_all_reduces_once_a_step(tmp_path, tiny_tokenizer, tiny_blocks, monkeypatch):
    """Gradient accumulation under data parallelism: every micro-step but a step's last
    runs in accelerate's ``no_sync`` (DDP all-reduces only the accumulated gradient)."""
    import accelerate

    entered = []
    original = accelerate.Accelerator.no_sync

    def no_sync(self, model):
        entered.append(model)
        return original(self, model)

    monkeypatch.setattr(accelerate.Accelerator, "no_sync", no_sync)
    s0 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 0, None)
    segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 3, s0, grad_accum=4)
    assert len(entered) == 3 * (4 - 1)


def test_fp16_loss_scale_continues_across_segments(
    tmp_path, tiny_tokenizer, tiny_blocks, monkeypatch
):
    """fp16's GradScaler state is saved with the training state and restored, so a chain of
    segments scales as one run does (a CPU GradScaler stands in for CUDA's)."""
    import accelerate

    original = accelerate.Accelerator.__init__

    def with_scaler(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8, growth_interval=1)

    monkeypatch.setattr(accelerate.Accelerator, "__init__", with_scaler)
    s0 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 0, None)
    s2 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 2, s0)
    s4 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 4, s2)
    one = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 4, s0, folder="one")
    chained, single = (torch.load(d / "state.pt")["scaler"] for d in (s4, one))
    assert single["scale"] == 2.0**8 * 2**4  # grown once a step, no overflow
    assert chained == single
    state = torch.load(s2 / "state.pt")
    state["scaler"] = None
    torch.save(state, s2 / "state.pt")
    with pytest.raises(EmbryoError, match="GradScaler"):
        segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 4, s2, folder="again")


def test_a_segment_over_nodes_is_one_srun_of_an_agent_a_node(tmp_path, monkeypatch):
    """In a SLURM job of 4 nodes: srun of one torchrun agent a node, 8 workers each, all
    joining the rendezvous on the allocation's first host (read with scontrol, as the job
    step keeps only SLURM_JOB_ID); outside an allocation, an error that says so."""
    from embryo.train.launch import command

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(
        "#!/bin/sh\n"
        'if [ "$2" = job ]; then echo "JobId=$4 NodeList=gpu[07-10] NumNodes=4"; '
        "else printf 'gpu07\\ngpu08\\ngpu09\\ngpu10\\n'; fi\n"
    )
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.delenv("SLURM_JOB_NODELIST", raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "123456")
    cmd = command("embryo.train.segment", "spec.pickle", processes=32, nodes=4, threads=16)
    assert cmd[:6] == [
        "srun",
        "--nodes=4",
        "--ntasks=4",
        "--ntasks-per-node=1",
        "--kill-on-bad-exit=1",
        "--cpus-per-task=16",
    ]
    assert "--nnodes=4" in cmd and "--nproc-per-node=8" in cmd and "--threads=2" in cmd
    assert "--rdzv-endpoint=gpu07:32956" in cmd and "--rdzv-id=123456" in cmd
    with pytest.raises(EmbryoError, match="do not split evenly over 4 nodes"):
        command("embryo.train.segment", "spec.pickle", processes=30, nodes=4, threads=16)
    with pytest.raises(EmbryoError, match="asks 8"):
        command("embryo.train.segment", "spec.pickle", processes=32, nodes=8, threads=16)
    monkeypatch.delenv("SLURM_JOB_ID")
    with pytest.raises(EmbryoError, match="outside a SLURM allocation"):
        command("embryo.train.segment", "spec.pickle", processes=8, nodes=2, threads=16)
    single = command("embryo.train.segment", "spec.pickle", processes=2, nodes=1, threads=4)
    assert "--standalone" in single and "--nproc-per-node=2" in single


def test_replay_names_the_blocks_and_documents_the_training_loop_took(
    tmp_path, tiny_corpus, tiny_tokenizer, tiny_blocks, monkeypatch
):
    """The replay of a step, computed afresh, is the batch the segment trained on."""
    from transformers import AutoTokenizer

    from embryo.data.blocks import load_blocks
    from embryo.train import objective
    from embryo.train.replay import replay

    trained = []
    real = objective.masking

    def spy(*args, **kw):
        mask = real(*args, **kw)

        def recorded(ids, gen):
            trained.append(ids.clone())
            return mask(ids, gen)

        return recorded

    monkeypatch.setattr(objective, "masking", spy)
    first = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 0, None)
    segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 3, first)
    assert len(trained) == 3
    blocks = load_blocks(tiny_blocks)["train"]
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer)
    table = replay(
        tiny_blocks, tiny_corpus[0], tiny_tokenizer, step=3, batch_size=8, seed=3, total_steps=6
    )
    assert table["position"].tolist() == list(range(8))
    assert blocks.select(table["block"])["input_ids"] == trained[2].tolist()
    texts = __import__("pandas").read_parquet(tiny_corpus[0])["text"].tolist()
    for row in table.itertuples():
        docs = [int(d) for d in row.docs.split()]
        assert row.first_doc_text == texts[docs[0]][:80]
        whole = tok.decode(blocks[int(row.block)]["input_ids"])
        for doc in docs[1:-1]:  # documents wholly inside the block
            assert tok.decode(tok(texts[doc], add_special_tokens=False)["input_ids"]) in whole
    with pytest.raises(EmbryoError, match=r"step 7: the run's optimizer steps are 1 to 6"):
        replay(
            tiny_blocks, tiny_corpus[0], tiny_tokenizer, step=7, batch_size=8, seed=3, total_steps=6
        )


def test_live_curves_are_one_continuous_tensorboard_run_across_segments(
    tmp_path, tiny_tokenizer, tiny_blocks
):
    """Each step logged once, with the values of train_curve.csv, across a chain of two
    segments, and still once after the second segment reruns."""
    import pandas as pd
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from embryo.train.tracking import Tracking

    log_dir = tmp_path / "tensorboard"
    tracking = Tracking(trackers=("tensorboard",), log_dir=str(log_dir), run="r")

    def run(step, previous, folder):
        out = tmp_path / folder
        run_segment(
            segment_settings(settings("bert", step)),
            blocks_dir=tiny_blocks,
            tokenizer_dir=tiny_tokenizer,
            previous_dir=previous,
            out_dir=out,
            threads=1,
            tracking=tracking,
        )
        return out

    s0 = run(0, None, "step-0")
    s3 = run(3, s0, "step-3")
    s6 = run(6, s3, "step-6")
    run(6, s3, "step-6-again")  # a rerun replaces the segment's event file
    assert len(list(log_dir.glob("*tfevents*"))) == 3
    events = EventAccumulator(str(log_dir))
    events.Reload()
    scalars = {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }
    assert {"train/loss", "train/lr", "train/grad_norm", "train/tokens_per_second"} <= set(scalars)
    curve = pd.concat([pd.read_csv(s / "train_curve.csv") for s in (s3, s6)])
    assert [s for s, _ in scalars["train/loss"]] == list(range(1, 7))
    for tag in ("loss", "grad_norm", "lr"):
        got = [v for _, v in sorted(scalars[f"train/{tag}"])]
        assert got == pytest.approx(curve[tag].tolist(), rel=1e-6)  # float32 in the events
    val = dict(scalars["val/loss"])
    assert sorted(val) == [0, 3, 6]
    assert val[6] == pytest.approx(json.loads((s6 / "metrics.json").read_text())["val_loss"])


def test_overlapping_segment_files_are_cleared_and_wandb_resumes_one_run(tmp_path, monkeypatch):
    import accelerate.tracking

    from embryo.train.tracking import LiveCurves, Tracking, clear_overlapping, wandb_id

    for name in (
        "a.tfevents.1.segment-0-0",
        "a.tfevents.2.segment-0-4",
        "a.tfevents.3.segment-4-8",
        "a.tfevents.4.segment-8-12",
        "notes.txt",
    ):
        (tmp_path / name).write_text("")
    removed = clear_overlapping(tmp_path, 2, 8)  # a new chain 0-2-8: steps 3..8
    assert sorted(p.name for p in removed) == [
        "a.tfevents.2.segment-0-4",
        "a.tfevents.3.segment-4-8",
    ]
    assert clear_overlapping(tmp_path, 0, 0)[0].name == "a.tfevents.1.segment-0-0"

    started = []

    class FakeWandB:
        def __init__(self, run_name, **kwargs):
            started.append((run_name, kwargs))

        def start(self):
            pass

    monkeypatch.setattr(accelerate.tracking, "WandBTracker", FakeWandB)
    ident = wandb_id("bert@s1", {"seed": 1})
    assert ident == wandb_id("bert@s1", {"seed": 1}) != wandb_id("bert@s1", {"seed": 2})
    tracking = Tracking(("wandb",), str(tmp_path / "tb"), "bert@s1", "embryo", None, ident)
    for first, step in ((0, 4), (4, 8)):
        LiveCurves(tracking, first=first, step=step, main=True)
    assert LiveCurves(tracking, first=0, step=4, main=False).trackers == []
    assert [kw["id"] for _, kw in started] == [ident, ident] and ident.startswith("bert-s1-")
    assert all(name == "embryo" and kw["resume"] == "allow" for name, kw in started)


def test_a_branch_that_changes_nothing_is_its_parent_and_an_annealed_one_decays(
    tmp_path, tiny_tokenizer, tiny_blocks
):
    """A branch at step 3 (its first segment carries the parent's state, training nothing)
    continued with the parent's settings is the parent at step 6, bit for bit; annealed,
    its learning rate falls from the parent's at step 3 to 0 after step 6."""
    from embryo.train.optimizer import lr_factor

    s0 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 0, None)
    s3 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 3, s0)
    s6 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 6, s3)
    b3 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 3, s3, folder="branch-3")
    assert (b3 / "state.pt").read_bytes() == (s3 / "state.pt").read_bytes()
    assert (b3 / "train_curve.csv").read_text().splitlines() == ["step,loss,lr,grad_norm"]
    b6 = segment(tmp_path, tiny_tokenizer, tiny_blocks, "bert", 6, b3, folder="branch-6")
    a, b = (
        load_file(s6 / "model" / "model.safetensors"),
        load_file(b6 / "model" / "model.safetensors"),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)
    # annealed: lr from the parent's at step 3 (warm-up 2, total 6) linearly to 0 at step 7
    at3 = 3e-3 * lr_factor(3, 2, 6)
    annealed = segment(
        tmp_path,
        tiny_tokenizer,
        tiny_blocks,
        "bert",
        6,
        b3,
        folder="anneal-6",
        lr=at3,
        warmup_steps=0,
        decay_start=3,
    )
    lrs = [
        float(line.split(",")[2])
        for line in (annealed / "train_curve.csv").read_text().splitlines()[1:]
    ]
    assert lrs == pytest.approx([at3 * 3 / 4, at3 * 2 / 4, at3 * 1 / 4])
    parent = [
        float(line.split(",")[2]) for line in (s6 / "train_curve.csv").read_text().splitlines()[1:]
    ]
    assert parent == pytest.approx([3e-3 * lr_factor(t, 2, 6) for t in (4, 5, 6)])
