from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import torch

from embryo.runtime.logs import logged
from embryo.transfer.finetune import finetune

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    finetune(
        snakemake.input.model,
        snakemake.input.task,
        snakemake.output.metrics,
        n=None if w.n == "full" else int(w.n),
        seed=int(w.seed),
        hparams=p.hparams,
        reinit=w.reinit,
        recipe=p.recipe,
        predictions_path=snakemake.output.predictions,
        provenance={"run": w.run, "step": int(w.step), "n": w.n, "reinit": w.reinit},
    )
