rule extract_features:
    input:
        model="results/{run}/models/step-{step}",
        treebank=treebank_input("train") + treebank_input("test"),
    output:
        train="results/{run}/step-{step}/features/train.safetensors",
        test="results/{run}/step-{step}/features/test.safetensors",
    log:
        "results/logs/extract_features/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/extract_features/{run}/step-{step}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("extract_features"),
    params:
        treebank={split: treebank_settings(split) for split in ("train", "test")},
        max_length=config["analyses"]["max_length"],
        batch_size=config["analyses"]["batch_size"],
        code=fingerprint("embryo.features"),
    script:
        "../workflow/scripts/extract_features.py"


rule probe:
    input:
        train="results/{run}/step-{step}/features/train.safetensors",
        test="results/{run}/step-{step}/features/test.safetensors",
        treebank=treebank_input("train") + treebank_input("test"),
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
        seed=config["analyses"]["probing"]["seed"],
        code=fingerprint("embryo.probing"),
    script:
        "../workflow/scripts/probe.py"


rule mlm_pos:
    input:
        model="results/{run}/models/step-{step}",
        treebank=treebank_input("test"),
    output:
        "results/{run}/step-{step}/mlm_pos.csv",
    log:
        "results/logs/mlm_pos/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/mlm_pos/{run}/step-{step}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("mlm_pos"),
    params:
        treebank=treebank_settings("test"),
        max_length=config["analyses"]["max_length"],
        batch_size=config["analyses"]["batch_size"],
        code=fingerprint("embryo.mlm_pos"),
    script:
        "../workflow/scripts/mlm_pos.py"


rule lama:
    input:
        model="results/{run}/models/step-{step}",
        facts=analysis_input("lama"),
    output:
        "results/{run}/step-{step}/lama.csv",
    log:
        "results/logs/lama/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/lama/{run}/step-{step}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("lama"),
    params:
        root=analysis_root("lama"),
        max_facts=config["analyses"]["lama"]["max_facts_per_relation"],
        batch_size=config["analyses"]["batch_size"],
        code=fingerprint("embryo.lama"),
    script:
        "../workflow/scripts/lama.py"


rule blimp:
    input:
        model="results/{run}/models/step-{step}",
        pairs=analysis_input("blimp"),
    output:
        "results/{run}/step-{step}/blimp.csv",
    log:
        "results/logs/blimp/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/blimp/{run}/step-{step}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("blimp"),
    params:
        root=analysis_root("blimp"),
        max_pairs=config["analyses"]["blimp"]["max_pairs"],
        batch_size=config["analyses"]["batch_size"],
        code=fingerprint("embryo.blimp"),
    script:
        "../workflow/scripts/blimp.py"


rule table:
    input:
        analysis_outputs,
    output:
        csv=report(
            "results/tables/{analysis}.csv",
            caption="../report/table.rst",
            category=lambda w: section(w.analysis),
            subcategory="Tables",
        ),
        parquet="results/tables/{analysis}.parquet",
    log:
        "results/logs/table/{analysis}.log",
    benchmark:
        "results/benchmarks/table/{analysis}.tsv"
    wildcard_constraints:
        analysis="mlm_pos|probe|lama|blimp|downstream|validation|transferability|task_probe",
    resources:
        **cluster_resources("table"),
    params:
        repeats=scheme_repeats,
        code=fingerprint("embryo.tables", "embryo.transfer"),
    script:
        "../workflow/scripts/table.py"
