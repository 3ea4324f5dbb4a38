"""GLUE-format tasks, downstream metrics and fine-tuning one checkpoint."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from embryo.data.tasks import load_task, prepare_task, read_split
from embryo.runtime.errors import EmbryoError
from embryo.transfer.finetune import (
    epoch_order,
    finetune,
    length_pieces,
    pack_rows,
    training_subset,
)
from embryo.transfer.metrics import score, score_along

from .conftest import sentences
from .helpers import FINETUNE, TINY_DIMS

BASE = dict(
    source="local", format="auto", header=True, type="classification", labels=None, metrics=None
)
HPARAMS = FINETUNE
DIMS = TINY_DIMS


def spec(**kw) -> dict:
    return {**BASE, "train": "train.tsv", "dev": "dev.tsv", **kw}


# ---- metrics, by hand


def test_metrics_match_hand_computation():
    pred, gold = [1, 0, 1, 1], [1, 1, 1, 0]
    assert score("accuracy", pred, gold) == 0.5
    # tp = 2, fp = 1, fn = 1: F1 = 2·2 / (2·2 + 1 + 1)
    assert score("f1", pred, gold) == pytest.approx(4 / 6)
    # tn = 0: MCC = (tp·tn - fp·fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = -1 / sqrt(3·3·1·1)
    assert score("matthews", pred, gold) == pytest.approx(-1 / 3)
    # deviations (-1, 0, 1) and (-4/3, -1/3, 5/3): r = 3 / sqrt(2 · 42/9)
    assert score("pearson", [1, 2, 3], [1, 2, 4]) == pytest.approx(3 / math.sqrt(2 * 42 / 9))
    assert score("spearman", [1, 2, 3], [1, 2, 4]) == pytest.approx(1.0)
    assert score("spearman", [3, 2, 1], [1, 2, 4]) == pytest.approx(-1.0)
    assert score("pearson", [2, 2, 2], [1, 2, 4]) == 0.0  # constant predictions: undefined -> 0
    with pytest.raises(KeyError, match="unknown metric"):
        score("bleu", [1], [1])


def test_metrics_along_rows_equal_the_metrics_of_each_row():
    import numpy as np

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 50)
    pred = rng.integers(0, 2, (7, 50))
    pred[0] = 1  # constant predictions: Matthews and the correlations undefined -> 0
    scores = rng.normal(size=(7, 50))
    scores[1] = 3.0
    for metric in ("accuracy", "f1", "matthews"):
        assert score_along(metric, pred, gold) == pytest.approx(
            [score(metric, row, gold) for row in pred]
        ), metric
    for metric in ("pearson", "spearman"):
        assert score_along(metric, scores, gold * 2.5) == pytest.approx(
            [score(metric, row, gold * 2.5) for row in scores]
        ), metric
    assert score_along("matthews", [1, 0, 1, 1], [1, 1, 1, 0]) == pytest.approx(-1 / 3)


# ---- reading GLUE files as distributed


def test_reads_glue_quirks(tmp_path):
    # SST-2: Windows line ends, and the dev header names the text column differently
    (tmp_path / "train.tsv").write_bytes(b"label\tsentence\r\n0\tdull film\r\n1\tgreat film\r\n")
    (tmp_path / "dev.tsv").write_text("label\tcontent\n1\tgreat\n0\tdull\n")
    task = load_task(spec(text=[1], label=0), tmp_path)
    assert task["train"]["text"] == [["dull film", "great film"]]
    assert task["train"]["label"] == [0, 1] and task["dev"]["label"] == [1, 0]
    assert task["labels"] == ["0", "1"]
    # MRPC: byte-order mark, unbalanced quotes, a sentence pair by header names
    pair = '\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\t"He said so.\tHe did.\n'
    (tmp_path / "mrpc.tsv").write_text(pair)
    rows = read_split(tmp_path / "mrpc.tsv", spec(text=["#1 String", "#2 String"], label="Quality"))
    assert rows["text"] == [['"He said so.'], ["He did."]] and rows["label"] == ["1"]
    # CoLA: no header, positions
    (tmp_path / "cola.tsv").write_text("gj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the sat.\n")
    rows = read_split(tmp_path / "cola.tsv", spec(text=[3], label=1, header=False))
    assert rows["text"] == [["The cat sat.", "Cat the sat."]] and rows["line"] == [1, 2]


def test_bad_task_files_name_file_and_line(tmp_path):
    (tmp_path / "train.tsv").write_text("label\tsentence\n0\tfine\n1\n")
    with pytest.raises(EmbryoError, match=r"train\.tsv:3: 1 tab/comma-separated fields"):
        read_split(tmp_path / "train.tsv", spec(text=["sentence"], label="label"))
    with pytest.raises(EmbryoError, match=r"train\.tsv:1: no column 'text' in the header"):
        read_split(tmp_path / "train.tsv", spec(text=["text"], label="label"))
    # the label set is the dev file's: RTE's training file with a "maybe" is a typo there,
    # not a third class (its file, line and label named)
    rows = [("entailment", "not_entailment")[i % 2] for i in range(200)]
    rows[2] = "maybe"  # one row of 200
    (tmp_path / "train.tsv").write_text(
        "label\tsentence\n" + "".join(f"{label}\tx\n" for label in rows)
    )
    (tmp_path / "dev.tsv").write_text("label\tsentence\nentailment\ta\nnot_entailment\tb\n")
    with pytest.raises(
        EmbryoError,
        match=r"train\.tsv:4: label 'maybe' is not one of "
        r"\['entailment', 'not_entailment'\] \(the labels of .*dev\.tsv and",
    ):
        load_task(spec(text=["sentence"], label="label"), tmp_path)
    # named by the config: a dev label outside them is the error
    with pytest.raises(
        EmbryoError,
        match=r"train\.tsv:3: label 'not_entailment' is not one of "
        r"\['entailment', 'maybe'\] \(tasks.<task>.labels\)",
    ):
        load_task(spec(text=["sentence"], label="label", labels=["entailment", "maybe"]), tmp_path)
    (tmp_path / "train.tsv").write_text("label\tsentence\n0.5\ta\n1.5\tb\n")
    (tmp_path / "dev.tsv").write_text("label\tsentence\n0.5\ta\nhigh\tb\n")
    with pytest.raises(EmbryoError, match=r"dev\.tsv:3: regression label 'high' is not a number"):
        load_task(spec(text=["sentence"], label="label", type="regression"), tmp_path)
    with pytest.raises(EmbryoError, match="task file not found"):
        read_split(tmp_path / "missing.tsv", spec(text=[0], label=1))


@pytest.mark.parametrize(
    ("task", "kw", "sizes", "labels"),
    [
        ("SST-2", dict(text=[1], label=0), (67349, 872), ["0", "1"]),
        ("CoLA", dict(text=[3], label=1, header=False), (8551, 527), ["0", "1"]),
        ("MRPC", dict(text=["#1 String", "#2 String"], label="Quality"), (3668, 408), ["0", "1"]),
    ],
)
def test_real_glue_files(shared_data, task, kw, sizes, labels):
    t = load_task(
        spec(train=f"glue/{task}/train.tsv", dev=f"glue/{task}/dev.tsv", **kw), shared_data
    )
    assert (len(t["train"]["label"]), len(t["dev"]["label"])) == sizes
    assert t["labels"] == labels
    assert all(text for column in t["dev"]["text"] for text in column)


# ---- subsets


def test_training_subset_is_seeded():
    a, b, c = (training_subset(1000, 50, s) for s in (0, 0, 1))
    assert len(a) == 50 and len(set(a.tolist())) == 50
    assert (a == b).all() and not (a == c).all()
    assert len(training_subset(1000, None, 0)) == 1000
    with pytest.raises(EmbryoError, match="subset of 2000 rows"):
        training_subset(1000, 2000, 0)
    # independent draws: a seed's 50 are not inside its 500; nested (Tamkin et al.): they are
    small, large = training_subset(1000, 50, 0), training_subset(1000, 500, 0)
    assert not set(small.tolist()) <= set(large.tolist())
    small, large = (training_subset(1000, n, 0, nested=True) for n in (50, 500))
    assert set(small.tolist()) < set(large.tolist()) and len(small) == 50
    assert not set(small.tolist()) <= set(training_subset(1000, 500, 1, nested=True).tolist())


def test_length_pieces_cut_where_padding_is_least():
    import numpy as np

    sizes = np.array([5, 30, 6, 7, 31, 8, 50, 9])
    # sorted: 5 6 7 8 9 | 30 31 | 50; padded 5*9 + 2*31 + 50 = 157 (one piece: 8*50 = 400;
    # two: 5*9 + 3*50 = 195 or 7*31 + 50 = 267)
    pieces = length_pieces(range(8), sizes, 3)
    assert [p.tolist() for p in pieces] == [[0, 2, 3, 5, 7], [1, 4], [6]]
    assert [p.tolist() for p in length_pieces(range(8), sizes, 2)] == [[0, 2, 3, 5, 7], [1, 4, 6]]
    # a piece costing 100 tokens more: two pieces (195 + 200) beat three (157 + 300)
    assert len(length_pieces(range(8), sizes, 3, overhead=100)) == 2
    assert len(length_pieces(range(8), sizes, 3, overhead=1000)) == 1
    assert [p.tolist() for p in length_pieces([3], sizes, 4)] == [[3]]


def test_pack_rows_first_fit_decreasing():
    """Longest first, each into the first row with room: 5 | 4 1 | 3 2 in rows of 5."""
    row, offset = pack_rows([3, 5, 2, 4, 1], 5)
    assert row.tolist() == [2, 0, 2, 1, 1] and offset.tolist() == [0, 0, 3, 0, 4]
    row, offset = pack_rows([7], 7)
    assert row.tolist() == [0] and offset.tolist() == [0]


def test_packing_needs_a_family_and_attention_that_take_a_block_diagonal_mask():
    """Packing computes a model whose family's attention takes a block-diagonal mask with
    SDPA or eager attention; DeBERTa, a family embryo does not know, or another kernel are
    computed in pieces."""
    from types import SimpleNamespace

    from embryo.transfer.finetune import packs

    def model(kind, attention):
        return SimpleNamespace(
            config=SimpleNamespace(model_type=kind, _attn_implementation=attention)
        )

    for kind in ("albert", "bert", "roberta", "modernbert", "distilbert"):
        for attention in ("sdpa", "eager"):
            assert packs(model(kind, attention))
    assert not packs(model("deberta-v2", "eager"))
    assert not packs(model("megatron-bert", "sdpa"))
    assert not packs(model("bert", "flash_attention_2"))


@pytest.mark.parametrize("architecture", ["albert", "bert", "roberta"])
@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_packed_examples_have_their_padded_logits(architecture, kind, tiny_tokenizer, tmp_path):
    """Packed rows (each example attending to itself, with its own positions) give each
    example the logits of the padded batch, for every architecture's head (BERT's and
    ALBERT's pooler, RoBERTa's head and its positions from the padding index + 1), and
    the loss AutoModelForSequenceClassification computes."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from embryo.models.families import model_spec, new_model
    from embryo.transfer.finetune import (
        batch_tensors,
        classification_loss,
        load_classifier,
        packed_logits,
        packed_tensors,
    )

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer)
    model = new_model(
        architecture, model_spec(architecture, DIMS), tokenizer, 64, seed=0, sop=False
    )
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    info = {"num_labels": 1 if kind == "regression" else 3, "type": kind}
    classifier, _ = load_classifier(tmp_path, info, seed=0)
    classifier.eval()
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 40, size=20)
    types = [] if architecture == "roberta" else [rng.integers(1, k) for k in lengths]
    rows = {
        "input_ids": [rng.integers(5, tokenizer.vocab_size, k).tolist() for k in lengths],
        "token_type_ids": [
            [0] * k if architecture == "roberta" else [0] * t + [1] * (k - t)
            for k, t in zip(lengths, types or lengths, strict=True)
        ],
        "label": rng.normal(size=20).tolist()
        if kind == "regression"
        else rng.integers(0, 3, 20).tolist(),
    }
    index = rng.permutation(20)
    inputs, first, example, labels = packed_tensors(rows, index, lengths[index], classifier, "cpu")
    assert inputs["input_ids"].shape[0] < 20  # rows shared by several examples
    pad_id = classifier.config.pad_token_id or 0
    padded, padded_labels = batch_tensors(rows, index, pad_id, "cpu", classifier)
    with torch.no_grad():
        expected = classifier(**padded, labels=padded_labels)
        logits = packed_logits(classifier, inputs, first, example)
        loss = classification_loss(classifier, logits, labels)
    assert torch.allclose(logits, expected.logits, atol=1e-5)
    assert loss.item() == pytest.approx(expected.loss.item(), rel=1e-5)


