from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import pandas as pd

from embryo.embryology.exposure import Span, exposure_table
from embryo.results.rows import write_csv
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    spans = [Span(*span) for span in snakemake.params.spans]
    tokenizers = dict(zip(snakemake.input.blocks, snakemake.input.tokenizers, strict=True))
    items = {
        step: pd.read_parquet(path)
        for step, path in zip(snakemake.params.steps, snakemake.input.lama, strict=True)
    }
    table = exposure_table(spans, tokenizers, items)
    write_csv(table.assign(run=snakemake.wildcards.run), snakemake.output[0])
