from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.data.corpus import prepare_corpus
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    stats = prepare_corpus(
        snakemake.params.spec,
        snakemake.params.data_dir,
        snakemake.output.train,
        snakemake.output.validation,
        part_dirs=snakemake.params.part_dirs,
    )
    print(stats)
