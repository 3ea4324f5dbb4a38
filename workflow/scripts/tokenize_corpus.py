from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.data.blocks import pack_corpus
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    stats = pack_corpus(
        snakemake.input.tokenizer,
        snakemake.input.train,
        snakemake.input.validation,
        snakemake.output[0],
        block_size=snakemake.params.block_size,
        num_proc=snakemake.threads,
    )
    print(stats)
