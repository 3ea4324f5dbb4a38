"""World knowledge: LAMA cloze queries (Petroni et al. 2019, "Language Models as Knowledge Bases?").

A T-REx fact (subject, relation, object) becomes a cloze query by filling the relation's
template: ``[X]`` with the subject label and ``[Y]`` with the mask token ("Dante was born
in [MASK] ."). The model ranks its whole vocabulary (special tokens excluded, or not: ``rank_over``) at the mask;
a fact counts only if its object is a single token of that vocabulary. Measures, as in
LAMA and in Chiang, Huang & Lee (2020, §5 "World knowledge"): precision at 1 (the object
is the top-ranked token) and mean reciprocal rank, per relation, then macro-averaged over
relations, overall and per relation type (1-1, N-1, N-M).

Three choices are settings (``analyses.lama``), so that the measure can be LAMA's or the
Embryology code's (``Sec-5:Knowledge`` of d223302/albert-embryology):

- ``types``: the relation types scored; the Embryology code drops N-M;
- ``common_vocabulary``: score only the facts whose object is a single piece for *every*
  run compared (:func:`common_facts`), as LAMA scores every model on its common
  vocabulary, so that runs with different tokenizers answer the same questions; without
  it each run is scored on the objects of its own vocabulary, as the Embryology code does;
- ``spacing``: ``template`` keeps the template's spaces (LAMA: "in [MASK] ."), and
  ``embryology`` builds the query as the Embryology code does, each part around the mask
  encoded on its own and a final "." as the bare period piece right after the mask.
"""

from __future__ import annotations

from embryo.data.lama import TYPES
from embryo.models.loading import max_positions
from embryo.runtime.errors import EmbryoError

COLUMNS = [
    "relation",
    "label",
    "type",
    "facts",
    "skipped_multi_piece",
    "skipped_too_long",
    "skipped_not_common",
    "p_at_1",
    "mrr",
]
SUMMARY_COLUMNS = ["type", "relations", "p_at_1", "mrr"]
SPACINGS = ("template", "embryology")


def query(fact: dict, mask_token: str) -> str:
    """The cloze text of ``fact``: its template with [X] = subject and [Y] = ``mask_token``.

    Spaces are kept as in the template ("in [Y] ." -> "in [MASK] ."); tokenizers whose mask
    token strips the space before it (byte-level BPE, SentencePiece) then predict the
    object's word-initial piece, as in running text.
    """
    return fact["template"].replace("[X]", fact["sub_label"]).replace("[Y]", mask_token)


def query_ids(tokenizer, fact: dict, spacing: str = "template") -> list[int]:
    """The token ids of ``fact``'s cloze query, special tokens included.

    ``template``: the tokenized :func:`query`. ``embryology``: as ``convert`` in
    ``Sec-5:Knowledge/prepare_knowledge_data.py`` of d223302/albert-embryology: the
    template with [X] filled is split at [Y], each part stripped and encoded on its own,
    and a right part that is only "." becomes the last piece of encoding "." (the bare
    period, attached to the object), between the tokenizer's [CLS] and [SEP] (RoBERTa's
    <s> and </s>).
    """
    if spacing == "template":
        return tokenizer(query(fact, tokenizer.mask_token))["input_ids"]
    if spacing != "embryology":
        raise EmbryoError(f"LAMA spacing {spacing!r}: expected one of {SPACINGS}")
    left, right = fact["template"].replace("[X]", fact["sub_label"]).split("[Y]")

    def encode(text):
        return tokenizer(text.strip(), add_special_tokens=False)["input_ids"]

    tail = encode(".")[-1:] if right.strip() == "." else encode(right)
    return [
        tokenizer.cls_token_id,
        *encode(left),
        tokenizer.mask_token_id,
        *tail,
        tokenizer.sep_token_id,
    ]


def common_facts(tokenizers, facts) -> list[bool]:
    """For each fact, whether its object is a single piece (:func:`object_id`) of every
    tokenizer in ``tokenizers``: LAMA's common vocabulary, restricted to the runs compared."""
    return [all(object_id(t, f["obj_label"]) is not None for t in tokenizers) for f in facts]


