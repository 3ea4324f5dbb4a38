from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.inheritance.comparison import comparison
from embryo.results.tables import collect, write_table
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    table = comparison(snakemake.params.pairs, collect(snakemake.input))
    write_table(table, snakemake.output.csv, snakemake.output.parquet)