def test_grouped_epochs_are_permutations_of_the_subset():
    import numpy as np

    subset = np.arange(100, 300)
    lengths = np.random.default_rng(0).integers(3, 60, size=200)
    for grouped in (False, True):
        order = epoch_order(subset, lengths, batch_size=8, grouped=grouped, seed=4)
        assert sorted(order.tolist()) == subset.tolist()
        again = epoch_order(subset, lengths, batch_size=8, grouped=grouped, seed=4)
        assert order.tolist() == again.tolist()
    grouped = epoch_order(subset, lengths, batch_size=8, grouped=True, seed=4)
    by_row = dict(zip(subset.tolist(), lengths.tolist(), strict=True))
    spread = [np.ptp([by_row[r] for r in grouped[i : i + 8]]) for i in range(0, 200, 8)]
    assert np.median(spread) < np.ptp(lengths) / 4  # a grouped batch's lengths are close


# ---- fine-tuning a tiny model


def _write(path, header, rows):
    path.write_text("\n".join(["\t".join(header)] + ["\t".join(map(str, r)) for r in rows]) + "\n")


@pytest.fixture(scope="module")
def tasks(tmp_path_factory, tiny_bert):
    """A pair task (do both sentences name the same first noun?) and a regression task."""
    root = tmp_path_factory.mktemp("tasks")
    texts = sentences(700, seed=5)
    pairs = []
    for i, (a, b) in enumerate(zip(texts[::2], texts[1::2], strict=True)):
        same = i % 2
        second = b if not same else " ".join([b.split()[0], *a.split()[1:3], *b.split()[3:]])
        pairs.append((int(a.split()[2] == second.split()[2]), a, second))
    _write(root / "pair-train.tsv", ["label", "s1", "s2"], pairs[:300])
    _write(root / "pair-dev.tsv", ["label", "s1", "s2"], pairs[300:])
    scores = [(len(t.split()) / 2, t) for t in texts]  # score: half the word count
    _write(root / "reg-train.tsv", ["score", "sentence"], scores[:600])
    _write(root / "reg-dev.tsv", ["score", "sentence"], scores[600:])
    specs = {
        "pair": spec(
            train="pair-train.tsv",
            dev="pair-dev.tsv",
            text=["s1", "s2"],
            label="label",
            metrics=["accuracy", "f1"],
        ),
        "reg": spec(
            train="reg-train.tsv",
            dev="reg-dev.tsv",
            text=["sentence"],
            label="score",
            type="regression",
        ),
    }
    out = {}
    for name, s in specs.items():
        out[name] = root / "prepared" / name
        prepare_task(s, root, tiny_bert, out[name], name=name, max_length=48)
    return out


