from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

import pandas as pd

from embryo.logs import logged
from embryo.tables import write_csv, write_table
from embryo.transfer import scramble_correlations, summarize

out = snakemake.output
with logged(snakemake.log[0]):
    summary = summarize(pd.read_parquet(snakemake.input[0]))
    write_table(summary, out.summary, out.parquet)
    write_csv(scramble_correlations(summary), out.scrambling)
