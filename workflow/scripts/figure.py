from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from pathlib import Path

import pandas as pd

from embryo.figures import draw
from embryo.logs import logged

with logged(snakemake.log[0]):
    tables = {Path(p).stem: pd.read_parquet(p) for p in snakemake.input.tables}
    draw(snakemake.wildcards.figure, tables, snakemake.output[0])
