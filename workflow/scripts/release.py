from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import json

from embryo.runtime.atomic import write_json
from embryo.runtime.logs import logged

with logged(snakemake.log[0]):
    steps = [json.load(open(path)) for path in snakemake.input]
    write_json(snakemake.output[0], {"run": snakemake.wildcards.run, "steps": steps})
