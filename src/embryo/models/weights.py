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
embeddings); an ALBERT's shared layer is one part, ``layer 1``, for all its depths. The
layers and the embeddings are those of the model's family (:mod:`embryo.models.families`:
``encoder.layer`` for BERT, ``layers`` for ModernBERT, ``transformer.layer`` for
DistilBERT, ...); everything else (the masked-LM head, a final norm) is the ``head``.
"""

from __future__ import annotations


def parameter_parts(model) -> dict[str, tuple[int, str]]:
    """The part each parameter belongs to, as {name: (its position from the input, its
    part's name)}: ``embeddings`` (0), ``layer k`` (k, counted from 1: the family's layer
    list, ALBERT's layer groups), or ``head`` (the rest; all but the embeddings for a family
    embryo does not know whose layers it cannot tell apart)."""
    from embryo.models.families import embedding_modules, layer_list

    names = {id(module): name for name, module in model.named_modules()}
    prefixes = [(names[id(m)] + ".", (0, "embeddings")) for m in embedding_modules(model)]
    try:
        layers = list(layer_list(model))
    except ValueError:  # a family embryo does not know, whose layers it cannot tell apart
        layers = []
    prefixes += [(names[id(m)] + ".", (k, f"layer {k}")) for k, m in enumerate(layers, start=1)]
    out = {}
    for name, _ in model.named_parameters():
        out[name] = next((part for p, part in prefixes if name.startswith(p)), (10_000, "head"))
    return out


def weight_rows(model, reference) -> list[dict]:
    """Per part of ``model`` (and ``model`` for the whole): parameters, ‖θ‖, ‖θ_ref‖,
    ‖θ − θ_ref‖ and the relative distance, in float64, parts from the input up."""
    import torch

    ref = dict(reference.named_parameters())
    parts = parameter_parts(model)
    sums: dict[tuple[int, str], list] = {}
    for name, param in model.named_parameters():
        if name not in ref or ref[name].shape != param.shape:
            raise ValueError(f"{name}: not a parameter of the reference of the same shape")
        a, b = param.detach().double(), ref[name].detach().double()
        for key in (parts[name], (20_000, "model")):
            acc = sums.setdefault(key, [0, 0.0, 0.0, 0.0])
            acc[0] += a.numel()
            acc[1] += torch.sum(a * a).item()
            acc[2] += torch.sum(b * b).item()
            acc[3] += torch.sum((a - b) ** 2).item()
    rows = []
    for (_, part), (n, norm2, ref2, dist2) in sorted(sums.items()):
        norm, ref_norm, distance = norm2**0.5, ref2**0.5, dist2**0.5
        rows.append(
            {
                "part": part,
                "parameters": n,
                "norm": norm,
                "reference_norm": ref_norm,
                "distance": distance,
                "relative_distance": distance / ref_norm if ref_norm else float("nan"),
            }
        )
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