def object_id(tokenizer, obj_label: str) -> int | None:
    """The vocabulary id of ``obj_label`` as a word in running text, or None if it is not a
    single non-special token (several pieces, or the unknown token). The tokenizer's own
    normaliser applies (lower-casing included)."""
    ids = tokenizer(" " + obj_label, add_special_tokens=False)["input_ids"]
    if len(ids) != 1 or ids[0] in set(tokenizer.all_special_ids):
        return None
    return ids[0]


def _logits(model, input_ids, selected):
    """Vocabulary logits at the ``selected`` positions (tests replace this function)."""
    from embryo.models.loading import masked_logits

    return masked_logits(model, input_ids, selected)[0]


RANK_OVER = ("words", "vocabulary")


def ranks(
    model,
    tokenizer,
    sequences,
    positions,
    targets,
    *,
    batch_size: int = 64,
    rank_over: str = "words",
) -> list[int]:
    """Rank (1 = best) of ``targets[i]`` at ``positions[i]`` of ``sequences[i]``, among the
    non-special tokens (``rank_over="words"``: a [SEP] or [MASK] is no answer) or the whole
    vocabulary (``"vocabulary"``: the Embryology code, ``Sec-5:Knowledge/knowledge_predict.py``
    L65, takes the argmax over every logit). A tie counts against the target: rank = 1 +
    the number of other candidates with a logit at least as high. Sequences are batched
    with others of the same length, so no padding is needed."""
    import torch
    from tqdm import tqdm

    device = next(model.parameters()).device
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
    from embryo.models.loading import same_length_batches

    batches = same_length_batches(range(len(sequences)), map(len, sequences), batch_size)
    out = [0] * len(sequences)
    for batch in tqdm(batches, desc="lama", mininterval=10, leave=False):
        input_ids = torch.tensor([sequences[i] for i in batch], device=device)
        selected = torch.zeros_like(input_ids, dtype=torch.bool)
        for row, i in enumerate(batch):
            selected[row, positions[i]] = True
        logits = _logits(model, input_ids, selected).float().cpu()
        if rank_over == "words":
            logits[:, special[special < logits.shape[1]]] = float("-inf")
        target = torch.tensor([targets[i] for i in batch])
        score = logits.gather(1, target[:, None])
        rank = (logits >= score).sum(1)  # counts the target itself
        for row, i in enumerate(batch):
            out[i] = int(rank[row])
    return out


ITEM_COLUMNS = ["item", "relation", "label", "type", "sub_label", "obj_label", "skipped", "rank"]


def fact_items(
    model,
    tokenizer,
    facts,
    *,
    batch_size: int = 64,
    spacing="template",
    common=None,
    rank_over: str = "words",
):
    """The rank of every fact's object (`ITEM_COLUMNS`), for an eval-mode model on its device.

    ``item`` numbers the facts in order; ``skipped`` is ``multi_piece`` (the object is not
    a single vocabulary token), ``not_common`` (it is, but not for every run compared:
    ``common``, from :func:`common_facts`), ``too_long`` (the query is beyond the model's
    positions) or empty, and ``rank`` (:func:`ranks`) is missing for a skipped fact.
    The query is built by :func:`query_ids` with ``spacing``; ``rank_over``: see :func:`ranks`.
    """
    import pandas as pd

    mask = tokenizer.mask_token
    if mask is None:
        raise EmbryoError(f"tokenizer {tokenizer.name_or_path!r} has no mask token")
    limit = max_positions(model)
    items, kept = [], []
    sequences, positions, targets = [], [], []
    for k, fact in enumerate(facts):
        item = {"item": k, **{c: fact[c] for c in ITEM_COLUMNS[1:6]}, "skipped": "", "rank": None}
        items.append(item)
        target = object_id(tokenizer, fact["obj_label"])
        if target is None:
            item["skipped"] = "multi_piece"
            continue
        if common is not None and not common[k]:
            item["skipped"] = "not_common"
            continue
        ids = query_ids(tokenizer, fact, spacing)
        if len(ids) > limit:
            item["skipped"] = "too_long"
            continue
        if ids.count(tokenizer.mask_token_id) != 1:
            raise EmbryoError(f"LAMA query {query(fact, mask)!r} should hold one mask token")
        kept.append(item)
        sequences.append(ids)
        positions.append(ids.index(tokenizer.mask_token_id))
        targets.append(target)
    for item, rank in zip(
        kept,
        ranks(
            model,
            tokenizer,
            sequences,
            positions,
            targets,
            batch_size=batch_size,
            rank_over=rank_over,
        ),
        strict=True,
    ):
        item["rank"] = rank
    table = pd.DataFrame(items, columns=ITEM_COLUMNS)
    table["rank"] = table["rank"].astype("Int64")
    return table


