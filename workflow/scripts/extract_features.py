from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

import torch

from embryo.features import extract_features
from embryo.logs import logged
from embryo.treebank import read_conllu

p = snakemake.params
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    for split, settings in p.treebank.items():
        sentences = read_conllu(settings["path"], max_sentences=settings["max_sentences"])
        stats = extract_features(
            snakemake.input.model,
            sentences,
            snakemake.output[split],
            batch_size=p.batch_size,
            max_length=p.max_length,
        )
        print(split, stats)