def test_prepared_pair_task_has_segments(tasks, tiny_bert):
    import pyarrow.parquet as pq

    info = json.loads((tasks["pair"] / "task.json").read_text())
    assert info["pair"] and info["num_labels"] == 2 and info["train_rows"] == 300
    rows = pq.read_table(tasks["pair"] / "train.parquet").to_pydict()
    types = rows["token_type_ids"][0]
    assert types[0] == 0 and types[-1] == 1 and sorted(set(types)) == [0, 1]
    assert all(len(ids) <= 48 for ids in rows["input_ids"])


def test_regression_task_learns_and_reports_correlations(tasks, tiny_bert, tmp_path):
    out = tmp_path / "metrics.json"
    result = finetune(
        tiny_bert,
        tasks["reg"],
        out,
        n=None,
        seed=0,
        hparams=HPARAMS,
        provenance={"run": "r", "step": 0},
    )
    assert json.loads(out.read_text())["score"] == result["score"]
    # the metrics are those of the per-example predictions written beside them
    items = pd.read_parquet(tmp_path / "metrics.predictions.parquet")
    assert list(items.columns[:4]) == ["run", "step", "task", "seed"]
    assert len(items) == result["n_dev"] and items["item"].tolist() == list(range(len(items)))
    for metric, value in result["metrics"].items():
        assert score(metric, items["prediction"], items["label"]) == pytest.approx(value)
        assert score_along(metric, items["prediction"], items["label"]) == pytest.approx(value)
    assert result["metric"] == "pearson" and set(result["metrics"]) == {"pearson", "spearman"}
    # sentence length is plain to a transformer with position embeddings: learnt from most
    # seeds (a single tiny run is at the mercy of its dropout draws: seeds 0-5 reached
    # 0.80 0.96 0.74 0.70 0.67 0.92 packed and 0.74 0.97 0.86 0.33 0.78 0.89 as pieces)
    pearson = [result["metrics"]["pearson"]] + [
        finetune(
            tiny_bert, tasks["reg"], tmp_path / f"s{seed}.json", n=None, seed=seed, hparams=HPARAMS
        )["metrics"]["pearson"]
        for seed in (1, 2)
    ]
    assert sorted(pearson)[1] > 0.7, pearson
    assert result["n_train"] == 600 and len(result["curve"]) == result["steps"] == 3 * 38
    assert {"classifier.weight", "bert.pooler.dense.weight"} <= set(result["new_parameters"])


