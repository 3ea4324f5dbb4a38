"""Dynamic masking and sentence order, on cases small enough to check by hand."""

from __future__ import annotations

import torch

from embryo.models.seeds import derive_seed, generator
from embryo.train.objective import mask_tokens, sentence_order

CLS, SEP, PAD, MASK, V = 1, 2, 0, 3, 50


def test_derive_seed_is_stable_and_distinct():
    assert derive_seed(0, 5, "data") == derive_seed(0, 5, "data")
    assert len({derive_seed(0, s, "data") for s in range(100)}) == 100
    assert 0 <= derive_seed("x") < 2**63


def test_masking_rates_and_specials():
    ids = torch.randint(10, V, (400, 128))
    ids[:, 0], ids[:, -1] = CLS, SEP
    inputs, labels = mask_tokens(
        ids,
        special_ids={CLS, SEP, PAD},
        mask_id=MASK,
        vocab_size=V,
        probability=0.15,
        gen=generator(0),
    )
    selected = labels != -100
    assert not selected[:, 0].any() and not selected[:, -1].any()
    assert torch.equal(labels[selected], ids[selected])
    rate = selected[:, 1:-1].float().mean().item()
    assert abs(rate - 0.15) < 0.005
    masked = (inputs == MASK) & selected
    kept = (inputs == ids) & selected
    assert abs(masked.sum().item() / selected.sum().item() - 0.8) < 0.01
    # kept = 10% kept on purpose + random draws that hit the original token (1/V of 10%)
    assert abs(kept.sum().item() / selected.sum().item() - (0.1 + 0.1 / V)) < 0.01
    assert torch.equal(inputs[~selected], ids[~selected])


def test_masking_is_a_function_of_the_seed():
    ids = torch.randint(10, V, (4, 16))
    a = mask_tokens(
        ids, special_ids={CLS}, mask_id=MASK, vocab_size=V, probability=0.5, gen=generator(1, 2)
    )
    b = mask_tokens(
        ids, special_ids={CLS}, mask_id=MASK, vocab_size=V, probability=0.5, gen=generator(1, 2)
    )
    c = mask_tokens(
        ids, special_ids={CLS}, mask_id=MASK, vocab_size=V, probability=0.5, gen=generator(1, 3)
    )
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[1], c[1])


def test_sentence_order_by_hand():
    block = torch.tensor([[CLS, 10, 11, 12, 13, 14, 15, SEP]])
    for seed in range(20):
        ids, types, label, attention = sentence_order(
            block, cls_id=CLS, sep_id=SEP, gen=generator(seed)
        )
        row = ids[0].tolist()
        assert row[0] == CLS and row[-1] == SEP and len(row) == 8 and attention.all()
        cut = row.index(SEP)
        a, b = row[1:cut], row[cut + 1 : -1]
        content = b + a if label.item() else a + b
        assert content == [10, 11, 12, 13, 14]  # the last content token (15) makes room for [SEP]
        assert types[0].tolist() == [0] * (cut + 1) + [1] * (7 - cut)


def test_sentence_order_pairs_stay_within_one_document():
    """ALBERT's A and B are consecutive segments of one document: in a block holding the
    end of one document (10 11) and the start of the next (20 .. 23), the pair is cut from
    one of the two, the rest padded and masked out of attention."""
    PAD = 0
    block = torch.tensor([[CLS, 10, 11, 20, 21, 22, 23, 24, SEP]])  # 24 makes room for [SEP]
    seen = set()
    for seed in range(40):
        ids, types, label, attention = sentence_order(
            block, cls_id=CLS, sep_id=SEP, gen=generator(seed), doc_starts=[[3]], pad_id=PAD
        )
        row = ids[0].tolist()
        used = int(attention[0].sum())
        assert row[used:] == [PAD] * (9 - used) and attention[0, :used].all()
        assert row[0] == CLS and row[used - 1] == SEP
        cut = row.index(SEP)
        a, b = row[1:cut], row[cut + 1 : used - 1]
        content = b + a if label.item() else a + b
        assert content in ([10, 11], [20, 21, 22, 23])  # never across the boundary
        assert types[0].tolist() == [0] * (cut + 1) + [1] * (used - cut - 1) + [0] * (9 - used)
        seen.add(tuple(content))
    assert len(seen) == 2  # both documents are drawn (by their share of the block)


def test_lamb_one_step_by_hand():
    """One LAMB step on a 2-vector weight and a bias, against ALBERT's formulas
    (google-research/albert lamb_optimizer.py) worked out by hand."""
    from embryo.train.lamb import Lamb

    w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))  # ||w|| = 5
    b = torch.nn.Parameter(torch.tensor([1.0]))
    w.grad, b.grad = torch.tensor([0.5, -1.0]), torch.tensor([2.0])
    opt = Lamb(
        [
            {"params": [w], "weight_decay": 0.1},
            {"params": [b], "weight_decay": 0.0, "adapt": False},
        ],
        lr=0.01,
        betas=(0.9, 0.99),
        eps=0.0,
    )
    opt.step()
    # m = 0.1 g, v = 0.01 g^2: m / sqrt(v) = sign(g), no bias correction
    # u = [1, -1] + 0.1 [3, 4] = [1.3, -0.6]; ||u|| = sqrt(1.69 + 0.36); r = 5 / ||u||
    u = torch.tensor([1.3, -0.6])
    r = 5.0 / u.norm()
    torch.testing.assert_close(w.detach(), torch.tensor([3.0, 4.0]) - 0.01 * r * u)
    torch.testing.assert_close(b.detach(), torch.tensor([1.0 - 0.01]))  # r = 1, no decay
    # the second step: m = 0.19 g, v = 0.0199 g^2 (same gradient), still no bias correction
    w.grad, b.grad = torch.tensor([0.5, -1.0]), torch.tensor([2.0])
    before = w.detach().clone()
    opt.step()
    u = 0.19 / 0.0199**0.5 * torch.tensor([1.0, -1.0]) + 0.1 * before
    torch.testing.assert_close(w.detach(), before - 0.01 * before.norm() / u.norm() * u)
    # a zero weight takes the unscaled step (r = 1)
    z = torch.nn.Parameter(torch.zeros(2))
    z.grad = torch.tensor([1.0, 1.0])
    Lamb([z], lr=0.1, betas=(0.9, 0.99), eps=0.0).step()  # m / sqrt(v) = 1
    torch.testing.assert_close(z.detach(), torch.tensor([-0.1, -0.1]))


