from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import torch

from embryo.data.blimp import load_blimp
from embryo.embryology.blimp import blimp_items, summarise
from embryo.results.rows import write_outcomes
from embryo.runtime.logs import logged

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    pairs = load_blimp(p.root, max_pairs=p.max_pairs)
    items = blimp_items(snakemake.input.model, pairs, batch_size=p.batch_size, method=p.method)
    write_outcomes(items, summarise, snakemake.output, run=w.run, step=int(w.step))
