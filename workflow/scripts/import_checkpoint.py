from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.checkpoints import import_checkpoint
from embryo.logs import logged

with logged(snakemake.log[0]):
    import_checkpoint(
        snakemake.params.source,
        int(snakemake.wildcards.step),
        snakemake.params.data_dir,
        snakemake.output[0],
        provenance=snakemake.params.provenance,
    )
