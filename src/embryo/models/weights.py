"""Weight norms and distances from initialisation, per layer, at every checkpoint.

A cheap check of a checkpoint series, and a view of where a model changes as it trains:
for each part of the model (the embeddings, each encoder layer, the masked-LM head, and
the whole model), the L2 norm of its parameters, ‖θ_t‖, and their L2 distance from the
run's first checkpoint (step 0, the initialisation, for a trained run), ‖θ_t − θ_0‖, with
the relative distance ‖θ_t − θ_0‖ / ‖θ_0‖. Over a healthy series the distances grow with
the step, fast first and slower later (the lazy-regime picture of Chizat et al. 2019 and
the per-layer distances of Neyshabur et al. 2020, "What is being transferred in transfer
learning?", §3, for fine-tuning); a step that is another step's weights shows as a flat
stretch, a step from another run as a jump.

Each parameter is counted once (tied input and output embeddings belong to the
embeddings); an ALBERT's shared layer is one part, ``layer 1``, for all its depths.
"""

from __future__ import annotations

import re

# a parameter's layer: BERT and RoBERTa count layers, ALBERT its groups of shared layers
_LAYER = re.compile(r"\.(?:layer|albert_layer_groups)\.(\d+)\.")


def part_of(name: str) -> tuple[int, str]:
    """The part a parameter belongs to, as (its position from the input, its name)."""
    if (match := _LAYER.search(name)) is not None:
        depth = int(match.group(1)) + 1
        return depth, f"layer {depth}"
    if "embeddings." in name or "embedding_hidden_mapping_in" in name:
        return 0, "embeddings"
    return 10_000, "head"


def weight_rows(model, reference) -> list[dict]:
    """Per part of ``model`` (and ``model`` for the whole): parameters, ‖θ‖, ‖θ_ref‖,
    ‖θ − θ_ref‖ and the relative distance, in float64, parts from the input up."""
    import torch

    ref = dict(reference.named_parameters())
    sums: dict[tuple[int, str], list] = {}
    for name, param in model.named_parameters():
        if name not in ref or ref[name].shape != param.shape:
            raise ValueError(f"{name}: not a parameter of the reference of the same shape")
        a, b = param.detach().double(), ref[name].detach().double()
        for key in (part_of(name), (20_000, "model")):
            acc = sums.setdefault(key, [0, 0.0, 0.0, 0.0])
            acc[0] += a.numel()
            acc[1] += torch.sum(a * a).item()
            acc[2] += torch.sum(b * b).item()
            acc[3] += torch.sum((a - b) ** 2).item()
    rows = []
    for (_, part), (n, norm2, ref2, dist2) in sorted(sums.items()):
        norm, ref_norm, distance = norm2**0.5, ref2**0.5, dist2**0.5
        rows.append({
            "part": part, "parameters": n, "norm": norm, "reference_norm": ref_norm, "distance": distance,
            "relative_distance": distance / ref_norm if ref_norm else float("nan"),
        })  # fmt: skip
    return rows


def weight_table(model_dir, reference_dir, *, run: str, step: int, reference_step: int):
    """:func:`weight_rows` of one checkpoint against its run's first, as a table with the
    run, step and reference step."""
    import pandas as pd
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(model_dir)
    reference = AutoModelForMaskedLM.from_pretrained(reference_dir)
    table = pd.DataFrame(weight_rows(model, reference))
    table.insert(0, "reference_step", reference_step)
    table.insert(0, "step", step)
    table.insert(0, "run", run)
    return table
