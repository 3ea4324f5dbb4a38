from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import torch

from embryo.data.treebank import read_conllu
from embryo.embryology.mlm_pos import mlm_by_pos
from embryo.results.rows import with_keys, write_csv
from embryo.runtime.logs import logged

treebank = snakemake.params.treebank
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    sentences = read_conllu(treebank.path, max_sentences=treebank.max_sentences)
    table = mlm_by_pos(
        snakemake.input.model,
        sentences,
        batch_size=snakemake.params.batch_size,
        max_length=snakemake.params.max_length,
    )
    w = snakemake.wildcards
    write_csv(with_keys(table, run=w.run, step=int(w.step)), snakemake.output[0])
