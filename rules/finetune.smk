rule prepare_task:
    input:
        data=get_task_files,
        tokenizer=get_vocab_dir,
    output:
        directory("results/tasks/{task}/{vocab}"),
    log:
        "results/logs/prepare_task/{task}/{vocab}.log",
    benchmark:
        "results/benchmarks/prepare_task/{task}/{vocab}.tsv"
    resources:
        **cluster_resources("prepare_task"),
    params:
        spec=lambda w: config["tasks"][w.task],
        root=lambda w: source_root(config["tasks"][w.task]),
        max_length=config["finetuning"]["max_length"],
        code=code("prepare_task"),
    script:
        "../workflow/scripts/prepare_task.py"


rule task_sizes:
    input:
        "results/tasks/{task}/{vocab}",
    output:
        "results/task_sizes/{task}/{vocab}/n-{n}.json",
    log:
        "results/logs/task_sizes/{task}/{vocab}/n-{n}.log",
    benchmark:
        "results/benchmarks/task_sizes/{task}/{vocab}/n-{n}.tsv"
    wildcard_constraints:
        n=r"\d+",
    resources:
        **cluster_resources("task_sizes"),
    params:
        code=code("task_sizes"),
    script:
        "../workflow/scripts/task_sizes.py"


rule finetune:
    input:
        unpack(get_finetune_inputs),
        model="results/{run}/models/step-{step}",
    output:
        metrics="results/{run}/step-{step}/finetune/{task}/n-{n}/{reinit}/seed-{seed}/metrics.json",
        predictions="results/{run}/step-{step}/finetune/{task}/n-{n}/{reinit}/seed-{seed}/predictions.parquet",
    log:
        "results/logs/finetune/{run}/step-{step}/{task}/n-{n}/{reinit}/seed-{seed}.log",
    benchmark:
        "results/benchmarks/finetune/{run}/step-{step}/{task}/n-{n}/{reinit}/seed-{seed}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("finetune"),
    params:
        hparams=settings.finetuning(config),
        # the recipe matters only when layers are redrawn: none jobs ignore it
        recipe=lambda w: settings.reinit_recipe(config, w.reinit),
        code=code("finetune"),
    script:
        "../workflow/scripts/finetune.py"


rule task_probe:
    input:
        model="results/{run}/models/step-{step}",
        task=lambda w: f"results/tasks/{w.task}/{task_vocab(w.run)}",
    output:
        directory("results/{run}/step-{step}/task_probe/{task}"),
    log:
        "results/logs/task_probe/{run}/step-{step}/{task}.log",
    benchmark:
        "results/benchmarks/task_probe/{run}/step-{step}/{task}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("task_probe"),
    params:
        settings=settings.task_probing(config),
        code=code("task_probe"),
    script:
        "../workflow/scripts/task_probe.py"


rule transfer_summary:
    input:
        "results/tables/transferability.parquet",
    output:
        csv=report(
            "results/tables/transfer_summary.csv",
            caption="../report/caption.rst",
            category=registry.section("transfer_summary"),
            subcategory="Tables",
        ),
        parquet="results/tables/transfer_summary.parquet",
    log:
        "results/logs/transfer_summary.log",
    benchmark:
        "results/benchmarks/transfer_summary.tsv"
    resources:
        **cluster_resources("transfer_summary"),
    params:
        caption=caption("transfer_summary"),
        code=code("transfer_summary"),
    script:
        "../workflow/scripts/transfer_summary.py"


rule scrambling:
    input:
        "results/tables/transfer_summary.parquet",
    output:
        csv=report(
            "results/tables/scrambling.csv",
            caption="../report/caption.rst",
            category=registry.section("scrambling"),
            subcategory="Tables",
        ),
        parquet="results/tables/scrambling.parquet",
    log:
        "results/logs/scrambling.log",
    benchmark:
        "results/benchmarks/scrambling.tsv"
    resources:
        **cluster_resources("scrambling"),
    params:
        caption=caption("scrambling"),
        code=code("scrambling"),
    script:
        "../workflow/scripts/scrambling.py"
