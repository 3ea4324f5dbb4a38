"""Treebanks: CoNLL-U sentences with gold tags and trees, and their words' sub-word pieces.

Every word-level analysis (MLM accuracy by part of speech, features, probes) reads the
treebank through :func:`read_conllu` and maps words to pieces through
:func:`word_pieces`, so they all agree on what a word and its pieces are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from embryo.errors import EmbryoError


@dataclass(frozen=True)
class Sentence:
    """One treebank sentence: parallel lists over its (syntactic) words.

    ``heads`` are 0-based word indices, -1 for the root; multiword-token ranges and empty
    nodes are left out, as UD's basic tree is over syntactic words.
    """

    sent_id: str
    words: list[str]
    upos: list[str]
    xpos: list[str]
    heads: list[int]
    deprels: list[str]


def read_conllu(path, *, max_sentences: int | None = None) -> list[Sentence]:
    """Read a CoNLL-U file with the ``conllu`` package; EmbryoError naming file and line."""
    import conllu

    path = Path(path)
    if not path.is_file():
        raise EmbryoError(f"{path}: treebank file not found")
    sentences = []
    with path.open(encoding="utf-8-sig") as fh:
        try:
            for i, tokenlist in enumerate(conllu.parse_incr(fh)):
                if max_sentences is not None and i >= max_sentences:
                    break
                words = [t for t in tokenlist if isinstance(t["id"], int)]
                if not words:
                    continue
                index = {t["id"]: k for k, t in enumerate(words)}
                try:
                    heads = [-1 if t["head"] in (0, None) else index[t["head"]] for t in words]
                except KeyError as err:
                    raise EmbryoError(
                        f"{path}: sentence {tokenlist.metadata.get('sent_id', i + 1)}: head {err} is not a word"
                    ) from None
                sentences.append(
                    Sentence(
                        sent_id=tokenlist.metadata.get("sent_id", str(i + 1)),
                        words=[t["form"] for t in words],
                        upos=[t["upos"] for t in words],
                        xpos=[t["xpos"] or "_" for t in words],
                        heads=heads,
                        deprels=[(t["deprel"] or "_").split(":")[0] for t in words],
                    )
                )
        except conllu.exceptions.ParseException as err:
            raise EmbryoError(f"{path}: not valid CoNLL-U ({err})") from None
    if not sentences:
        raise EmbryoError(f"{path}: no sentence found, expected CoNLL-U")
    return sentences


def word_pieces(
    tokenizer, words: list[str], *, max_length: int
) -> tuple[list[int], list[tuple[int, int]]]:
    """Encode ``words`` as one sequence with special tokens; return (ids, piece span per word).

    Span ``(a, b)`` means pieces ``ids[a:b]`` spell word ``i``. The words from the first
    one that would pass ``max_length`` pieces on are dropped: their span is empty
    (``a == b``) and callers skip them. Each word is
    encoded on its own, with a leading space for every word but the first (as in running
    text), so spans are exact for unigram, WordPiece and byte-level BPE alike.
    """
    ids = [tokenizer.cls_token_id]
    spans = []
    for i, word in enumerate(words):
        text = word if i == 0 else " " + word
        pieces = tokenizer(text, add_special_tokens=False)["input_ids"]
        start = len(ids)
        if spans and spans[-1][0] == spans[-1][1] or start + len(pieces) + 1 > max_length:
            spans.append((start, start))
            continue
        ids.extend(pieces)
        spans.append((start, len(ids)))
    ids.append(tokenizer.sep_token_id)
    return ids, spans
