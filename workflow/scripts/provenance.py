from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.atomic import write_json
from embryo.logs import logged
from embryo.provenance import record

p = snakemake.params
with logged(snakemake.log[0]):
    content = record(
        snakemake.input.tables,
        code=p.code,
        packages=p.packages,
        overview=p.overview,
        runs=p.runs,
        config=p.config,
        root=p.root,
    )
    write_json(snakemake.output[0], content)
