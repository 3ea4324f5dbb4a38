"""The built-in language: formats of the real mirror, valid trees, consistent facts, tasks."""

from __future__ import annotations

import collections
import csv
import json
from pathlib import Path

import pytest

from embryo.data.builtin import DEFAULT_SIZES, generate, resolve_sizes, stream, world
from embryo.runtime.errors import EmbryoError

SIZES = {
    "corpus_train": 3000,
    "corpus_valid": 300,
    "treebank_train": 500,
    "treebank_dev": 100,
    "treebank_test": 100,
    "task_train": 1000,
    "task_dev": 400,
    "blimp": 30,
    "people": 30,
    "cities": 12,
    "countries": 5,
    "organisations": 6,
    "occupations": 8,
    "languages": 5,
}
BALANCE_TOLERANCE = 0.05  # every task's label 1 share is within 0.5 +- 0.05
TSV = dict(sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False)
UPOS = {"DET", "PRON", "ADP", "CCONJ", "AUX", "NOUN", "PROPN", "VERB", "ADJ", "ADV", "NUM", "PUNCT"}
UD_RELATIONS = {
    "nsubj",
    "obj",
    "det",
    "amod",
    "case",
    "obl",
    "nmod",
    "root",
    "punct",
    "cc",
    "conj",
    "aux",
    "advmod",
    "nummod",
    "acl:relcl",
    "cop",
    "mark",
    "compound",
    "advcl",
    "flat",
    "nmod:poss",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("builtin") / "data"
    stats = generate(out, seed=7, sizes=SIZES)
    return out, stats


@pytest.fixture(scope="module")
def kb():
    """The world behind ``built`` (the same seed and sizes)."""
    return world.build_world(stream(7, "world"), resolve_sizes(SIZES))


def all_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def read_tsv(path: Path, header: bool):
    import pandas as pd

    return pd.read_csv(path, header=0 if header else None, **TSV)


def conllu_sentences(root: Path, split: str):
    import conllu

    return conllu.parse((root / f"ud/en_ewt-ud-{split}.conllu").read_text(encoding="utf-8"))


# --- layout, determinism, sizes --------------------------------------------------------


def test_layout_and_stats(built):
    out, stats = built
    names = set(all_files(out))
    for split in ("train", "valid"):
        assert f"corpus/{split}.txt" in names
    for split in ("train", "dev", "test"):
        assert f"ud/en_ewt-ud-{split}.conllu" in names
    for task in ("SST-2", "CoLA", "MRPC", "STS-B"):
        assert {f"glue/{task}/train.tsv", f"glue/{task}/dev.tsv"} <= names
    assert {
        "lama/relations.jsonl",
        "lama/TREx/P19.jsonl",
        "lama/TREx/P36.jsonl",
        "README.md",
    } <= names
    assert any(n.startswith("blimp/") for n in names)
    assert set(stats["counts"]) | {"README.md"} == names
    assert stats["counts"]["ud/en_ewt-ud-train.conllu"] == SIZES["treebank_train"]
    assert stats["counts"]["glue/MRPC/dev.tsv"] == SIZES["task_dev"]
    assert stats["sizes"] == {**DEFAULT_SIZES, **SIZES}
    readme = (out / "README.md").read_text()
    assert "synthetic" in readme and "seed: 7" in readme
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name]


