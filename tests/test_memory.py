"""The parse-time GPU memory check (embryo.config.memory): its estimate by hand, its
parameter count against the models themselves, and config/paper.yaml against it."""

from __future__ import annotations

import copy

import pytest
import yaml

from embryo import config as ec
from embryo.config import memory
from embryo.runtime.errors import EmbryoError

from .conftest import REPO

SCHEMA = ec.load_schema(REPO / "config" / "schema.yaml")


def paper():
    return ec.validate(
        yaml.safe_load((REPO / "config" / "paper.yaml").read_text()), SCHEMA, check_files=False
    )


def resources_of(cfg):
    spec = cfg["resources"]

    def wanted(rule):
        out = {"gpu": 0, "nodes": 1, "gpu_mem_mb": None}
        for given in (spec.get("default"), spec.get("pretrain"), spec.get(rule)):
            out.update({k: v for k, v in (given or {}).items() if v is not None})
        return out

    return wanted


@pytest.mark.parametrize("arch", ["bert", "roberta", "albert"])
def test_parameter_count_is_the_models_own(tiny_tokenizer, arch):
    """The closed-form count equals the parameters of the model the run builds."""
    from transformers import AutoTokenizer

    from embryo.models.families import model_spec, new_model, parameter_count

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer)
    section = {
        "hidden_size": 48,
        "num_layers": 3,
        "num_heads": 4,
        "intermediate_size": 80,
        **({"embedding_size": 16} if arch == "albert" else {}),
        "dropout": 0.1,
        "initializer_range": 0.02,
    }
    model = new_model(arch, model_spec(arch, section), tokenizer, 32, seed=0, sop=False)
    cfg = {
        "tokenizers": {"t": {"vocab_size": len(tokenizer), "algorithm": "wordpiece"}},
        "runs": {"r": {"architecture": arch, "model": section, "tokenizer": "t", "block_size": 32}},
    }
    assert memory.parameters(memory.run_shape(cfg, "r")) == parameter_count(model)


def test_activation_estimate_by_hand():
    """Korthikanti et al.'s s·b·h·(34 + 5·a·s/h) bytes a layer (16-bit), twice in fp32."""
    shape = memory.Shape(
        layers=2,
        hidden=8,
        heads=2,
        intermediate=16,
        embedding=8,
        vocab=10,
        positions=4,
        token_types=2,
        shared_layers=False,
    )
    parts = memory.segment_bytes(shape, micro_batch=3, block_size=4, predictions=1, mixed=True)
    # 2 layers x (4 x 3 x 8) x (34 + 5 x 2 x 4 / 8) = 2 x 96 x 39
    assert parts["activations"] == 2 * 96 * 39
    assert parts["head"] == 3 * 1 * 10 * 12
    assert parts["model_state"] == memory.parameters(shape) * 18
    fp32 = memory.segment_bytes(shape, micro_batch=3, block_size=4, predictions=1, mixed=False)
    assert fp32["activations"] == 2 * parts["activations"]
    assert parts["total"] == parts["activations"] + parts["head"] + parts["model_state"]


def test_predictions_follow_the_rate_or_the_cap():
    assert memory.predictions_per_block({"mlm_probability": 0.15}, 512) == 77
    assert memory.predictions_per_block({"mlm_probability": 0.15, "max_predictions": 20}, 512) == 20


def test_roberta_base_at_256_a_gpu_does_not_fit_80_gb():
    """The issue's case: 256 sequences of 512 tokens a GPU of RoBERTa-base, bf16."""
    fit = memory.gpu_fits(
        paper(), "roberta-base-scratch", rule="pretrain", gpus=8, nodes=1, gpu_mem_mb=81920
    )
    assert fit.micro_batch == 256 and not fit.fits and 90 < fit.estimate_gib < 100
    assert fit.smallest_fitting_accum == 2


def test_paper_preset_fits_as_shipped_and_names_the_accumulation_otherwise():
    cfg = paper()
    rows = memory.check_gpu_memory(cfg, resources_of(cfg))
    assert rows and all(r.fits and r.processes == 32 for r in rows)
    assert {r.run for r in rows} == {n for n, r in cfg["runs"].items() if "import" not in r}
    one_node = copy.deepcopy(cfg)
    one_node["resources"]["pretrain"]["nodes"] = 1
    with pytest.raises(EmbryoError) as err:
        memory.check_gpu_memory(one_node, resources_of(one_node))
    text = str(err.value)
    assert "runs.roberta-base-scratch: 256 blocks a micro-step on each of 8 GPUs" in text
    assert "set optimizer.grad_accum to 2" in text and "runs.roberta-large-ki:" in text
    assert "runs.albert-base" not in text and "runs.roberta-medium:" not in text
    # no stated GPU memory: no check
    del one_node["resources"]["pretrain"]["gpu_mem_mb"]
    assert memory.check_gpu_memory(one_node, resources_of(one_node)) == []


def test_a_cpu_run_beyond_the_machine_is_refused_with_its_estimate_and_limit():
    """The issue's case: block 4,096 and batch 32 of a tiny BERT on a 24 GiB CPU machine,
    which the kernel killed a minute into pretraining; by hand the activations alone are
    2 layers x 4096 x 32 x 128 x (34 + 5 x 2 x 4096 / 128) x 2 bytes = 23.8 GB."""
    cfg = ec.validate(
        {
            "tokenizers": {"t": {"corpus": "c", "algorithm": "wordpiece", "vocab_size": 8000}},
            "corpora": {"c": {"source": "builtin"}},
            "runs": {
                "r": {
                    "architecture": "bert",
                    "tokenizer": "t",
                    "block_size": 4096,
                    "checkpoints": [0, 10],
                    "model": {
                        "hidden_size": 128,
                        "num_layers": 2,
                        "num_heads": 2,
                        "intermediate_size": 512,
                    },
                    "optimizer": {"batch_size": 32},
                }
            },
        },
        SCHEMA,
        check_files=False,
    )
    shape = memory.run_shape(cfg, "r")
    parts = memory.segment_bytes(
        shape, micro_batch=32, block_size=4096, predictions=615, mixed=False
    )
    assert parts["activations"] == 2 * 4096 * 32 * 128 * (34 + 5 * 2 * 4096 / 128) * 2
    cpu = {"gpu": 0}
    with pytest.raises(EmbryoError) as err:
        memory.check_cpu_memory(cfg, lambda rule: cpu, lambda rule: None, machine=24 * 2**30)
    text = str(err.value)
    assert "runs.r: 32 blocks of 4096 tokens a micro-step in 1 CPU process(es) need about" in text
    assert "of the 24.0 GiB of this machine's memory; set optimizer.grad_accum to 2" in text
    # the memory a rule's resources state is the limit where given
    with pytest.raises(EmbryoError, match=r"of the 3\.9 GiB of resources\.pretrain\.mem_mb"):
        memory.check_cpu_memory(cfg, lambda rule: cpu, lambda rule: 4000, machine=24 * 2**30)
    # a batch that fits: no error, one row
    cfg["runs"]["r"]["block_size"] = 128
    (row,) = memory.check_cpu_memory(cfg, lambda rule: cpu, lambda rule: None, machine=24 * 2**30)
    assert row.fits and row.device == "CPU"
    # runs on GPUs are the GPU check's
    assert memory.check_cpu_memory(cfg, lambda rule: {"gpu": 1}, lambda rule: None) == []
    assert memory.machine_bytes() > 2**30
