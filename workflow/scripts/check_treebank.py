from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.data.checks import check_treebank
from embryo.runtime.atomic import write_json
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    summary = check_treebank(snakemake.params.splits)
    print(summary)
    write_json(snakemake.output[0], summary)
