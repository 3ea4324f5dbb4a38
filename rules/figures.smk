rule figure:
    input:
        tables=lambda w: [
            f"results/tables/{t}.parquet" for t in figure_tables(w.figure)
        ],
    output:
        report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category=lambda w: section(w.figure),
            subcategory="Figures",
        ),
    log:
        "results/logs/figure/{figure}.log",
    benchmark:
        "results/benchmarks/figure/{figure}.tsv"
    wildcard_constraints:
        figure="|".join(FIGURES),
    resources:
        **cluster_resources("figure"),
    params:
        caption=lambda w: FIGURES[w.figure][1],
        code=fingerprint("embryo.figures"),
    script:
        "../workflow/scripts/figure.py"
