import torch

from embryo.features import extract_features
from embryo.logs import logged
from embryo.treebank import read_conllu

treebank = snakemake.params.treebank
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    sentences = read_conllu(treebank["path"], max_sentences=treebank["max_sentences"])
    stats = extract_features(
        snakemake.input.model,
        sentences,
        snakemake.output[0],
        batch_size=snakemake.params.batch_size,
        max_length=snakemake.params.max_length,
    )
    print(stats)
