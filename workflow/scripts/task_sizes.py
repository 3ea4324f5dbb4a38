from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import json

from embryo.config.runs import size_requests
from embryo.data.tasks import check_size
from embryo.runtime.atomic import atomic_path
from embryo.runtime.logs import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    n = int(w.n)
    # the keys only name the culprits in the message: the size is the job's wildcard, so
    # adding a key that asks for a checked size reruns nothing
    keys = [k for k, sizes in size_requests(snakemake.config, w.task).items() if n in sizes]
    checked = check_size(snakemake.input[0], n, w.task, keys)
    print(checked)
    with atomic_path(snakemake.output[0]) as tmp:
        tmp.write_text(json.dumps(checked, indent=2) + "\n")