def test_pair_task_is_reproducible_and_subset_sized(tasks, tiny_bert, tmp_path):
    runs = [
        finetune(
            tiny_bert,
            tasks["pair"],
            tmp_path / f"{i}.json",
            n=100,
            seed=seed,
            hparams=HPARAMS._replace(epochs=1),
        )
        for i, seed in enumerate((3, 3, 4))
    ]
    assert runs[0]["n_train"] == 100 and set(runs[0]["metrics"]) == {"accuracy", "f1"}
    assert runs[0]["metrics"] == runs[1]["metrics"] and runs[0]["curve"] == runs[1]["curve"]
    assert runs[0]["curve"] != runs[2]["curve"]


def test_too_long_for_the_model_is_refused(tasks, tmp_path, tiny_tokenizer):
    from transformers import AutoTokenizer

    from embryo.models.families import model_spec, new_model

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer)
    short = tmp_path / "short"
    new_model("bert", model_spec("bert", DIMS), tokenizer, 16, seed=0, sop=False).save_pretrained(
        short
    )
    with pytest.raises(EmbryoError, match="lower finetuning.max_length"):
        finetune(short, tasks["pair"], tmp_path / "m.json", n=None, seed=0, hparams=HPARAMS)
    assert not (tmp_path / "m.json").exists()