def summarise(items):
    """Per-relation rows (`COLUMNS`) from :func:`fact_items`, relations in order of appearance.

    ``facts`` scored, ``skipped_multi_piece``, ``skipped_too_long``, ``p_at_1`` = share of
    scored facts whose object ranks first, ``mrr`` = mean of 1/rank (Petroni et al.
    2019, §4); NaN when no fact of the relation was scored.
    """
    import pandas as pd

    rows = []
    for relation, group in items.groupby("relation", sort=False):
        rank = group["rank"].dropna().astype(float)
        rows.append(
            {
                "relation": relation,
                "label": group["label"].iloc[0],
                "type": group["type"].iloc[0],
                "facts": len(rank),
                "skipped_multi_piece": int((group["skipped"] == "multi_piece").sum()),
                "skipped_too_long": int((group["skipped"] == "too_long").sum()),
                "skipped_not_common": int((group["skipped"] == "not_common").sum()),
                "p_at_1": float((rank == 1).mean()) if len(rank) else float("nan"),
                "mrr": float((1 / rank).mean()) if len(rank) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def score_facts(model, tokenizer, facts, *, batch_size: int = 64):
    """Per-relation P@1 and MRR rows (`COLUMNS`): :func:`summarise` of :func:`fact_items`."""
    return summarise(fact_items(model, tokenizer, facts, batch_size=batch_size))


def lama_items(
    model_dir,
    facts,
    *,
    batch_size: int = 64,
    device=None,
    spacing="template",
    vocabularies=None,
    rank_over: str = "words",
):
    """:func:`fact_items` of the checkpoint ``model_dir`` on ``facts``
    (:func:`embryo.data.lama.load_lama`); with ``vocabularies`` (tokenizer directories of
    every run compared), only the facts of their common vocabulary are scored."""
    import torch
    from transformers import AutoTokenizer

    from embryo.models.loading import load_masked_lm

    if batch_size < 1:
        raise EmbryoError(f"lama_scores: batch_size should be >= 1, not {batch_size!r}")
    facts = list(facts)
    common = None
    if vocabularies is not None:
        common = common_facts([AutoTokenizer.from_pretrained(d) for d in vocabularies], facts)
    model, tokenizer = load_masked_lm(model_dir, device)
    with torch.no_grad():
        return fact_items(
            model,
            tokenizer,
            facts,
            batch_size=batch_size,
            spacing=spacing,
            common=common,
            rank_over=rank_over,
        )


def lama_scores(model_dir, facts, *, batch_size: int = 64, device=None):
    """P@1 and MRR per relation of the checkpoint ``model_dir`` on ``facts``.

    One row per relation with `COLUMNS` (:func:`summarise` of :func:`lama_items`).
    """
    return summarise(lama_items(model_dir, facts, batch_size=batch_size, device=device))


def lama_summary(df):
    """LAMA's macro average: the mean over relations (with a scored fact) of P@1 and MRR,
    for type "all" and per relation type; columns `SUMMARY_COLUMNS`."""
    import pandas as pd

    scored = df[df["facts"] > 0]
    rows = []
    for kind in ("all", *TYPES):
        part = scored if kind == "all" else scored[scored["type"] == kind]
        if kind != "all" and part.empty:
            continue
        rows.append(
            {
                "type": kind,
                "relations": len(part),
                "p_at_1": part["p_at_1"].mean() if len(part) else float("nan"),
                "mrr": part["mrr"].mean() if len(part) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
