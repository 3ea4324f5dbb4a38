# a student's segments after step 0 (embryo.train.student) are a rule of their own: only
# their code holds the distillation loss
ruleorder: pretrain_student > pretrain


rule pretrain:
    input:
        unpack(get_segment_inputs),
    output:
        segment_output("results/{run}/train/step-{step}"),
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
        # data-parallel processes (and nodes): the same step however it is split, so no
        # rerun trigger
        processes=lambda w: segment_processes(w.run, "pretrain"),
    params:
        settings=lambda w: settings.segment(config, w.run, int(w.step)),
        code=code("pretrain"),
    script:
        "../workflow/scripts/pretrain.py"


rule pretrain_student:
    input:
        unpack(get_segment_inputs),
    output:
        segment_output("results/{run}/train/step-{step}"),
    log:
        "results/logs/pretrain_student/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/pretrain_student/{run}/step-{step}.tsv"
    wildcard_constraints:
        run=alternatives(STUDENTS),
        step=r"[1-9]\d*",
    priority: 10
    threads: config["threads"] or workflow.cores
    resources:
        **cluster_resources("pretrain_student"),
        processes=lambda w: segment_processes(w.run, "pretrain_student"),
    params:
        settings=lambda w: settings.segment(config, w.run, int(w.step)),
        code=code("pretrain_student"),
    script:
        "../workflow/scripts/pretrain_student.py"


# an imported series' checkpoints scored as a trained run's segments score theirs: the
# masked-LM loss on the validation blocks of runs.<run>.corpus, in its own tokenizer
rule validation_step:
    input:
        model="results/{run}/models/step-{step}",
        blocks=lambda w: imported_blocks(w.run),
    output:
        "results/{run}/step-{step}/validation.json",
    log:
        "results/logs/validation_step/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/validation_step/{run}/step-{step}.tsv"
    wildcard_constraints:
        run=alternatives(SCORED_IMPORTS),
    resources:
        **cluster_resources("validation_step"),
    params:
        settings=lambda w: imported_validation(w.run),
        code=code("validation_step"),
    script:
        "../workflow/scripts/validation_step.py"


rule validation_curve:
    input:
        get_run_segments,
    output:
        csv="results/{run}/validation.csv",
        per_block="results/{run}/validation.items.parquet",
    log:
        "results/logs/validation_curve/{run}.log",
    benchmark:
        "results/benchmarks/validation_curve/{run}.tsv"
    resources:
        **cluster_resources("validation_curve"),
    params:
        code=code("validation_curve"),
    script:
        "../workflow/scripts/validation_curve.py"


# what one optimizer step's batch held (any step, not only checkpoints): its blocks and
# their source documents (embryo.train.replay); asked for by name, never part of all
rule replay:
    input:
        unpack(get_replay_inputs),
    output:
        "results/{run}/replay/step-{step}.csv",
    log:
        "results/logs/replay/{run}/step-{step}.log",
    benchmark:
        "results/benchmarks/replay/{run}/step-{step}.tsv"
    wildcard_constraints:
        run=alternatives(TRAINED),
    resources:
        **cluster_resources("replay"),
    params:
        batch=lambda w: replay_settings(ec.drawn_by(config, w.run, int(w.step))),
        code=code("replay"),
    script:
        "../workflow/scripts/replay.py"
