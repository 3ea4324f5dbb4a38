"""The built-in world: generated people, cities, countries, organisations and their facts.

Facts use LAMA T-REx relation ids. The corpus states each fact in one of several
`PHRASINGS`; LAMA queries use the `RELATIONS` templates (the real LAMA ones), which are
worded differently from every phrasing, so a cloze query tests knowledge, not string
matching. `find_statements` reads the facts back out of a text (for tests and checks).
Every object label is a single word.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from embryo.data.builtin import lexicon as lx


class Relation(NamedTuple):
    """A T-REx relation: entity kinds it links and its LAMA record (template, type, ...)."""

    subject: str
    object: str
    label: str
    template: str
    type: str
    description: str


RELATIONS = {
    "P19": Relation(
        "person",
        "city",
        "place of birth",
        "[X] was born in [Y] .",
        "N-1",
        "most specific known (e.g. city instead of country, or hospital instead of city) birth location of a person, animal or fictional character",
    ),
    "P20": Relation(
        "person",
        "city",
        "place of death",
        "[X] died in [Y] .",
        "N-1",
        "most specific known (e.g. city instead of country, or hospital instead of city) death location of a person, animal or fictional character",
    ),
    "P27": Relation(
        "person",
        "country",
        "country of citizenship",
        "[X] is [Y] citizen .",
        "N-M",
        "the object is a country that recognizes the subject as its citizen",
    ),
    "P103": Relation(
        "person",
        "language",
        "native language",
        "The native language of [X] is [Y] .",
        "N-1",
        "language or languages a person has learned from early childhood",
    ),
    "P1412": Relation(
        "person",
        "language",
        "languages spoken, written or signed",
        "[X] used to communicate in [Y] .",
        "N-M",
        "language(s) that a person speaks or writes, including the native language(s)",
    ),
    "P106": Relation(
        "person",
        "occupation",
        "occupation",
        "[X] is a [Y] by profession .",
        "N-M",
        'occupation of a person; see also "field of work" (Property:P101), "position held" (Property:P39)',
    ),
    "P108": Relation(
        "person",
        "organisation",
        "employer",
        "[X] works for [Y] .",
        "N-M",
        "person or organization for which the subject works or worked",
    ),
    "P17": Relation(
        "city",
        "country",
        "country",
        "[X] is located in [Y] .",
        "N-1",
        "sovereign state of this item; don't use on humans",
    ),
    "P36": Relation(
        "country",
        "city",
        "capital",
        "The capital of [X] is [Y] .",
        "1-1",
        "primary city of a country, state or other type of administrative territorial entity",
    ),
    "P1376": Relation(
        "city",
        "country",
        "capital of",
        "[X] is the capital of [Y] .",
        "1-1",
        "country, state, department, canton or other administrative division of which the municipality is the governmental seat",
    ),
    "P37": Relation(
        "country",
        "language",
        "official language",
        "The official language of [X] is [Y] .",
        "N-1",
        "language designated as official by this item",
    ),
    "P47": Relation(
        "country",
        "country",
        "shares border with",
        "[X] shares border with [Y] .",
        "N-M",
        "countries or administrative subdivisions, of equal level, that this item borders, either by land or water",
    ),
    "P159": Relation(
        "organisation",
        "city",
        "headquarters location",
        "The headquarter of [X] is in [Y] .",
        "N-1",
        'specific location where an organization\'s headquarters is or has been situated. Inverse property of "occupant" (P466).',
    ),
    "P740": Relation(
        "organisation",
        "city",
        "location of formation",
        "[X] was founded in [Y] .",
        "N-1",
        "location where a group or organization was formed",
    ),
}

# How the corpus states each relation; none is a LAMA template. [X] is the subject, [Y]
# the object; "a [Y]" becomes "an [Y]" before a vowel.
PHRASINGS = {
    "P19": ["[X] grew up in [Y] .", "[Y] is the birthplace of [X] .", "[X] is a native of [Y] ."],
    "P20": ["[X] passed away in [Y] .", "[X] spent [POSS] final years in [Y] ."],
    "P27": ["[X] holds a passport of [Y] .", "[X] is a national of [Y] ."],
    "P103": ["[X] grew up speaking [Y] .", "[Y] is the mother tongue of [X] ."],
    "P1412": ["[X] speaks [Y] .", "[X] is fluent in [Y] ."],
    "P106": ["[X] works as a [Y] .", "[X] earns a living as a [Y] .", "[X] trained as a [Y] ."],
    "P108": ["[X] is employed by [Y] .", "[Y] employs [X] .", "[X] joined the staff of [Y] ."],
    "P17": ["[X] is a city in [Y] .", "[X] lies in [Y] ."],
    "P36": ["[Y] is the seat of government of [X] .", "The government of [X] sits in [Y] ."],
    "P1376": ["[X] is the seat of government of [Y] .", "The government of [Y] sits in [X] ."],
    "P37": ["[Y] is the main language of [X] .", "People in [X] mostly speak [Y] ."],
    "P47": ["[X] borders [Y] .", "[X] and [Y] are neighbours ."],
    "P159": ["[X] has its main offices in [Y] .", "[X] is run from [Y] ."],
    "P740": ["[X] was established in [Y] .", "[X] was set up in [Y] ."],
}
SYMMETRIC = {"P47"}
INVERSES = {"P36": "P1376", "P1376": "P36"}

_ONSETS = "b d f g h k l m n p r s t v z br dr gr kr tr st th sh".split()
_VOWELS = "a e i o u a e o".split()
_CODAS = ["", "", "", "n", "l", "r", "s", "m", "nd", "rt", "st"]
_SUFFIXES = {
    "female": ["a", "ia", "ela", "ina", "ra"],
    "male": ["o", "an", "el", "or", "us"],
    "last": ["ov", "ard", "enko", "ell", "ez", "ani", "berg", "ton"],
    "city": ["ora", "ville", "dor", "mar", "enza", "holm", "ford", "ara"],
    "country": ["land", "ia", "onia", "istan", "ary"],
    "language": ["ish", "ese", "ic", "ian"],
    "organisation": ["ex", "corp", "ica", "tron", "ax", "ium"],
}


@dataclass
class Entity:
    uri: str
    label: str
    kind: str
    gender: str | None = None  # people only: "female" / "male"

    @property
    def name(self) -> tuple[str, str]:
        first, _, last = self.label.partition(" ")
        return first, last


@dataclass(frozen=True)
class Fact:
    relation: str
    subject: Entity
    object: Entity

    def key(self) -> tuple[str, str, str]:
        return self.relation, self.subject.label, self.object.label


@dataclass
class World:
    entities: dict[str, list[Entity]] = field(default_factory=dict)
    facts: list[Fact] = field(default_factory=list)

    def facts_about(self, entity: Entity) -> list[Fact]:
        return list(self._index[0].get(entity.uri, ()))

    def facts_mentioning(self, entity: Entity) -> list[Fact]:
        return [f for f in self.facts if f.subject is entity or f.object is entity]

    @cached_property
    def _index(self) -> tuple[dict[str, list[Fact]]]:
        by_subject: dict[str, list[Fact]] = {}
        for f in self.facts:
            by_subject.setdefault(f.subject.uri, []).append(f)
        return (by_subject,)

    @property
    def people(self) -> list[Entity]:
        return self.entities["person"]

    @property
    def cities(self) -> list[Entity]:
        return self.entities["city"]


class _Names:
    """Unique capitalised names from syllables, never a word of the lexicon."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set(lx.all_words())

    def stem(self, syllables: int) -> str:
        rng = self.rng
        return "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + (rng.choice(_CODAS) if i else "")
            for i in range(syllables)
        )

    def make(self, kind: str, stem: str | None = None) -> str:
        for _ in range(1000):
            base = stem or self.stem(self.rng.choice((1, 2, 2)))
            name = (base + self.rng.choice(_SUFFIXES[kind])).capitalize()
            if name.lower() not in self.used and 4 <= len(name) <= 12:
                self.used.add(name.lower())
                return name
            stem = None
        raise RuntimeError(f"cannot find a fresh {kind} name")  # pragma: no cover


