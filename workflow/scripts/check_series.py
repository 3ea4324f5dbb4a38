from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

from embryo.runtime.logs import logged
from embryo.train.series import series_record, write_series

with logged(snakemake.log[0]):
    record = series_record(
        snakemake.wildcards.run,
        snakemake.params.run,
        snakemake.params.steps,
        snakemake.params.data_dir,
    )
    write_series(snakemake.output[0], record)
