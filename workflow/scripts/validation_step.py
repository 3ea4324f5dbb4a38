from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.runtime.logs import logged
from embryo.train.validation import score_checkpoint

with logged(snakemake.log[0]):
    score_checkpoint(
        snakemake.input.model,
        snakemake.input.blocks,
        snakemake.output[0],
        step=int(snakemake.wildcards.step),
        **snakemake.params.settings,
    )
