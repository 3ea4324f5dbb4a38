rule pretrain:
    input:
        unpack(segment_inputs),
    output:
        directory("results/{run}/train/step-{step}"),
    log:
        "results/logs/pretrain/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/pretrain/{run}/step-{step}.tsv"
    # a segment goes before analyses: the chains of segments (and a student's wait for
    # its teacher's last one) are the workflow's critical path
    priority: 10
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("pretrain"),
    params:
        settings=lambda w: ec.segment_settings(config, w.run, int(w.step)),
        code=fingerprint("embryo.pretrain"),
    script:
        "../workflow/scripts/pretrain.py"


rule validation_curve:
    input:
        run_segments,
    output:
        "results/{run}/validation.csv",
    log:
        "results/logs/validation_curve/{run}.log",
    benchmark:
        "results/benchmarks/validation_curve/{run}.tsv"
    resources:
        **cluster_resources("validation_curve"),
    params:
        code=fingerprint("embryo.checkpoints"),
    script:
        "../workflow/scripts/validation_curve.py"


rule inheritance_table:
    input:
        lambda w: [f"results/{run}/validation.csv" for run in ki_runs()],
    output:
        csv=report(
            "results/tables/inheritance.csv",
            caption="../report/inheritance.rst",
            category=section("inheritance"),
            subcategory="Tables",
        ),
        parquet="results/tables/inheritance.parquet",
    log:
        "results/logs/table/inheritance.log",
    benchmark:
        "results/benchmarks/table/inheritance.tsv"
    resources:
        **cluster_resources("inheritance_table"),
    params:
        pairs=ki_pairs(),
        code=fingerprint("embryo.inheritance", "embryo.tables"),
    script:
        "../workflow/scripts/inheritance_table.py"
