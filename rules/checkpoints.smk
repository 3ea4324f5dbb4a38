rule export_checkpoint:
    input:
        segment="results/{run}/train/step-{step}",
        tokenizer=lambda w: f"results/tokenizers/{RUNS[w.run]['tokenizer']}",
    output:
        directory("results/{run}/models/step-{step}"),
    log:
        "results/logs/export_checkpoint/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/export_checkpoint/{run}/step-{step}.tsv"
    wildcard_constraints:
        run=alternatives(TRAINED),
    priority: 10
    resources:
        **cluster_resources("export_checkpoint"),
    params:
        provenance=lambda w: {
            "run": w.run,
            **ec.as_dict(settings.segment(config, w.run, int(w.step))),
        },
        code=code("export_checkpoint"),
    script:
        "../workflow/scripts/export_checkpoint.py"


rule import_checkpoint:
    output:
        directory("results/{run}/models/step-{step}"),
    log:
        "results/logs/import_checkpoint/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/import_checkpoint/{run}/step-{step}.tsv"
    wildcard_constraints:
        run=alternatives(IMPORTED),
    resources:
        **cluster_resources("import_checkpoint"),
    params:
        source=lambda w: RUNS[w.run]["import"],
        data_dir=DATA_DIR,
        provenance=lambda w: {
            "run": w.run,
            "step": int(w.step),
            "import": RUNS[w.run]["import"],
        },
        code=code("import_checkpoint"),
    script:
        "../workflow/scripts/import_checkpoint.py"
