"""Padded batches of prepared examples for a model, and the autocast context they run in.

Shared by fine-tuning (:mod:`embryo.transfer.finetune`), extractive question answering
(:mod:`embryo.transfer.qa`) and task probing (:mod:`embryo.transfer.task_probe`).
"""

from __future__ import annotations


def autocast(device, dtype):
    """An autocast context for ``dtype`` on ``device``; a no-op for None."""
    import contextlib

    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(str(device).split(":")[0], dtype=dtype)


def batch_tensors(rows: dict, index, pad_id: int, device, model, *, labels: bool = True):
    """Padded tensors (input_ids, token_type_ids where ``model`` takes them,
    attention_mask) and labels of ``index`` (None without ``labels``), on ``device``."""
    import torch

    from embryo.models.loading import encoder_inputs

    ids = [rows["input_ids"][i] for i in index]
    width = max(map(len, ids))
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(ids), width), dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for r, i in enumerate(index):
        k = len(ids[r])
        input_ids[r, :k] = torch.tensor(ids[r])
        types[r, :k] = torch.tensor(rows["token_type_ids"][i])
        mask[r, :k] = 1
    gold = torch.tensor([rows["label"][i] for i in index], device=device) if labels else None
    inputs = {"input_ids": input_ids, "token_type_ids": types, "attention_mask": mask}
    return encoder_inputs(model, **{k: v.to(device) for k, v in inputs.items()}), gold
