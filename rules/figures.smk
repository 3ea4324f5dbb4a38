rule figure:
    input:
        tables=lambda w: [
            f"results/tables/{t}.parquet" for t in registry.FIGURE[w.figure].tables
        ],
    output:
        report(
            "results/figures/{figure}.png",
            caption="../report/caption.rst",
            category=lambda w: registry.section(w.figure),
            subcategory="Figures",
        ),
    log:
        "results/logs/figure/{figure}.log",
    benchmark:
        "results/benchmarks/figure/{figure}.tsv"
    wildcard_constraints:
        figure=alternatives(registry.FIGURE),
    resources:
        **cluster_resources("figure"),
    params:
        draw=lambda w: registry.FIGURE[w.figure].draw,
        options=lambda w: figure_options(w.figure),
        caption=lambda w: caption(w.figure),
        # the figure's own plotting module: a figure reruns when its code changes
        code=lambda w: code("figure", registry.FIGURE[w.figure].draw.split(":")[0]),
    script:
        "../workflow/scripts/figure.py"
