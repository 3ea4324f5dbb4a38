from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.runtime.logs import logged
from embryo.train.validation import validation_table

with logged(snakemake.log[0]):
    validation_table(
        snakemake.input,
        snakemake.output.csv,
        run=snakemake.wildcards.run,
        items=snakemake.output.per_block,
    )
