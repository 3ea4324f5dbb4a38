from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import torch

from embryo.runtime.logs import logged
from embryo.transfer.task_probe import task_probe

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    task_probe(
        snakemake.input.model,
        snakemake.input.task,
        snakemake.output[0],
        settings=p.settings,
        provenance={"run": w.run, "step": int(w.step)},
    )
