"""Treebanks: CoNLL-U sentences with gold tags and trees, and their words' sub-word pieces.

Every word-level analysis (MLM accuracy by part of speech, features, probes) reads the
treebank through :func:`read_conllu` and maps words to pieces through
:func:`word_pieces`, so they all agree on what a word and its pieces are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from embryo.runtime.errors import EmbryoError, where


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


class TreebankSplit(NamedTuple):
    """A treebank split a job reads: its CoNLL-U file and how many sentences (None = all)."""

    path: str
    max_sentences: int | None


COLUMNS = 10  # ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC


class _Lines:
    """A CoNLL-U file's lines for ``conllu.parse_incr``, each checked for its 10 columns,
    counting them so that an error can name its line."""

    def __init__(self, fh, path):
        self.fh, self.path, self.line = fh, path, 0

    def read(self, *args):  # parse_incr asks for a readable file
        raise NotImplementedError

    def __iter__(self):
        for line, text in enumerate(self.fh, 1):
            self.line = line
            row = text.rstrip("\r\n")
            if row.strip() and not row.startswith("#"):
                n = len(row.split("\t"))
                if n != COLUMNS:
                    raise EmbryoError(
                        f"{where(self.path, self.line)}: expected {COLUMNS} tab-separated "
                        f"CoNLL-U columns (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC), "
                        f"found {n}"
                    )
            yield text


def read_conllu(path, *, max_sentences: int | None = None) -> list[Sentence]:
    """Read a CoNLL-U file with the ``conllu`` package.

    Bad input is an EmbryoError naming the file and line: a token line without its 10
    tab-separated columns, a field ``conllu`` cannot parse, a head that names no word of
    its sentence, a word without UPOS tag.
    """
    import conllu

    path = Path(path)
    if not path.is_file():
        raise EmbryoError(f"{path}: treebank file not found")
    sentences = []
    with path.open(encoding="utf-8-sig") as fh:
        lines = _Lines(fh, path)
        start = 1
        try:
            for i, tokenlist in enumerate(conllu.parse_incr(lines)):
                if max_sentences is not None and i >= max_sentences:
                    break
                sent_id = tokenlist.metadata.get("sent_id", str(i + 1))
                at = f"{where(path, start)} (sentence {sent_id})"
                start = lines.line + 1
                words = [t for t in tokenlist if isinstance(t["id"], int)]
                if not words:
                    continue
                index = {t["id"]: k for k, t in enumerate(words)}
                heads = []
                for t in words:
                    if t["head"] not in (0, None) and t["head"] not in index:
                        raise EmbryoError(
                            f"{at}: word {t['id']} has head {t['head']}, which is not a word "
                            f"of the sentence (ids 1..{len(words)})"
                        )
                    heads.append(-1 if t["head"] in (0, None) else index[t["head"]])
                missing = [t["id"] for t in words if not t["upos"]]
                if missing:
                    raise EmbryoError(f"{at}: words {missing} have no UPOS tag")
                sentences.append(
                    Sentence(
                        sent_id=sent_id,
                        words=[t["form"] for t in words],
                        upos=[t["upos"] for t in words],
                        xpos=[t["xpos"] or "_" for t in words],
                        heads=heads,
                        deprels=[(t["deprel"] or "_").split(":")[0] for t in words],
                    )
                )
        except conllu.exceptions.ParseException as err:
            raise EmbryoError(
                f"{where(path, start)}: not valid CoNLL-U in the sentence of lines "
                f"{start}-{lines.line} ({err})"
            ) from None
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
