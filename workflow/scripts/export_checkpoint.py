from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.runtime.logs import logged
from embryo.train.checkpoints import export_checkpoint

with logged(snakemake.log[0]):
    export_checkpoint(
        snakemake.input.segment,
        snakemake.input.tokenizer,
        snakemake.output[0],
        provenance=snakemake.params.provenance,
        parent=snakemake.params.parent,
        code=snakemake.params.made_by,
    )
