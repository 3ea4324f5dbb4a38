from embryo.runtime.warm import delegate

delegate()  # in the run's preloaded interpreter, when there is one (embryo.runtime.warm)

import json

import torch

from embryo.data.treebank import read_conllu
from embryo.embryology.features import load_features
from embryo.embryology.probing import probe_all_layers
from embryo.runtime.atomic import atomic_path
from embryo.runtime.logs import logged

p, w = snakemake.params, snakemake.wildcards
torch.set_num_threads(snakemake.threads)
with logged(snakemake.log[0]):
    train = read_conllu(p.train.path, max_sentences=p.train.max_sentences)
    test = read_conllu(p.test.path, max_sentences=p.test.max_sentences)
    rows = probe_all_layers(
        load_features(snakemake.input.train),
        train,
        load_features(snakemake.input.test),
        test,
        w.probe,
        settings=p.settings,
    )
    with atomic_path(snakemake.output[0], directory=True) as tmp:
        for row in rows:
            row = {"run": w.run, "step": int(w.step), **row}
            (tmp / f"layer-{row['layer']}.json").write_text(json.dumps(row, indent=2) + "\n")
