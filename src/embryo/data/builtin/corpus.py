"""The pretraining corpus: WikiText-like articles of grammar sentences that state the facts.

An article is a `= Title =` heading and paragraphs of several sentences, one paragraph per
line, tokens separated by spaces (as in the tokenized WikiText release). Every entity has
an article stating its facts (in varied phrasings, among sentences about the entity);
general articles are grammar text with an occasional fact stated in passing. Only true
facts are ever stated, so the corpus never contradicts the LAMA files.
"""

from __future__ import annotations

from embryo.data.builtin import world as w
from embryo.data.builtin.grammar import Grammar, Phrase, pronoun_tok

P_FACT_IN_PARAGRAPH = 0.35
SENTENCES_PER_PARAGRAPH = (3, 8)
PARAGRAPHS_PER_ARTICLE = (2, 5)


class _Writer:
    """Articles drawn from one random stream; counts the sentences written."""

    def __init__(self, rng, world: w.World):
        self.rng = rng
        self.world = world
        self.grammar = Grammar(rng, [p.name for p in world.people], [c.label for c in world.cities])
        self.sentences = 0

    def fact(self, fact: w.Fact) -> str:
        self.sentences += 1
        return " ".join(w.state(fact, self.rng.choice(w.PHRASINGS[fact.relation])))

    def filler(self, about: w.Entity | None = None) -> str:
        """A grammar sentence, about ``about`` (by name or pronoun) when given."""
        self.sentences += 1
        subject = None
        if about is not None and about.kind == "person":
            if self.rng.random() < 0.5:
                subject = self.grammar.person_name(about.name)
            else:
                entry = (
                    ("she", "her", "her", "Sing", 3, "Fem")
                    if about.gender == "female"
                    else ("he", "him", "his", "Sing", 3, "Masc")
                )
                subject = Phrase(pronoun_tok(entry, "Nom"), "Sing", 3)
        return self.grammar.sentence(subject).tokenized()

    def paragraph(self, facts=(), about=None, length=None) -> list[str]:
        lo, hi = SENTENCES_PER_PARAGRAPH
        n = max(length or self.rng.randint(lo, hi), len(facts))
        slots = sorted(self.rng.sample(range(n), len(facts)))
        out, facts = [], list(facts)
        for i in range(n):
            if slots and slots[0] == i:
                slots.pop(0)
                out.append(self.fact(facts.pop(0)))
            else:
                out.append(self.filler(about if self.rng.random() < 0.5 else None))
        return out

    def entity_article(self, entity: w.Entity) -> tuple[str, list[list[str]]]:
        """The entity's facts (and facts about it as an object), each stated at least once."""
        rng = self.rng
        facts = self.world.facts_mentioning(entity)
        rng.shuffle(facts)
        repeats = [f for f in facts if rng.random() < 0.5]
        chunks = [facts[i : i + 3] for i in range(0, len(facts), 3)] + [
            repeats[i : i + 3] for i in range(0, len(repeats), 3)
        ]
        about = entity if entity.kind == "person" else None
        paragraphs = [self.paragraph(chunk, about) for chunk in chunks if chunk]
        paragraphs.append(self.paragraph((), about))
        return entity.label, paragraphs

    def general_article(self, budget: int) -> tuple[str, list[list[str]]]:
        """Grammar text, a fact stated in passing now and then; at most ``budget`` sentences."""
        rng = self.rng
        title = " ".join(self._title())
        paragraphs = []
        for _ in range(rng.randint(*PARAGRAPHS_PER_ARTICLE)):
            if budget <= 0:
                break
            length = min(budget, rng.randint(*SENTENCES_PER_PARAGRAPH))
            facts = [rng.choice(self.world.facts)] if rng.random() < P_FACT_IN_PARAGRAPH else []
            paragraph = self.paragraph(facts[:length], None, length)
            budget -= len(paragraph)
            paragraphs.append(paragraph)
        return title, paragraphs

    def _title(self) -> list[str]:
        phrase = self.grammar.common_noun_phrase("Sing", modifiers=False, det="the")
        words = [t.form for t in phrase.head.left] + [phrase.head.form]
        return [word.capitalize() for word in words]


def wikitext(articles) -> str:
    """Articles in the tokenized WikiText layout (lines start with a space, blank lines between)."""
    lines = []
    for title, paragraphs in articles:
        lines += [" ", f" = {title} = ", " "]
        for paragraph in paragraphs:
            lines += [" " + " ".join(paragraph) + " ", " "]
    return "\n".join(lines) + "\n" if lines else ""


def build_corpus(rng, world: w.World, sentences: int, *, entity_articles: bool):
    """Articles with about ``sentences`` sentences; with ``entity_articles``, one per entity first."""
    writer = _Writer(rng, world)
    articles = []
    if entity_articles:
        for kind in ("person", "city", "country", "organisation"):
            for entity in world.entities[kind]:
                articles.append(writer.entity_article(entity))
    general = []
    while writer.sentences < sentences:
        general.append(writer.general_article(sentences - writer.sentences))
    # spread the entity articles among the general ones (order drawn from the stream)
    order = articles + general
    rng.shuffle(order)
    return order, writer.sentences
