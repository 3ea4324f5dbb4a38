from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

import torch

from embryo.lama import lama_scores, load_lama
from embryo.logs import logged
from embryo.tables import with_keys, write_csv

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    facts = load_lama(p.root, max_facts_per_relation=p.max_facts)
    table = lama_scores(snakemake.input.model, facts, batch_size=p.batch_size)
    write_csv(with_keys(table, run=w.run, step=int(w.step)), snakemake.output[0])
