from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.models.weights import weight_table
from embryo.results.rows import write_csv
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    table = weight_table(
        snakemake.input.model,
        snakemake.input.reference,
        run=snakemake.wildcards.run,
        step=int(snakemake.wildcards.step),
        reference_step=snakemake.params.reference_step,
    )
    write_csv(table, snakemake.output[0])