def test_jsonl_tasks_read_by_field(tmp_path):
    (tmp_path / "t.jsonl").write_text(
        '{"q": "why?", "a": "because", "y": 1}\n\n{"q": "x", "y": 0}\n'
    )
    with pytest.raises(EmbryoError, match=r"t\.jsonl:3: missing field\(s\) \['a'\]"):
        read_split(tmp_path / "t.jsonl", spec(text=["q", "a"], label="y"))
    (tmp_path / "t.jsonl").write_text('{"q": "why?", "a": "because", "y": 1}\n')
    rows = read_split(tmp_path / "t.jsonl", spec(text=["q", "a"], label="y"))
    assert rows == {"line": [1], "text": [["why?"], ["because"]], "label": ["1"]}


def test_truncated_rows_are_counted(tmp_path, tiny_bert):
    rows = "label\tsentence\n0\tthe old cat sees the dog near the river\n1\tthe cat\n"
    (tmp_path / "train.tsv").write_text(rows)
    (tmp_path / "dev.tsv").write_text(rows)
    s = spec(text=["sentence"], label="label")
    info = prepare_task(s, tmp_path, tiny_bert, tmp_path / "short", name="t", max_length=6)
    assert (info["train_truncated"], info["dev_truncated"]) == (1, 1)
    info = prepare_task(s, tmp_path, tiny_bert, tmp_path / "long", name="t", max_length=64)
    assert info["train_truncated"] == 0


# ---- reinitialisation before fine-tuning, and task probing


