from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.results.rows import write_csv
from embryo.runtime.logs import logged
from embryo.train.replay import replay

with logged(snakemake.log[0]):
    table = replay(
        snakemake.input.blocks,
        snakemake.input.corpus,
        snakemake.input.tokenizer,
        step=int(snakemake.wildcards.step),
        **snakemake.params.batch,
    )
    write_csv(table, snakemake.output[0])
