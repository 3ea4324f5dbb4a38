# the jobs that may need the network, on the host that runs Snakemake if compute nodes
# have none (config cluster.network_on_submit_host)
if CLUSTER["network_on_submit_host"]:

    localrules:
        prepare_corpus,
        prepare_task,
        check_series,
        import_checkpoint,
        release_step,


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
        get_corpus_files,
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
        part_dirs=get_mix_parts,
        code=code("prepare_corpus"),
    script:
        "../workflow/scripts/prepare_corpus.py"


rule train_tokenizer:
    input:
        corpus=get_tokenizer_corpus,
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


# blocks of a corpus in a trained tokenizer, or in an imported series' own (its
# validation curve: validation_step)
rule tokenize_corpus:
    input:
        tokenizer=lambda w: vocab_dir(w.tokenizer),
        train="results/corpora/{corpus}/train.parquet",
        validation="results/corpora/{corpus}/validation.parquet",
    output:
        directory("results/data/{corpus}/{tokenizer}-block{block}"),
    log:
        "results/logs/tokenize_corpus/{corpus}/{tokenizer}-block{block}.log",
    benchmark:
        "results/benchmarks/tokenize_corpus/{corpus}/{tokenizer}-block{block}.tsv"
    wildcard_constraints:
        tokenizer=alternatives(TASK_VOCABS),
    threads: 1
    resources:
        **cluster_resources("tokenize_corpus"),
    params:
        block_size=lambda w: int(w.block),
        code=code("tokenize_corpus"),
    script:
        "../workflow/scripts/tokenize_corpus.py"
