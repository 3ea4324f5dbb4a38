from embryo.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.warm)

from embryo.config import segment_processes
from embryo.logs import logged
from embryo.pretrain import launch

with logged(snakemake.log[0]):
    metrics = launch(
        snakemake.params.settings,
        processes=segment_processes(
            snakemake.config["runs"][snakemake.wildcards.run], snakemake.resources.get("gpu")
        ),
        blocks_dir=snakemake.input.blocks,
        tokenizer_dir=snakemake.input.tokenizer,
        previous_dir=snakemake.input.get("previous"),
        teacher_dir=snakemake.input.get("teacher"),
        source_dir=snakemake.input.get("source"),
        out_dir=snakemake.output[0],
        threads=snakemake.threads,
    )
    print(metrics)
