from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from pathlib import Path

from embryo.results.provenance import record
from embryo.runtime.atomic import write_json
from embryo.runtime.logs import logged

p = snakemake.params
with logged(snakemake.log[0]):
    content = record(
        snakemake.input.tables,
        code=p.tables_code,
        packages=p.packages,
        environment=p.environment,
        overview=p.overview,
        runs=p.runs,
        config=p.config,
        root=Path(snakemake.scriptdir).parents[1],  # the workflow's checkout
    )
    write_json(snakemake.output[0], content)
