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
        parent=lambda w: segment_parent(w.run, int(w.step)),
        # the manifest's: the code that trained the weights and the code that exported them
        made_by=lambda w: {
            "segment": code(segment_rule(w.run, int(w.step))),
            "export": code("export_checkpoint"),
        },
        code=code("export_checkpoint"),
    script:
        "../workflow/scripts/export_checkpoint.py"


# an imported series is checked as a whole (commits, weight files' SHA-256) before any
# of its steps is imported: two steps with the same weights fail here, naming both
rule check_series:
    input:
        get_series_sources,
    output:
        "results/{run}/series.json",
    log:
        "results/logs/check_series/{run}.log",
    benchmark:
        "results/benchmarks/check_series/{run}.tsv"
    wildcard_constraints:
        run=alternatives(IMPORTED),
    resources:
        **cluster_resources("check_series"),
    params:
        run=lambda w: imported_run(w.run),
        steps=lambda w: ec.checkpoint_steps(RUNS[w.run]),
        data_dir=DATA_DIR,
        code=code("check_series"),
    script:
        "../workflow/scripts/check_series.py"


rule import_checkpoint:
    input:
        series="results/{run}/series.json",
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
        run=lambda w: imported_run(w.run),
        data_dir=DATA_DIR,
        provenance=lambda w: {
            "run": w.run,
            "step": int(w.step),
            "import": RUNS[w.run]["import"],
        },
        code=code("import_checkpoint"),
    script:
        "../workflow/scripts/import_checkpoint.py"


# opt-in (config release.runs): every exported step of a run to branch step{N} of one Hub
# repository, with its model card (embryo.train.release); asked for by name, never by all
rule release_step:
    input:
        unpack(get_release_inputs),
    output:
        "results/{run}/release/step-{step}.json",
    log:
        "results/logs/release_step/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/release_step/{run}/step-{step}.tsv"
    wildcard_constraints:
        run=alternatives(config["release"]["runs"]),
    resources:
        **cluster_resources("release_step"),
    params:
        hub=lambda w: config["release"]["runs"][w.run],
        code=code("release_step"),
    script:
        "../workflow/scripts/release_step.py"


rule release:
    input:
        lambda w: [
            f"results/{w.run}/release/step-{s}.json"
            for s in ec.checkpoint_steps(RUNS[w.run])
        ],
    output:
        "results/{run}/release.json",
    log:
        "results/logs/release/{run}.log",
    benchmark:
        "results/benchmarks/release/{run}.tsv"
    wildcard_constraints:
        run=alternatives(config["release"]["runs"]),
    resources:
        **cluster_resources("release"),
    params:
        code=code("release"),
    script:
        "../workflow/scripts/release.py"
