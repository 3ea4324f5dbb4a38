"""The built-in language: an offline, deterministic synthetic mirror of the real data.

`generate(out_dir, seed=..., sizes=...)` writes a small English-like language in the
same files and formats as the real data mirror (UD treebank, GLUE tasks, LAMA T-REx,
BLiMP) plus a WikiText-like pretraining corpus that states the world's facts::

    corpus/{train,valid}.txt               WikiText layout ("= Title =" articles)
    ud/en_ewt-ud-{train,dev,test}.conllu   gold UPOS, XPOS, lemma, features, heads, relations
    edges/{const,srl}/{train,test}.json    edge probing (jiant): constituents, semantic roles
    glue/{SST-2,CoLA,MRPC,STS-B}/{train,dev}.tsv
    lama/relations.jsonl, lama/TREx/P*.jsonl
    blimp/{paradigm}.jsonl
    README.md

Every file comes from its own random stream, derived from (seed, file name), so the same
seed gives byte-identical files. Modules: `lexicon` (words), `grammar` (sentence trees and
CoNLL-U), `world` (entities, facts, phrasings, LAMA), `corpus` (articles), `tasks` (GLUE
rows), `minimal_pairs` (BLiMP), `files` (writers with the real files' quirks).
"""

from __future__ import annotations

import random
from pathlib import Path

from embryo.runtime.atomic import atomic_path
from embryo.runtime.errors import EmbryoError

DEFAULT_SIZES = {
    "corpus_train": 20000,  # sentences
    "corpus_valid": 2000,
    "treebank_train": 2000,  # sentences
    "treebank_dev": 300,
    "treebank_test": 300,
    "task_train": 2000,  # rows per task
    "task_dev": 500,
    "blimp": 200,  # pairs per paradigm
    "people": 60,
    "cities": 25,
    "countries": 8,
    "organisations": 12,
    "occupations": 10,
    "languages": 8,
}
MINIMUM = {
    "people": 3,
    "cities": 2,
    "countries": 2,
    "organisations": 1,
    "occupations": 1,
    "languages": 1,
    "task_train": 2,
    "task_dev": 2,
    "treebank_train": 1,
    "treebank_dev": 1,
    "treebank_test": 1,
}


