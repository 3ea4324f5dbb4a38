from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.logs import logged
from embryo.pretrain import run_segment

with logged(snakemake.log[0]):
    metrics = run_segment(
        snakemake.params.settings,
        blocks_dir=snakemake.input.blocks,
        tokenizer_dir=snakemake.input.tokenizer,
        previous_dir=snakemake.input.get("previous"),
        teacher_dir=snakemake.input.get("teacher"),
        source_dir=snakemake.input.get("source"),
        out_dir=snakemake.output[0],
        threads=snakemake.threads,
    )
    print(metrics)
