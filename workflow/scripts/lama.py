from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import torch

from embryo.data.lama import load_lama
from embryo.embryology.lama import lama_items, summarise
from embryo.results.rows import write_outcomes
from embryo.runtime.logs import logged

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    facts = load_lama(p.root, max_facts_per_relation=p.max_facts, types=p.types)
    vocabularies = list(snakemake.input.vocabularies) if p.common else None
    items = lama_items(
        snakemake.input.model,
        facts,
        batch_size=p.batch_size,
        spacing=p.spacing,
        vocabularies=vocabularies,
        rank_over=p.rank_over,
    )
    write_outcomes(items, summarise, snakemake.output, run=w.run, step=int(w.step))
