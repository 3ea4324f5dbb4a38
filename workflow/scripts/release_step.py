from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.runtime.logs import logged
from embryo.train.release import release_step

with logged(snakemake.log[0]):
    release_step(
        snakemake.input.model,
        snakemake.output[0],
        hub_id=snakemake.params.hub["hub_id"],
        private=snakemake.params.hub["private"],
        analyses={k: snakemake.input[k] for k in ("lama", "blimp") if k in snakemake.input.keys()},
    )
