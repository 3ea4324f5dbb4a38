from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.inheritance import comparison
from embryo.logs import logged
from embryo.tables import collect, write_table

with logged(snakemake.log[0]):
    table = comparison(snakemake.params.pairs, collect(snakemake.input))
    write_table(table, snakemake.output.csv, snakemake.output.parquet)
