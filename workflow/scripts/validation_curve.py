from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.checkpoints import validation_table
from embryo.logs import logged

with logged(snakemake.log[0]):
    validation_table(snakemake.input, snakemake.output[0], run=snakemake.wildcards.run)
