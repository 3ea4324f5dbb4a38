from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import json

from embryo.data.tasks import check_size
from embryo.runtime.atomic import atomic_path
from embryo.runtime.logs import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    # the size is the job's wildcard, not a param: adding a config key that asks for a
    # checked size reruns nothing
    checked = check_size(snakemake.input[0], int(w.n), w.task)
    print(checked)
    with atomic_path(snakemake.output[0]) as tmp:
        tmp.write_text(json.dumps(checked, indent=2) + "\n")