def test_make_optimizer_lamb_groups():
    from transformers import BertConfig, BertForMaskedLM

    from embryo.train.lamb import Lamb
    from embryo.train.optimizer import Optimizer, make_optimizer

    model = BertForMaskedLM(
        BertConfig(
            vocab_size=50,
            hidden_size=8,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=16,
        )
    )
    opt = Optimizer("lamb", 1e-3, 0.01, 0.9, 0.999, 1e-6, 10, 100, 8, 1, 1.0, "no")
    lamb = make_optimizer(model, opt, fused=True)
    assert isinstance(lamb, Lamb)
    decayed, plain = lamb.param_groups
    assert decayed["adapt"] and decayed["weight_decay"] == 0.01
    assert not plain["adapt"] and plain["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(
        "LayerNorm" in names[id(p)] or names[id(p)].endswith("bias") for p in plain["params"]
    )
    adam = make_optimizer(model, opt._replace(name="adamw"))
    assert isinstance(adam, torch.optim.AdamW) and "adapt" not in adam.param_groups[1]


def test_whole_word_spans_by_hand():
    """Every piece of a word or none, never a special token, and at most the budget
    round(12 x 0.5) = 6 (met unless, as in ALBERT's code, every span left overlaps)."""
    from embryo.train.objective import mask_spans

    ids = torch.tensor([[CLS, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, SEP]] * 50)
    starts = torch.ones(V, dtype=torch.bool)
    starts[[11, 12]] = False  # 10 11 12 is one word
    _, labels = mask_spans(
        ids,
        special_ids={CLS, SEP},
        mask_id=MASK,
        vocab_size=V,
        probability=0.5,
        gen=generator(0, "t"),
        word_start=starts,
        max_ngram=3,
    )
    chosen = labels != -100
    assert (chosen.sum(1) <= 6).all() and (chosen.sum(1) == 6).float().mean() > 0.8
    assert not chosen[:, [0, 11]].any()
    assert (chosen[:, 1] == chosen[:, 2]).all() and (chosen[:, 2] == chosen[:, 3]).all()
    assert chosen[:, 1].any() and not chosen[:, 1].all()  # the word is sometimes chosen
    # a continuation right after a special token starts a word of its own
    ids = torch.tensor([[CLS, 11, 12, SEP, 11, 13, SEP]])
    _, labels = mask_spans(
        ids,
        special_ids={CLS, SEP},
        mask_id=MASK,
        vocab_size=V,
        probability=0.3,
        gen=generator(1, "t"),
        word_start=starts,
        max_predictions=2,
    )
    assert (labels != -100).sum() == 2 and (labels[0, [1, 2]] != -100).all() != (
        labels[0, 4] != -100
    )


def test_ngram_lengths_follow_one_over_n():
    """ALBERT's p(n) ∝ 1/n over n = 1..3: 6/11, 3/11, 2/11 of the spans at a low masking
    rate (few spans touch, and only the last span of a sequence is shortened)."""
    import collections

    from embryo.train.objective import mask_spans

    ids = torch.randint(10, V, (100, 4000))
    ids[:, 0], ids[:, -1] = CLS, SEP
    _, labels = mask_spans(
        ids,
        special_ids={CLS, SEP},
        mask_id=MASK,
        vocab_size=V,
        probability=0.01,
        gen=generator(0, "t"),
        max_ngram=3,
    )
    chosen = labels != -100
    assert (chosen.sum(1) <= 40).all() and chosen.sum() > 0.95 * 40 * 100
    runs = collections.Counter()
    for row in chosen.int().tolist():
        length = 0
        for x in [*row, 0]:
            if x:
                length += 1
            elif length:
                runs[length] += 1
                length = 0
    total = sum(runs.values())
    shares = [runs[n] / total for n in (1, 2, 3)]
    for share, expected in zip(shares, (6 / 11, 3 / 11, 2 / 11), strict=True):
        assert abs(share - expected) < 0.03, shares


def test_word_starts_wordpiece_and_unigram(tmp_path):
    from transformers import AutoTokenizer

    from embryo.data.tokenizer import train_tokenizer
    from embryo.train.objective import word_starts

    texts = ["the cat sat on the mat , unbelievably .", "dogs don't run"] * 50
    for algorithm in ("wordpiece", "unigram"):
        out = tmp_path / algorithm
        train_tokenizer(texts, out, algorithm=algorithm, vocab_size=60, lowercase=True)
        tok = AutoTokenizer.from_pretrained(out)
        starts = word_starts(tok)
        pieces = tok.convert_ids_to_tokens(tok("unbelievably")["input_ids"])
        ids = tok("unbelievably", add_special_tokens=False)["input_ids"]
        assert starts[ids[0]] and len(ids) > 1 and not starts[ids[1:]].any(), (algorithm, pieces)
        comma = tok.convert_tokens_to_ids("," if algorithm == "wordpiece" else "▁,")
        assert starts[comma]
