from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.logs import logged
from embryo.tokenizer import train_tokenizer_from_parquet

spec = dict(snakemake.params.spec)
with logged(snakemake.log[0]):
    stats = train_tokenizer_from_parquet(
        snakemake.input.corpus,
        snakemake.output[0],
        algorithm=spec["algorithm"],
        vocab_size=spec["vocab_size"],
        lowercase=spec["lowercase"],
        min_frequency=spec["min_frequency"],
    )
    print(stats)
