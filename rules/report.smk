# The findings table and the provenance file, beside the tables; both in the report.
rule findings:
    input:
        tables=findings_tables,
    output:
        csv=report(
            "results/tables/findings.csv",
            caption="../report/findings.rst",
            category=section("findings"),
            subcategory="Tables",
        ),
        html=report(
            "results/tables/findings.html",
            caption="../report/findings.rst",
            category=section("findings"),
            subcategory="Tables",
        ),
    log:
        "results/logs/table/findings.log",
    benchmark:
        "results/benchmarks/table/findings.tsv"
    resources:
        **cluster_resources("findings"),
    params:
        code=fingerprint("embryo.findings"),
    script:
        "../workflow/scripts/findings.py"


rule provenance:
    input:
        tables=lambda w: [f"results/tables/{t}.csv" for t in report_tables()],
    output:
        report(
            "results/tables/provenance.json",
            caption="../report/provenance.rst",
            category=section("provenance"),
            subcategory="Tables",
        ),
    log:
        "results/logs/table/provenance.log",
    resources:
        **cluster_resources("provenance"),
    params:
        code=lambda w: {t: provenance.table_code(t) for t in report_tables()},
        packages=lambda w: provenance.package_versions(),
        runs=lambda w: run_settings(),
        overview=lambda w: overview(config),
        config=config,
        root=workflow.basedir,
    script:
        "../workflow/scripts/provenance.py"
