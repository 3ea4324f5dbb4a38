from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from pathlib import Path

import pandas as pd

from embryo.atomic import write_text
from embryo.findings import COLUMNS, check, to_html
from embryo.logs import logged
from embryo.tables import write_csv

with logged(snakemake.log[0]):
    tables = {Path(p).stem: pd.read_parquet(p) for p in snakemake.input.tables}
    findings = pd.DataFrame(check(tables), columns=COLUMNS)
    for row in findings.itertuples():
        print(f"{row.verdict:>15}  {row.scope}: {row.finding}\n{'':17}{row.measured}")
    write_csv(findings, snakemake.output.csv)
    write_text(snakemake.output.html, to_html(findings))
