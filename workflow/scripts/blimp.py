from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

import torch

from embryo.blimp import blimp_scores, load_blimp
from embryo.logs import logged
from embryo.tables import with_keys, write_csv

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    pairs = load_blimp(p.root, max_pairs=p.max_pairs)
    table = blimp_scores(snakemake.input.model, pairs, batch_size=p.batch_size)
    write_csv(with_keys(table, run=w.run, step=int(w.step)), snakemake.output[0])
