from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.data.builtin import generate
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    stats = generate(
        snakemake.output[0], seed=snakemake.params.seed, sizes=dict(snakemake.params.sizes)
    )
    print(stats)
