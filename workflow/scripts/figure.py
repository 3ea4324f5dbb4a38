import pandas as pd

from embryo.figures import draw
from embryo.logs import logged

with logged(snakemake.log[0]):
    draw(snakemake.wildcards.figure, pd.read_parquet(snakemake.input.table), snakemake.output[0])
