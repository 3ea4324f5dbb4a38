from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.logs import logged
from embryo.tables import collect, write_table
from embryo.transfer import with_repeats

with logged(snakemake.log[0]):
    table = with_repeats(collect(snakemake.input), snakemake.params.repeats)
    write_table(table, snakemake.output.csv, snakemake.output.parquet)
