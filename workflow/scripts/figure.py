from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import pandas as pd

from embryo.plots.base import draw
from embryo.runtime.logs import logged

p = snakemake.params
with logged(snakemake.log[0]):
    tables = [pd.read_parquet(path) for path in snakemake.input.tables]
    draw(p.draw, tables, snakemake.output[0], p.options)  # embryo.registry: the figure
