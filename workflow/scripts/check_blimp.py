from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.data.checks import check_blimp
from embryo.runtime.atomic import write_json
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    summary = check_blimp(snakemake.params.root)
    print(summary)
    write_json(snakemake.output[0], summary)
