from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import torch

from embryo.data.treebank import read_conllu
from embryo.embryology.features import extract_features
from embryo.runtime.logs import logged

p = snakemake.params
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    for split, treebank in p.treebank.items():
        sentences = read_conllu(treebank.path, max_sentences=treebank.max_sentences)
        stats = extract_features(
            snakemake.input.model,
            sentences,
            snakemake.output[split],
            batch_size=p.batch_size,
            max_length=p.max_length,
        )
        print(split, stats)
