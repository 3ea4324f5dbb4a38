from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.logs import logged
from embryo.tables import collect, write_table

with logged(snakemake.log[0]):
    write_table(collect(snakemake.input), snakemake.output.csv, snakemake.output.parquet)
