from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import json

import torch

from embryo.data.edges import read_edges
from embryo.embryology.edge_probing import edge_probe
from embryo.embryology.probing import summarise
from embryo.results.rows import with_keys
from embryo.runtime.atomic import atomic_path
from embryo.runtime.logs import logged

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    train = read_edges(p.files["train"], p.max_records["train"])
    test = read_edges(p.files["test"], p.max_records["test"])
    with atomic_path(snakemake.output[0], directory=True) as tmp:
        items, meta = edge_probe(
            snakemake.input.model,
            train,
            test,
            w.edge,
            settings=p.settings,
            max_length=p.max_length,
            batch_size=p.batch_size,
            work_dir=tmp,
        )
        # per layer, its summary computed from the per-item predictions beside it
        with_keys(items, run=w.run, step=int(w.step), task=w.edge).to_parquet(
            tmp / "items.parquet", index=False
        )
        for row in summarise(items, meta):
            row = {"run": w.run, "step": int(w.step), **row}
            (tmp / f"layer-{row['layer']}.json").write_text(json.dumps(row, indent=2) + "\n")
