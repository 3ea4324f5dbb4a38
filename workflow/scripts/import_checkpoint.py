from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.runtime.logs import logged
from embryo.train.checkpoints import import_checkpoint

with logged(snakemake.log[0]):
    import_checkpoint(
        snakemake.wildcards.run,
        snakemake.params.run,
        int(snakemake.wildcards.step),
        snakemake.params.data_dir,
        snakemake.output[0],
        provenance=snakemake.params.provenance,
        series=snakemake.input.series,
        code={"import": snakemake.params.code},
    )