def build_world(rng, sizes: dict) -> World:
    """Entities and facts, drawn from ``rng``; ``sizes`` gives the number of each kind."""
    names = _Names(rng)
    counter = iter(range(100_001, 10**9))

    def entity(kind, label, gender=None):
        return Entity(f"Q{next(counter)}", label, kind, gender)

    countries = [entity("country", names.make("country")) for _ in range(sizes["countries"])]
    languages = [
        entity(
            "language",
            names.make("language", countries[i].label.lower()[:4] if i < len(countries) else None),
        )
        for i in range(sizes["languages"])
    ]
    cities = [entity("city", names.make("city")) for _ in range(sizes["cities"])]
    orgs = [
        entity("organisation", names.make("organisation")) for _ in range(sizes["organisations"])
    ]
    occupations = [
        entity("occupation", w) for w in rng.sample(lx.OCCUPATIONS, sizes["occupations"])
    ]
    people = []
    labels = set()
    while len(people) < sizes["people"]:
        gender = rng.choice(("female", "male"))
        label = f"{names.make(gender)} {names.make('last')}"
        if label not in labels:
            labels.add(label)
            people.append(entity("person", label, gender))

    facts: list[Fact] = []

    def add(relation, subject, obj):
        facts.append(Fact(relation, subject, obj))

    # countries: a capital each (the first cities), an official language, borders on a ring
    country_of = {}
    official = {}
    for i, country in enumerate(countries):
        capital = cities[i]
        country_of[capital.uri] = country
        add("P36", country, capital)
        add("P1376", capital, country)
        official[country.uri] = languages[i] if i < len(languages) else rng.choice(languages)
        add("P37", country, official[country.uri])
    borders = set()
    if len(countries) > 1:
        for i in range(len(countries)):
            borders.add(frozenset((i, (i + 1) % len(countries))))
        for _ in range(len(countries) // 3):
            a, b = rng.sample(range(len(countries)), 2)
            borders.add(frozenset((a, b)))
    for i, country in enumerate(countries):
        for j in sorted(j for pair in borders if i in pair for j in pair if j != i):
            add("P47", country, countries[j])
    for city in cities[len(countries) :]:
        country_of[city.uri] = rng.choice(countries)
    for city in cities:
        add("P17", city, country_of[city.uri])
    for org in orgs:
        hq = rng.choice(cities)
        add("P159", org, hq)
        add("P740", org, hq if rng.random() < 0.6 else rng.choice(cities))
    for person in people:
        birth = rng.choice(cities)
        add("P19", person, birth)
        if rng.random() < 0.3:
            add("P20", person, rng.choice(cities))
        country = country_of[birth.uri] if rng.random() < 0.85 else rng.choice(countries)
        add("P27", person, country)
        native = official[country.uri]
        add("P103", person, native)
        add("P1412", person, native)
        if len(languages) > 1 and rng.random() < 0.4:
            add("P1412", person, rng.choice([lang for lang in languages if lang is not native]))
        add("P106", person, rng.choice(occupations))
        if orgs and rng.random() < 0.75:
            add("P108", person, rng.choice(orgs))
    kinds = {
        "person": people,
        "city": cities,
        "country": countries,
        "organisation": orgs,
        "occupation": occupations,
        "language": languages,
    }
    return World(kinds, facts)


def state(fact: Fact, phrasing: str) -> list[str]:
    """The tokens of ``fact`` stated with ``phrasing``."""
    poss = {"female": "her", "male": "his"}.get(fact.subject.gender or "", "its")
    words = []
    for word in phrasing.split():
        if word == "[X]":
            words.extend(fact.subject.label.split())
        elif word == "[Y]":
            words.extend(fact.object.label.split())
        elif word == "[POSS]":
            words.append(poss)
        else:
            words.append(word)
    for i in range(len(words) - 1):
        if words[i] == "a":
            words[i] = lx.article(words[i + 1])
    return words


def lama_records(world: World, rng) -> dict[str, list[dict]]:
    """LAMA T-REx records per relation (uuids drawn from ``rng``)."""
    out: dict[str, list[dict]] = {}
    for fact in world.facts:
        out.setdefault(fact.relation, []).append(
            {
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "sub_uri": fact.subject.uri,
                "sub_label": fact.subject.label,
                "predicate_id": fact.relation,
                "obj_uri": fact.object.uri,
                "obj_label": fact.object.label,
            }
        )
    return out


def relation_records(world: World) -> list[dict]:
    """relations.jsonl records for the relations that have facts."""
    present = {f.relation for f in world.facts}
    return [
        {
            "relation": r,
            "template": x.template,
            "label": x.label,
            "description": x.description,
            "type": x.type,
        }
        for r, x in RELATIONS.items()
        if r in present
    ]


def _phrasing_regex(phrasing: str, subjects: list[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(s) for s in sorted(subjects, key=len, reverse=True))
    parts = []
    for word in phrasing.split():
        if word == "[X]":
            parts.append(f"(?P<x>{alternatives})")
        elif word == "[Y]":
            parts.append(r"(?P<y>\S+)")
        elif word == "[POSS]":
            parts.append(r"\S+")
        elif word == "a":
            parts.append("an?")
        else:
            parts.append(re.escape(word))
    return re.compile(r"(?<!\S)" + " ".join(parts) + r"(?!\S)", re.IGNORECASE)


def find_statements(text: str, world: World) -> set[tuple[str, str, str]]:
    """Every (relation, subject, object) that ``text`` states with a corpus phrasing."""
    found = set()
    for relation, phrasings in PHRASINGS.items():
        kind = RELATIONS[relation].subject
        subjects = [e.label for e in world.entities[kind]]
        if not subjects:
            continue
        for phrasing in phrasings:
            for m in _phrasing_regex(phrasing, subjects).finditer(text):
                found.add((relation, m.group("x"), m.group("y")))
                if relation in INVERSES:
                    found.add((INVERSES[relation], m.group("y"), m.group("x")))
                if relation in SYMMETRIC or phrasing.startswith("[X] and [Y]"):
                    found.add((relation, m.group("y"), m.group("x")))
    return found
