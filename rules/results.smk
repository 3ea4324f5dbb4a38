from embryo.config.overview import overview
from embryo.results import provenance


# the cheap rules run where Snakemake runs, never as a cluster submission (which would
# cost more than they do)
localrules:
    all,
    table,
    figure,
    findings,
    provenance,
    validation_curve,
    transfer_summary,
    inheritance_table,
    scrambling,
    task_sizes,
    release,


# Tables across runs and steps, the findings and the provenance (embryo.results); each
# table is declared in embryo.registry, with its report section and caption.


rule table:
    input:
        get_table_inputs,
    output:
        csv=report(
            "results/tables/{analysis}.csv",
            caption="../report/table.rst",
            category=lambda w: registry.section(w.analysis),
            subcategory="Tables",
        ),
        parquet="results/tables/{analysis}.parquet",
    log:
        "results/logs/table/{analysis}.log",
    benchmark:
        "results/benchmarks/table/{analysis}.tsv"
    wildcard_constraints:
        analysis=alternatives(gathered_tables()),
    resources:
        **cluster_resources("table"),
    params:
        grid=get_transfer_points,
        replicates=ec.replicates(config),
        tokens=ec.tokens_seen(config),
        caption=lambda w: caption(w.analysis),
        code=code("table"),
    script:
        "../workflow/scripts/table.py"


rule inheritance_table:
    input:
        lambda w: [f"results/{run}/validation.csv" for run in targets.ki_runs(config)],
    output:
        csv=report(
            "results/tables/inheritance.csv",
            caption="../report/caption.rst",
            category=registry.section("inheritance"),
            subcategory="Tables",
        ),
        parquet="results/tables/inheritance.parquet",
    log:
        "results/logs/inheritance_table.log",
    benchmark:
        "results/benchmarks/inheritance_table.tsv"
    resources:
        **cluster_resources("inheritance_table"),
    params:
        pairs=targets.ki_pairs(config),
        caption=caption("inheritance"),
        code=code("inheritance_table"),
    script:
        "../workflow/scripts/inheritance_table.py"


rule findings:
    input:
        unpack(get_findings_inputs),
    output:
        csv=report(
            "results/tables/findings.csv",
            caption="../report/caption.rst",
            category=registry.section("findings"),
            subcategory="Tables",
        ),
        html=report(
            "results/tables/findings.html",
            caption="../report/caption.rst",
            category=registry.section("findings"),
            subcategory="Tables",
        ),
    log:
        "results/logs/findings.log",
    benchmark:
        "results/benchmarks/findings.tsv"
    resources:
        **cluster_resources("findings"),
    params:
        settings={**config["findings"], "studies": config["inheritance"]["studies"]},
        caption=caption("findings"),
        code=code("findings"),
    script:
        "../workflow/scripts/findings.py"


rule provenance:
    input:
        tables=lambda w: [f"results/tables/{t}.csv" for t in report_tables()],
    output:
        report(
            "results/tables/provenance.json",
            caption="../report/caption.rst",
            category=registry.section("provenance"),
            subcategory="Tables",
        ),
    log:
        "results/logs/provenance.log",
    benchmark:
        "results/benchmarks/provenance.tsv"
    resources:
        **cluster_resources("provenance"),
    params:
        tables_code=lambda w: table_code(),
        packages=lambda w: provenance.package_versions(),
        environment=lambda w: provenance.environment(workflow.basedir),
        runs=lambda w: run_settings(),
        overview=lambda w: overview(config),
        config=config,
        caption=caption("provenance"),
        code=code("provenance"),
    script:
        "../workflow/scripts/provenance.py"
