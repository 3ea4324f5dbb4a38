from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.data.tokenizer import train_tokenizer_from_parquet
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    stats = train_tokenizer_from_parquet(
        snakemake.input.corpus, snakemake.output[0], **snakemake.params.settings._asdict()
    )
    print(stats)
