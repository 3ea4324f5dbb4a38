from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import torch

from embryo.data.treebank import read_conllu
from embryo.embryology.mlm_pos import mlm_items, summarise
from embryo.results.rows import write_outcomes
from embryo.runtime.logs import logged

treebank, w = snakemake.params.treebank, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    sentences = read_conllu(treebank.path, max_sentences=treebank.max_sentences)
    items = mlm_items(
        snakemake.input.model,
        sentences,
        batch_size=snakemake.params.batch_size,
        max_length=snakemake.params.max_length,
    )
    write_outcomes(items, summarise, snakemake.output, run=w.run, step=int(w.step))
