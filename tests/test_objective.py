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
        ids, types, label = sentence_order(block, cls_id=CLS, sep_id=SEP, gen=generator(seed))
        row = ids[0].tolist()
        assert row[0] == CLS and row[-1] == SEP and len(row) == 8
        cut = row.index(SEP)
        a, b = row[1:cut], row[cut + 1 : -1]
        content = b + a if label.item() else a + b
        assert content == [10, 11, 12, 13, 14]  # the last content token (15) makes room for [SEP]
        assert types[0].tolist() == [0] * (cut + 1) + [1] * (7 - cut)
