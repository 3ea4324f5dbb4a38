rule prepare_task:
    input:
        data=task_input,
        tokenizer=vocab_source,
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
        code=fingerprint("embryo.tasks"),
    script:
        "../workflow/scripts/prepare_task.py"


rule finetune:
    input:
        model="results/{run}/models/step-{step}",
        task=lambda w: f"results/tasks/{w.task}/{task_vocab(w.run)}",
    output:
        "results/{run}/step-{step}/finetune/{task}/n-{n}/{reinit}/seed-{seed}/metrics.json",
    log:
        "results/logs/finetune/{run}/step-{step}/{task}/n-{n}/{reinit}/seed-{seed}.log",
    benchmark:
        "results/benchmarks/finetune/{run}/step-{step}/{task}/n-{n}/{reinit}/seed-{seed}.tsv"
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("finetune"),
    params:
        n=lambda w: None if w.n == "full" else int(w.n),
        hparams=config["finetuning"],
        # the recipe matters only when layers are redrawn: none jobs ignore it
        init=lambda w: (
            "model" if w.reinit == "none" else config["transferability"]["init"]
        ),
        code=fingerprint("embryo.finetune"),
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
        settings=TRANSFER["probing"],
        batch_size=config["finetuning"]["eval_batch_size"],
        code=fingerprint("embryo.task_probe"),
    script:
        "../workflow/scripts/task_probe.py"


rule transfer_summary:
    input:
        "results/tables/transferability.parquet",
    output:
        summary=report(
            "results/tables/transfer_summary.csv",
            caption="../report/transfer_summary.rst",
            category=section("transfer_summary"),
            subcategory="Tables",
        ),
        parquet="results/tables/transfer_summary.parquet",
        scrambling=report(
            "results/tables/scrambling.csv",
            caption="../report/scrambling.rst",
            category=section("scrambling"),
            subcategory="Tables",
        ),
    log:
        "results/logs/table/transfer_summary.log",
    resources:
        **cluster_resources("transfer_summary"),
    params:
        code=fingerprint("embryo.transfer"),
    script:
        "../workflow/scripts/transfer_summary.py"
