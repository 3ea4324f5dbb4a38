from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import pandas as pd

from embryo.results.tables import write_table
from embryo.runtime.logs import logged
from embryo.transfer.summary import scramble_correlations

out = snakemake.output
with logged(snakemake.log[0]):
    write_table(scramble_correlations(pd.read_parquet(snakemake.input[0])), out.csv, out.parquet)
