# The Embryology analyses of every analysed checkpoint (embryo.embryology); each writes
# one per-checkpoint summary that the table rule gathers (embryo.registry: per_checkpoint)
# and, beside it, the per-item outcomes it was computed from (registry: items).


# every checkpoint of every run (not only analyses.steps): a cheap check of the series
rule weights:
    input:
        model="results/{run}/models/step-{step}",
        reference=lambda w: model_dir(w.run, ec.checkpoint_steps(RUNS[w.run])[0]),
    output:
        "results/{run}/step-{step}/weights.csv",
    log:
        "results/logs/weights/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/weights/{run}/step-{step}.tsv"
    resources:
        **cluster_resources("weights"),
    params:
        reference_step=lambda w: ec.checkpoint_steps(RUNS[w.run])[0],
        code=code("weights"),
    script:
        "../workflow/scripts/weights.py"


# per trained run: how often each LAMA fact's subject and object were seen together up to
# each analysed checkpoint, beside whether that checkpoint got it (embryo.embryology.exposure)
rule lama_exposure:
    input:
        unpack(get_exposure_inputs),
    output:
        "results/{run}/lama_exposure.csv",
    log:
        "results/logs/lama_exposure/{run}.log",
    benchmark:
        "results/benchmarks/lama_exposure/{run}.tsv"
    wildcard_constraints:
        run=alternatives(TRAINED),
    resources:
        **cluster_resources("lama_exposure"),
    params:
        spans=lambda w: data_spans(w.run),
        steps=lambda w: analysed_steps(w.run),
        code=code("lama_exposure"),
    script:
        "../workflow/scripts/lama_exposure.py"


rule extract_features:
    input:
        model="results/{run}/models/step-{step}",
        treebank=treebank_files("train", "test"),
    output:
        train=features("results/{run}/step-{step}/features/train.safetensors"),
        test=features("results/{run}/step-{step}/features/test.safetensors"),
    log:
        "results/logs/extract_features/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/extract_features/{run}/step-{step}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("extract_features"),
    params:
        treebank={split: treebank_settings(split) for split in ("train", "test")},
        max_length=ANALYSES["max_length"],
        batch_size=ANALYSES["batch_size"],
        code=code("extract_features"),
    script:
        "../workflow/scripts/extract_features.py"


rule probe:
    input:
        train="results/{run}/step-{step}/features/train.safetensors",
        test="results/{run}/step-{step}/features/test.safetensors",
        treebank=treebank_files("train", "test"),
    output:
        directory("results/{run}/step-{step}/probe/{probe}"),
    log:
        "results/logs/probe/{run}/step-{step}/{probe}.log",
    benchmark:
        "results/benchmarks/probe/{run}/step-{step}/{probe}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("probe"),
    params:
        train=treebank_settings("train"),
        test=treebank_settings("test"),
        settings=settings.probing(config),
        code=code("probe"),
    script:
        "../workflow/scripts/probe.py"


rule edge_probe:
    input:
        model="results/{run}/models/step-{step}",
        data=get_edge_files,
    output:
        directory("results/{run}/step-{step}/edge_probe/{edge}"),
    log:
        "results/logs/edge_probe/{run}/step-{step}/{edge}.log",
    benchmark:
        "results/benchmarks/edge_probe/{run}/step-{step}/{edge}.tsv"
    wildcard_constraints:
        edge=alternatives(ANALYSES["edge_probing"]["tasks"]),
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("edge_probe"),
    params:
        files=lambda w: edge_paths(w.edge),
        max_records=ANALYSES["edge_probing"]["max_records"],
        settings=settings.probing(config),
        max_length=ANALYSES["max_length"],
        batch_size=ANALYSES["edge_probing"]["batch_size"],
        code=code("edge_probe"),
    script:
        "../workflow/scripts/edge_probe.py"


rule mlm_pos:
    input:
        model="results/{run}/models/step-{step}",
        treebank=treebank_files("test"),
    output:
        summary="results/{run}/step-{step}/mlm_pos.csv",
        per_item="results/{run}/step-{step}/mlm_pos.items.parquet",
    log:
        "results/logs/mlm_pos/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/mlm_pos/{run}/step-{step}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("mlm_pos"),
    params:
        treebank=treebank_settings("test"),
        max_length=ANALYSES["max_length"],
        batch_size=ANALYSES["batch_size"],
        code=code("mlm_pos"),
    script:
        "../workflow/scripts/mlm_pos.py"


rule lama:
    input:
        model="results/{run}/models/step-{step}",
        facts=analysis_files("lama"),
        vocabularies=get_lama_vocabularies,
    output:
        summary="results/{run}/step-{step}/lama.csv",
        per_item="results/{run}/step-{step}/lama.items.parquet",
    log:
        "results/logs/lama/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/lama/{run}/step-{step}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("lama"),
    params:
        root=analysis_root("lama"),
        max_facts=ANALYSES["lama"]["max_facts_per_relation"],
        types=ANALYSES["lama"]["types"],
        spacing=ANALYSES["lama"]["spacing"],
        rank_over=ANALYSES["lama"]["rank_over"],
        common=ANALYSES["lama"]["common_vocabulary"],
        batch_size=ANALYSES["batch_size"],
        code=code("lama"),
    script:
        "../workflow/scripts/lama.py"


rule blimp:
    input:
        model="results/{run}/models/step-{step}",
        pairs=analysis_files("blimp"),
    output:
        summary="results/{run}/step-{step}/blimp.csv",
        per_item="results/{run}/step-{step}/blimp.items.parquet",
    log:
        "results/logs/blimp/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/blimp/{run}/step-{step}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("blimp"),
    params:
        root=analysis_root("blimp"),
        max_pairs=ANALYSES["blimp"]["max_pairs"],
        method=ANALYSES["blimp"]["pll"],
        batch_size=ANALYSES["batch_size"],
        code=code("blimp"),
    script:
        "../workflow/scripts/blimp.py"
