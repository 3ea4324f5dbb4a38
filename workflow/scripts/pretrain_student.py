from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.runtime.logs import logged
from embryo.train.student import launch_student
from embryo.train.tracking import from_config

with logged(snakemake.log[0]):
    metrics = launch_student(
        snakemake.params.settings,
        processes=snakemake.resources.processes,
        nodes=snakemake.resources.get("nodes", 1),
        blocks_dir=snakemake.input.blocks,
        tokenizer_dir=snakemake.input.tokenizer,
        previous_dir=snakemake.input.previous,
        teacher_dir=snakemake.input.teacher,
        out_dir=snakemake.output[0],
        threads=snakemake.threads,
        # the live curves: from the config, not a param (changing them reruns nothing)
        tracking=from_config(snakemake.config, snakemake.wildcards.run),
    )
    print({k: v for k, v in metrics.items() if not isinstance(v, list)})
