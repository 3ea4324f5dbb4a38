from embryo.checkpoints import export_checkpoint
from embryo.logs import logged

with logged(snakemake.log[0]):
    export_checkpoint(
        snakemake.input.segment,
        snakemake.input.tokenizer,
        snakemake.output[0],
        provenance=snakemake.params.provenance,
    )