def test_reinit_scheme_is_applied_and_recorded(tasks, tiny_bert, tmp_path):
    hp = HPARAMS._replace(epochs=1)

    def run(name, reinit):
        return finetune(
            tiny_bert,
            tasks["pair"],
            tmp_path / f"{name}.json",
            n=100,
            seed=0,
            hparams=hp,
            reinit=reinit,
        )

    none, kept_all, single = run("a", "none"), run("b", "progressive-k2"), run("c", "single-0")
    assert none["reinit_layers"] == [] and none["recipe"] is None and none["layers"] == 2
    assert kept_all["curve"] == none["curve"]  # K = L keeps every layer: the same job
    assert single["reinit_layers"] == [0] and single["recipe"]["init"] == "model"
    assert single["curve"] != none["curve"]
    with pytest.raises(EmbryoError, match="single-5"):
        run("d", "single-5")


def test_task_probe_separates_layers_of_synthetic_features():
    import numpy as np

    from embryo.transfer.task_probe import probe_layers

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    x = rng.normal(size=(400, 2, 8))
    x[:, 1, 0] += 3 * (2 * y - 1)  # layer 1 carries the label, layer 0 is noise
    info = {"type": "classification", "metrics": ["accuracy"]}
    scores = probe_layers(x[:300], y[:300], x[300:], y[300:], info)
    assert scores[1]["accuracy"] > 0.95 and 0.3 < scores[0]["accuracy"] < 0.7


def test_task_probe_job_writes_every_layer(tasks, tiny_bert, tmp_path):
    from embryo.transfer.task_probe import TaskProbeSettings, task_probe

    out = tmp_path / "probe"
    settings = TaskProbeSettings(pooling="mean", train_size=200, regularization=1.0, batch_size=64)
    records = task_probe(
        tiny_bert, tasks["reg"], out, settings=settings, provenance={"run": "r", "step": 0}
    )
    assert sorted(p.name for p in out.iterdir()) == ["layer-0.json", "layer-1.json", "layer-2.json"]
    assert [r["layer"] for r in records] == [0, 1, 2] and records[0]["n_train"] == 200
    assert records[0]["metric"] == "pearson" and records[0]["run"] == "r"
    # word count (the label) is visible in mean-pooled states through position embeddings
    assert max(r["score"] for r in records) > 0.5


def test_a_size_above_a_prepared_tasks_rows_names_its_config_keys(tmp_path):
    from embryo.data.tasks import check_size

    (tmp_path / "task.json").write_text(json.dumps({"train_rows": 8551}))
    assert check_size(tmp_path, 5000, "cola") == {"task": "cola", "n": 5000, "train_rows": 8551}
    with pytest.raises(
        EmbryoError,
        match=r"transferability\.train_sizes: 50000 training "
        r"examples asked for, but task cola has 8551 training rows",
    ):
        check_size(tmp_path, 50000, "cola", ["transferability.train_sizes"])


def test_packed_and_pieced_batches_make_the_whole_batchs_update(tasks, tiny_bert, tmp_path):
    """Without dropout, a batch computed packed, or in pieces of similar length, trains as
    the batch padded as one: the same losses step by step and the same predictions, up to
    rounding."""
    from transformers import AutoConfig, AutoModelForMaskedLM

    plain = tmp_path / "no-dropout"
    config = AutoConfig.from_pretrained(tiny_bert)
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    model = AutoModelForMaskedLM.from_pretrained(tiny_bert, config=config)
    model.save_pretrained(plain)
    (plain / "tokenizer.json").write_bytes((tiny_bert / "tokenizer.json").read_bytes())
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_bert / name).exists():
            (plain / name).write_bytes((tiny_bert / name).read_bytes())
    runs = {}
    for name, packing, pieces in (("whole", False, 1), ("pieces", False, 4), ("packed", True, 1)):
        hp = HPARAMS._replace(epochs=1, packing=packing, micro_batches=pieces, piece_overhead=0.0)
        runs[name] = finetune(
            plain, tasks["pair"], tmp_path / f"{name}.json", n=128, seed=0, hparams=hp
        )
    whole = [c["loss"] for c in runs["whole"]["curve"]]
    predicted = pd.read_parquet(tmp_path / "whole.predictions.parquet")["prediction"]
    for name in ("pieces", "packed"):
        assert [c["loss"] for c in runs[name]["curve"]] == pytest.approx(whole, rel=1e-4, abs=1e-5)
        other = pd.read_parquet(tmp_path / f"{name}.predictions.parquet")["prediction"]
        assert (other == predicted).mean() > 0.98
