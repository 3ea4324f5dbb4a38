rule generate_builtin:
    output:
        directory(BUILTIN_DIR),
    log:
        "results/logs/generate_builtin.log",
    benchmark:
        "results/benchmarks/generate_builtin.tsv"
    resources:
        **cluster_resources("generate_builtin"),
    params:
        seed=config["builtin"]["seed"],
        sizes=config["builtin"]["sizes"],
        code=code("generate_builtin"),
    script:
        "../workflow/scripts/generate_builtin.py"


rule prepare_corpus:
    input:
        corpus_files,
    output:
        train="results/corpora/{corpus}/train.parquet",
        validation="results/corpora/{corpus}/validation.parquet",
    log:
        "results/logs/prepare_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/prepare_corpus/{corpus}.tsv"
    resources:
        **cluster_resources("prepare_corpus"),
    params:
        spec=lambda w: config["corpora"][w.corpus],
        data_dir=lambda w: source_root(config["corpora"][w.corpus]),
        part_dirs=mix_parts,
        code=code("prepare_corpus"),
    script:
        "../workflow/scripts/prepare_corpus.py"


rule train_tokenizer:
    input:
        corpus=tokenizer_corpus,
    output:
        directory("results/tokenizers/{tokenizer}"),
    log:
        "results/logs/train_tokenizer/{tokenizer}.log",
    benchmark:
        "results/benchmarks/train_tokenizer/{tokenizer}.tsv"
    resources:
        **cluster_resources("train_tokenizer"),
    params:
        settings=lambda w: settings.tokenizer(config, w.tokenizer),
        code=code("train_tokenizer"),
    script:
        "../workflow/scripts/train_tokenizer.py"


rule tokenize_corpus:
    input:
        tokenizer="results/tokenizers/{tokenizer}",
        train="results/corpora/{corpus}/train.parquet",
        validation="results/corpora/{corpus}/validation.parquet",
    output:
        directory("results/data/{corpus}/{tokenizer}-block{block}"),
    log:
        "results/logs/tokenize_corpus/{corpus}/{tokenizer}-block{block}.log",
    benchmark:
        "results/benchmarks/tokenize_corpus/{corpus}/{tokenizer}-block{block}.tsv"
    threads: 1
    resources:
        **cluster_resources("tokenize_corpus"),
    params:
        block_size=lambda w: int(w.block),
        code=code("tokenize_corpus"),
    script:
        "../workflow/scripts/tokenize_corpus.py"


# ---- input checks (embryo.data.checks): every run's first segment waits for them. Local
# rules: on a cluster they run where Snakemake runs (cheap reads of shared files, and a
# Hub task needs the network, which compute nodes often lack)


localrules:
    check_treebank,
    check_lama,
    check_blimp,
    check_task,


rule check_treebank:
    input:
        treebank_input("train", "test"),
    output:
        "results/checks/treebank.json",
    log:
        "results/logs/check_treebank.log",
    benchmark:
        "results/benchmarks/check_treebank.tsv"
    resources:
        **cluster_resources("check_treebank"),
    params:
        splits=lambda w: {s: treebank_split(s).path for s in ("train", "test")},
        code=code("check_treebank"),
    script:
        "../workflow/scripts/check_treebank.py"


rule check_lama:
    input:
        analysis_input("lama"),
    output:
        "results/checks/lama.json",
    log:
        "results/logs/check_lama.log",
    benchmark:
        "results/benchmarks/check_lama.tsv"
    resources:
        **cluster_resources("check_lama"),
    params:
        root=analysis_root("lama"),
        code=code("check_lama"),
    script:
        "../workflow/scripts/check_lama.py"


rule check_blimp:
    input:
        analysis_input("blimp"),
    output:
        "results/checks/blimp.json",
    log:
        "results/logs/check_blimp.log",
    benchmark:
        "results/benchmarks/check_blimp.tsv"
    resources:
        **cluster_resources("check_blimp"),
    params:
        root=analysis_root("blimp"),
        code=code("check_blimp"),
    script:
        "../workflow/scripts/check_blimp.py"


rule check_task:
    input:
        task_input,
    output:
        "results/checks/task/{task}.json",
    log:
        "results/logs/check_task/{task}.log",
    benchmark:
        "results/benchmarks/check_task/{task}.tsv"
    resources:
        **cluster_resources("check_task"),
    params:
        spec=lambda w: config["tasks"][w.task],
        root=lambda w: source_root(config["tasks"][w.task]),
        code=code("check_task"),
    script:
        "../workflow/scripts/check_task.py"
