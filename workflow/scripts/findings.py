from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from pathlib import Path

import pandas as pd

from embryo.results.findings import COLUMNS, ITEMS, check, read_items, to_html
from embryo.results.rows import write_csv
from embryo.runtime.atomic import write_text
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    tables = {Path(p).stem: pd.read_parquet(p) for p in snakemake.input.tables}
    paths = {name: snakemake.input[name] for name in ITEMS if name in snakemake.input.keys()}
    rows = check(tables, read_items(tables, paths), snakemake.params.settings)
    findings = pd.DataFrame(rows, columns=COLUMNS)
    for row in findings.itertuples():
        print(f"{row.verdict:>15}  {row.scope}: {row.finding}\n{'':17}{row.measured}")
    write_csv(findings, snakemake.output.csv)
    write_text(snakemake.output.html, to_html(findings))
