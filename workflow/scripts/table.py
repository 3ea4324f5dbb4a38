from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.results.tables import collect, on_grid, with_replicates, with_tokens, write_table
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    table = on_grid(collect(snakemake.input), snakemake.params.grid)
    table = with_replicates(table, snakemake.params.replicates)
    table = with_tokens(table, snakemake.params.tokens)
    write_table(table, snakemake.output.csv, snakemake.output.parquet)
