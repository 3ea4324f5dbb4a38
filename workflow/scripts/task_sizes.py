from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import json

from embryo.data.tasks import check_sizes
from embryo.runtime.atomic import atomic_path
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    checked = check_sizes(snakemake.input[0], snakemake.params.asked, snakemake.wildcards.task)
    print(checked)
    with atomic_path(snakemake.output[0]) as tmp:
        tmp.write_text(json.dumps(checked, indent=2) + "\n")