def test_same_seed_gives_identical_files_and_another_seed_different_ones(built, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    generate(again, seed=7, sizes=SIZES)
    assert all_files(again) == all_files(out)
    other = tmp_path / "other"
    generate(other, seed=8, sizes=SIZES)
    first, second = all_files(out), all_files(other)
    assert set(first) == set(second)
    same = [n for n in first if first[n] == second[n]]
    assert same == ["lama/relations.jsonl"]  # the relation list is fixed; all else differs


def test_unknown_or_bad_sizes_are_refused(tmp_path):
    with pytest.raises(EmbryoError, match="corpus_trian"):
        generate(tmp_path / "x", sizes={"corpus_trian": 10})
    with pytest.raises(EmbryoError, match="people"):
        generate(tmp_path / "x", sizes={"people": "many"})
    with pytest.raises(EmbryoError, match="occupations"):
        generate(tmp_path / "x", sizes={"occupations": 1000})
    assert not (tmp_path / "x").exists()


def test_a_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    from embryo.data.builtin import files

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(files, "write_jsonl", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(tmp_path / "data", sizes={**SIZES, "corpus_train": 100, "task_train": 10})
    assert list(tmp_path.iterdir()) == []


# --- treebank --------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_conllu_parses_and_every_tree_is_valid(built, split):
    out, _ = built
    sentences = conllu_sentences(out, split)
    assert len(sentences) == SIZES[f"treebank_{split}"]
    ids = set()
    for s in sentences:
        sid = s.metadata["sent_id"]
        assert sid not in ids
        ids.add(sid)
        n = len(s)
        assert [t["id"] for t in s] == list(range(1, n + 1)), sid
        heads = [t["head"] for t in s]
        assert heads.count(0) == 1, sid
        assert all(0 <= h <= n for h in heads), sid
        for i in range(1, n + 1):  # walking up from every word reaches the root
            seen, node = set(), i
            while node != 0:
                assert node not in seen, f"{sid}: cycle"
                seen.add(node)
                node = heads[node - 1]
        for t in s:
            assert t["deprel"] in UD_RELATIONS, (sid, t["deprel"])
            assert (t["deprel"] == "root") == (t["head"] == 0)
            assert t["xpos"] and t["lemma"] and t["upos"]
        text = "".join(
            t["form"] + ("" if (t["misc"] or {}).get("SpaceAfter") == "No" else " ") for t in s
        ).strip()
        assert s.metadata["text"] == text, sid


def test_treebank_tags_and_constructions(built):
    out, _ = built
    sentences = conllu_sentences(out, "train")
    tokens = [t for s in sentences for t in s]
    assert {t["upos"] for t in tokens} >= UPOS
    verb_tags = {t["xpos"] for t in tokens if t["upos"] in ("VERB", "AUX")}
    assert verb_tags >= {"VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "MD"}
    assert {t["deprel"] for t in tokens} >= UD_RELATIONS - {"flat"}
    assert any(s.metadata["text"].endswith("?") for s in sentences)
    lengths = [len(s) for s in sentences]
    assert min(lengths) <= 5 and max(lengths) >= 25
    for t in tokens:
        feats = t["feats"] or {}
        if t["upos"] == "NOUN":
            assert feats["Number"] == ("Plur" if t["xpos"] == "NNS" else "Sing")
        if t["xpos"] in ("VBZ", "VBP"):
            assert feats["Tense"] == "Pres" and feats["VerbForm"] == "Fin" and "Person" in feats
        if t["xpos"] == "VB":
            assert feats == {"VerbForm": "Inf"}
    # subject-verb agreement: a plural noun subject never has a VBZ verb or auxiliary
    checked = 0
    for s in sentences:
        for t in s:
            if t["deprel"] == "nsubj" and t["xpos"] == "NNS":
                finite = [
                    u
                    for u in s
                    if u["xpos"] in ("VBZ", "VBP")
                    and t["head"] in (u["id"], u["head"])
                    and (u["id"] == t["head"] or u["deprel"] in ("aux", "cop"))
                ]
                assert all(u["xpos"] == "VBP" for u in finite), s.metadata["text"]
                checked += len(finite)
    assert checked > 20


def test_function_words_are_far_more_frequent_per_type(built):
    out, _ = built
    count, types = collections.Counter(), collections.defaultdict(set)
    for s in conllu_sentences(out, "train"):
        for t in s:
            count[t["upos"]] += 1
            types[t["upos"]].add(t["lemma"].lower())

    def per_type(upos):
        return count[upos] / len(types[upos])

    assert per_type("DET") > 10 * per_type("NOUN")
    for function in ("ADP", "AUX", "CCONJ", "PRON"):
        for content in ("NOUN", "VERB", "ADJ"):
            assert per_type(function) > 2 * per_type(content), (function, content)
    # Zipf-like within a class: the top noun is far more frequent than the median one
    nouns = sorted(
        collections.Counter(
            t["lemma"] for s in conllu_sentences(out, "train") for t in s if t["upos"] == "NOUN"
        ).values(),
        reverse=True,
    )
    assert nouns[0] > 5 * nouns[len(nouns) // 2]


# --- corpus and knowledge --------------------------------------------------------------


def test_corpus_is_wikitext_that_the_corpus_loader_reads(built):
    from embryo.data.corpus import load_corpus

    out, stats = built
    text = (out / "corpus/train.txt").read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith(" = ")]
    assert len(headings) >= SIZES["people"] + SIZES["cities"]
    spec = {
        "source": "local",
        "format": "wikitext",
        "files": ["corpus/train.txt"],
        "validation_files": ["corpus/valid.txt"],
    }
    splits = load_corpus(spec, out)
    assert not any(t.startswith("=") for t in splits["train"])
    sentences = sum(
        t.count(" . ") + t.count(" ? ") + t.endswith((".", "?")) for t in splits["train"]
    )
    assert sentences == stats["counts"]["corpus/train.txt"] >= SIZES["corpus_train"]
    assert sentences / len(splits["train"]) > 3  # several sentences per paragraph


def lama_facts(out: Path) -> set[tuple[str, str, str]]:
    facts = set()
    for path in (out / "lama/TREx").glob("P*.jsonl"):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            assert set(r) == {
                "uuid",
                "sub_uri",
                "sub_label",
                "predicate_id",
                "obj_uri",
                "obj_label",
            }
            assert r["predicate_id"] == path.stem and " " not in r["obj_label"]
            facts.add((r["predicate_id"], r["sub_label"], r["obj_label"]))
    return facts


def test_lama_facts_are_exactly_what_the_corpus_states(built, kb):
    out, _ = built
    facts = lama_facts(out)
    assert {f.key() for f in kb.facts} == facts
    train = (out / "corpus/train.txt").read_text(encoding="utf-8")
    valid = (out / "corpus/valid.txt").read_text(encoding="utf-8")
    assert facts <= world.find_statements(train, kb)  # every fact is stated in train
    assert world.find_statements(train + valid, kb) <= facts  # and nothing else, nothing false
    # independent of the phrasings: subject and object share a line of the training text
    lines = train.splitlines()
    for _, sub, obj in facts:
        assert any(sub in line and f" {obj} " in line for line in lines), (sub, obj)
    # functional relations have one object per subject
    relations = [
        json.loads(line) for line in (out / "lama/relations.jsonl").read_text().splitlines()
    ]
    for r in relations:
        assert r["type"] in ("1-1", "N-1", "N-M")
        objects = collections.defaultdict(set)
        for rel, sub, obj in facts:
            if rel == r["relation"]:
                objects[sub].add(obj)
        if r["type"] != "N-M":
            assert all(len(o) == 1 for o in objects.values()), r["relation"]


def test_lama_templates_never_appear_in_the_corpus(built):
    out, _ = built
    corpus = " ".join((out / f"corpus/{s}.txt").read_text() for s in ("train", "valid")).lower()
    relations = [
        json.loads(line) for line in (out / "lama/relations.jsonl").read_text().splitlines()
    ]
    assert {tuple(r) for r in relations} == {
        ("relation", "template", "label", "description", "type")
    }
    stop = {"is", "a", "an", "the", "of", "in", "."}
    for r in relations:
        template = r["template"]
        assert template not in world.PHRASINGS[r["relation"]]
        for part in template.replace("[X]", "|").replace("[Y]", "|").split("|"):
            words = part.split()
            if len(words) >= 2 and set(words) - stop:
                assert f" {part.strip().lower()} " not in corpus, (r["relation"], part)
    for rel, sub, obj in lama_facts(out):
        template = next(r["template"] for r in relations if r["relation"] == rel)
        cloze = template.replace("[X]", sub).split("[Y]")[0] + obj  # up to the object
        assert cloze.lower() not in corpus, cloze


# --- tasks -----------------------------------------------------------------------------


def test_task_files_parse_like_the_real_ones(built):
    out, stats = built
    for split in ("train", "dev"):
        sst = read_tsv(out / f"glue/SST-2/{split}.tsv", header=True)
        assert list(sst.columns) == ["label", "sentence" if split == "train" else "content"]
        cola = read_tsv(out / f"glue/CoLA/{split}.tsv", header=False)
        assert cola.shape[1] == 4 and set(cola[2][cola[1] == 0]) == {"*"}
        assert set(cola[2][cola[1] == 1]) == {""}
        mrpc_bytes = (out / f"glue/MRPC/{split}.tsv").read_bytes()
        assert mrpc_bytes.startswith(b"\xef\xbb\xbfQuality\t#1 ID")
        mrpc = read_tsv(out / f"glue/MRPC/{split}.tsv", header=True)
        assert len(mrpc.columns) == 5 and mrpc.columns[1:].tolist() == [
            "#1 ID",
            "#2 ID",
            "#1 String",
            "#2 String",
        ]
        sts = read_tsv(out / f"glue/STS-B/{split}.tsv", header=True)
        assert sts.columns[-3:].tolist() == ["sentence1", "sentence2", "score"]
        assert sts["score"].between(0, 5).all() and sts["score"].nunique() > 50
        for task, frame in (("SST-2", sst), ("CoLA", cola), ("MRPC", mrpc), ("STS-B", sts)):
            assert (
                len(frame) == stats["counts"][f"glue/{task}/{split}.tsv"] == SIZES[f"task_{split}"]
            )
    assert (out / "glue/SST-2/train.tsv").read_bytes().count(b"\r\n") == SIZES["task_train"] + 1


def test_task_files_match_the_real_mirror(built, shared_data):
    """Header line, byte-order mark, line ends and column count as in ../shared/data."""
    from embryo.data.builtin.files import TSV_LAYOUT

    out, _ = built
    reals = sorted((shared_data / "glue").glob("*/*.tsv"))
    assert reals
    for real in reals:
        name = str(real.relative_to(shared_data))
        ours = (out / name).read_bytes().splitlines(keepends=True)[:2]
        theirs = real.read_bytes().splitlines(keepends=True)[:2]
        if TSV_LAYOUT[name][0] is None:  # no header in either: the real one starts with data
            assert theirs[0].split(b"\t")[1] in (b"0", b"1"), name
        else:  # the same header, byte-order mark included
            assert ours[0] == theirs[0], name
        assert ours[1].endswith(b"\r\n") == theirs[1].endswith(b"\r\n"), name
        assert ours[1].count(b"\t") == theirs[1].count(b"\t"), name
    real_relations = {
        json.loads(line)["relation"]: json.loads(line)
        for line in (shared_data / "lama/relations.jsonl").read_text().splitlines()
    }
    for line in (out / "lama/relations.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert record == real_relations[record["relation"]]
    real_blimp = json.loads((shared_data / "blimp/transitive.jsonl").read_text().splitlines()[0])
    ours = json.loads((out / "blimp/transitive.jsonl").read_text().splitlines()[0])
    assert list(ours) == list(real_blimp)


@pytest.mark.parametrize("task", ["SST-2", "CoLA", "MRPC", "STS-B"])
def test_labels_are_balanced(built, task):
    out, stats = built
    for split in ("train", "dev"):
        header = task != "CoLA"
        frame = read_tsv(out / f"glue/{task}/{split}.tsv", header=header)
        labels = {"SST-2": frame.get("label"), "CoLA": frame.get(1), "MRPC": frame.get("Quality")}
        share = (frame["score"] >= 2.5).mean() if task == "STS-B" else labels[task].mean()
        assert abs(share - 0.5) <= BALANCE_TOLERANCE, (task, split, share)
        assert stats["label_balance"][f"glue/{task}/{split}.tsv"] == pytest.approx(share)


def bag_of_words_accuracy(train_texts, train_labels, dev_texts, dev_labels) -> float:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(token_pattern=r"(?u)\b\w+\b")
    model = LogisticRegression(max_iter=2000).fit(
        vectorizer.fit_transform(train_texts), train_labels
    )
    return model.score(vectorizer.transform(dev_texts), dev_labels)


def test_cola_needs_word_order_while_sst2_is_partly_lexical(built):
    out, _ = built
    train = read_tsv(out / "glue/CoLA/train.tsv", header=False)
    dev = read_tsv(out / "glue/CoLA/dev.tsv", header=False)
    assert bag_of_words_accuracy(train[3], train[1], dev[3], dev[1]) < 0.65
    train = read_tsv(out / "glue/SST-2/train.tsv", header=True)
    dev = read_tsv(out / "glue/SST-2/dev.tsv", header=True)
    accuracy = bag_of_words_accuracy(
        train["sentence"], train["label"], dev["content"], dev["label"]
    )
    assert 0.6 < accuracy < 0.95  # above chance, but negation keeps it from being trivial
    negated = dev["content"].str.contains(r"\b(?:not|never)\b")
    assert 0.1 < negated.mean() < 0.5


def test_mrpc_pairs_are_about_one_subject(built, kb):
    out, _ = built
    frame = read_tsv(out / "glue/MRPC/train.tsv", header=True)
    labels = sorted(
        (
            e.label
            for kind in ("person", "city", "country", "organisation")
            for e in kb.entities[kind]
        ),
        key=len,
        reverse=True,
    )
    for a, b in zip(frame["#1 String"], frame["#2 String"], strict=True):
        assert a != b
        assert any(label in a and label in b for label in labels), (a, b)


# --- minimal pairs ---------------------------------------------------------------------


def test_blimp_pairs(built):
    out, _ = built
    paths = sorted((out / "blimp").glob("*.jsonl"))
    assert len(paths) >= 6
    terms = set()
    for path in paths:
        records = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(records) == SIZES["blimp"]
        for i, r in enumerate(records):
            assert r["UID"] == path.stem and r["pairID"] == str(i)
            assert r["field"] in ("morphology", "syntax")
            assert r["simple_LM_method"] is True
            assert r["sentence_good"] != r["sentence_bad"]
            assert r["sentence_good"].endswith(".") and r["sentence_good"][0].isupper()
            good, bad = r["sentence_good"][:-1].split(), r["sentence_bad"][:-1].split()
            if r["lexically_identical"]:
                assert len(good) == len(bad)
            else:
                assert sum(g != b for g, b in zip(good, bad, strict=False)) == 1
            terms.add(r["linguistics_term"])
    assert {"subject_verb_agreement", "determiner_noun_agreement", "argument_structure"} <= terms
