from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

import torch

from embryo.logs import logged
from embryo.task_probe import task_probe

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    task_probe(
        snakemake.input.model,
        snakemake.input.task,
        snakemake.output[0],
        pooling=p.settings["pooling"],
        train_size=p.settings["train_size"],
        regularization=p.settings["regularization"],
        batch_size=p.batch_size,
        provenance={"run": w.run, "step": int(w.step)},
    )
