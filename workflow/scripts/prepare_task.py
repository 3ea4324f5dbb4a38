from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.data.tasks import prepare_task
from embryo.runtime.logs import logged

p, w = snakemake.params, snakemake.wildcards
with logged(snakemake.log[0]):
    info = prepare_task(
        p.spec,
        p.root,
        snakemake.input.tokenizer,
        snakemake.output[0],
        name=w.task,
        max_length=p.max_length,
    )
    print(info)
