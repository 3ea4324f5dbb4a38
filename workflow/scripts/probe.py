from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import json

import torch

from embryo.data.treebank import read_conllu
from embryo.embryology.features import load_features
from embryo.embryology.probing import probe_layers, summarise
from embryo.results.rows import with_keys
from embryo.runtime.atomic import atomic_path
from embryo.runtime.logs import logged

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    train = read_conllu(p.train.path, max_sentences=p.train.max_sentences)
    test = read_conllu(p.test.path, max_sentences=p.test.max_sentences)
    items, meta = probe_layers(
        load_features(snakemake.input.train),
        train,
        load_features(snakemake.input.test),
        test,
        w.probe,
        settings=p.settings,
    )
    # per layer, its summary computed from the per-item predictions beside it
    with atomic_path(snakemake.output[0], directory=True) as tmp:
        with_keys(items, run=w.run, step=int(w.step), task=w.probe).to_parquet(
            tmp / "items.parquet", index=False
        )
        for row in summarise(items, meta):
            row = {"run": w.run, "step": int(w.step), **row}
            (tmp / f"layer-{row['layer']}.json").write_text(json.dumps(row, indent=2) + "\n")
