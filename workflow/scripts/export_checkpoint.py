from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.checkpoints import export_checkpoint
from embryo.logs import logged

with logged(snakemake.log[0]):
    export_checkpoint(
        snakemake.input.segment,
        snakemake.input.tokenizer,
        snakemake.output[0],
        provenance=snakemake.params.provenance,
    )
