from embryo.corpus import prepare_corpus
from embryo.logs import logged

with logged(snakemake.log[0]):
    stats = prepare_corpus(
        snakemake.params.spec,
        snakemake.params.data_dir,
        snakemake.output.train,
        snakemake.output.validation,
    )
    print(stats)