def resolve_sizes(sizes: dict | None) -> dict:
    """``sizes`` merged over `DEFAULT_SIZES`; an unknown key or a bad value is an EmbryoError."""
    from embryo.data.builtin.lexicon import OCCUPATIONS

    merged = dict(DEFAULT_SIZES)
    for key, value in (sizes or {}).items():
        if key not in DEFAULT_SIZES:
            raise EmbryoError(
                f"builtin sizes: unknown key {key!r}; expected some of {sorted(DEFAULT_SIZES)}"
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < MINIMUM.get(key, 0):
            raise EmbryoError(
                f"builtin sizes: {key} should be an integer >= {MINIMUM.get(key, 0)}, not {value!r}"
            )
        merged[key] = value
    if merged["occupations"] > len(OCCUPATIONS):
        raise EmbryoError(f"builtin sizes: occupations is at most {len(OCCUPATIONS)}")
    if merged["cities"] < merged["countries"]:
        raise EmbryoError("builtin sizes: cities must be at least countries (one capital each)")
    return merged


def stream(seed: int, name: str) -> random.Random:
    """The random stream of one file: a function of (seed, name) only (string seeding is
    SHA-512 based, so it is the same in every process, unlike ``hash()``)."""
    return random.Random(f"embryo.builtin/{seed}/{name}")


def generate(out_dir, *, seed: int = 0, sizes: dict | None = None) -> dict:
    """Write the built-in language to ``out_dir`` (atomically, replacing it); return stats.

    ``sizes`` overrides some of `DEFAULT_SIZES` (sentences, rows, pairs or entities per
    key). The stats hold the seed, the sizes used, the number of facts and entities, the
    records per file ("counts") and the share of label 1 per task file ("label_balance").
    Before the files appear, the treebank, LAMA and BLiMP files are read back whole with
    the readers the analyses use (:mod:`embryo.data.checks`), as the workflow checks a
    local mirror's (their summaries are the stats' "checked").
    """
    from embryo.data.checks import check_blimp, check_lama, check_treebank

    sizes = resolve_sizes(sizes)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise EmbryoError(f"builtin seed should be an integer, not {seed!r}")
    with atomic_path(out_dir, directory=True) as tmp:
        root = Path(tmp)
        stats = _write_all(root, seed, sizes)
        treebank = {s: root / f"ud/en_ewt-ud-{s}.conllu" for s in ("train", "dev", "test")}
        stats["checked"] = {
            "treebank": check_treebank(treebank),
            "lama": check_lama(root / "lama"),
            "blimp": check_blimp(root / "blimp"),
        }
    return stats


def _write_all(root: Path, seed: int, sizes: dict) -> dict:
    from embryo.data import edges
    from embryo.data.builtin import corpus, files, minimal_pairs, tasks, world
    from embryo.data.builtin.grammar import Grammar
    from embryo.data.treebank import read_conllu

    counts: dict[str, int] = {}
    balance: dict[str, float] = {}
    kb = world.build_world(stream(seed, "world"), sizes)
    people = [p.name for p in kb.people]
    places = [c.label for c in kb.cities]

    for split, entity_articles in (("train", True), ("valid", False)):
        name = f"corpus/{split}.txt"
        articles, n = corpus.build_corpus(
            stream(seed, name), kb, sizes[f"corpus_{split}"], entity_articles=entity_articles
        )
        files.write_text(root / name, corpus.wikitext(articles))
        counts[name] = n

    for split in ("train", "dev", "test"):
        name = f"ud/en_ewt-ud-{split}.conllu"
        grammar = Grammar(stream(seed, name), people, places)
        blocks = [
            grammar.sentence().conllu(f"builtin-{split}-{i:05d}")
            for i in range(1, sizes[f"treebank_{split}"] + 1)
        ]
        files.write_text(root / name, "".join(blocks))
        counts[name] = len(blocks)
        if split != "dev":  # edge probing (jiant's layout): spans read off the same trees
            sentences = read_conllu(root / name)
            for task, spans in (("const", edges.constituents), ("srl", edges.predicate_arguments)):
                edge_file = f"edges/{task}/{split}.json"
                records = [edges.Record(s.words, spans(s)) for s in sentences]
                counts[edge_file] = edges.write_edges(root / edge_file, records)

    for split in ("train", "dev"):
        n = sizes[f"task_{split}"]
        name = f"glue/SST-2/{split}.tsv"
        rows = tasks.sst2(stream(seed, name), n)
        counts[name] = files.write_tsv(root, name, [(y, s) for s, y in rows])
        balance[name] = sum(y for _, y in rows) / len(rows)

        name = f"glue/CoLA/{split}.tsv"
        rows = tasks.cola(stream(seed, name), n)
        counts[name] = files.write_tsv(root, name, rows)
        balance[name] = sum(r[1] for r in rows) / len(rows)

        name = f"glue/MRPC/{split}.tsv"
        rows = tasks.mrpc(stream(seed, name), kb, n)
        counts[name] = files.write_tsv(root, name, rows)
        balance[name] = sum(r[0] for r in rows) / len(rows)

        name = f"glue/STS-B/{split}.tsv"
        rows = tasks.stsb(stream(seed, name), kb, n)
        counts[name] = files.write_tsv(
            root,
            name,
            [
                (
                    i,
                    "main-news",
                    "builtin",
                    "synthetic",
                    f"{i:04d}",
                    "none",
                    "none",
                    a,
                    b,
                    f"{s:.3f}",
                )
                for i, (a, b, s) in enumerate(rows)
            ],
        )
        balance[name] = sum(s >= 2.5 for _, _, s in rows) / len(rows)

    name = "lama/relations.jsonl"
    counts[name] = files.write_jsonl(root / name, world.relation_records(kb))
    for relation, records in world.lama_records(kb, stream(seed, "lama/TREx")).items():
        name = f"lama/TREx/{relation}.jsonl"
        counts[name] = files.write_jsonl(root / name, records)

    for paradigm in minimal_pairs.PARADIGMS:
        name = f"blimp/{paradigm}.jsonl"
        records = minimal_pairs.paradigm_records(
            stream(seed, name), paradigm, sizes["blimp"], people
        )
        counts[name] = files.write_jsonl(root / name, records)

    stats = {
        "seed": seed,
        "sizes": sizes,
        "facts": len(kb.facts),
        "entities": {kind: len(items) for kind, items in kb.entities.items()},
        "counts": counts,
        "label_balance": balance,
    }
    files.write_text(root / "README.md", _readme(stats))
    return stats


def _readme(stats: dict) -> str:
    lines = [
        "# Built-in language (synthetic data)",
        "",
        "Everything here is **synthetic**: generated by `embryo.data.builtin.generate` from a",
        "probabilistic grammar over a small English lexicon and a generated world of people,",
        "cities, countries, organisations, occupations and languages. It mirrors the layout",
        "and file formats of the real data mirror (UD EWT, GLUE, LAMA T-REx, BLiMP, WikiText),",
        "quirks included, so the same loaders read it. The same seed and sizes give",
        "byte-identical files.",
        "",
        f"- seed: {stats['seed']}",
        f"- sizes: {', '.join(f'{k}={v}' for k, v in stats['sizes'].items())}",
        f"- facts: {stats['facts']} ({', '.join(f'{v} {k}' for k, v in stats['entities'].items())})",
        "",
        "| file | records | label balance |",
        "|---|---|---|",
    ]
    for name, n in stats["counts"].items():
        share = stats["label_balance"].get(name)
        lines.append(f"| `{name}` | {n} | {'' if share is None else f'{share:.3f}'} |")
    lines += [
        "",
        "Records: sentences for `corpus/` and `ud/`, rows for `glue/`, lines for `lama/` and",
        "`blimp/`, targets for `edges/` (jiant's edge-probing JSON: the treebank's train and",
        "test sentences with their constituents and their verbs' semantic roles, read off",
        "the dependency trees). Label balance: share of label 1 (STS-B: share of scores >= 2.5).",
        "The corpus states every LAMA fact, in phrasings that differ from the LAMA templates.",
        "",
    ]
    return "\n".join(lines)
