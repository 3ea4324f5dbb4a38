"""The built-in language's words: a few hundred English words with their forms and tags.

Each open class is listed in rough frequency order; `Pool` draws from a list with Zipf
weights (the first word the most frequent), so word frequencies are Zipf-like within a
class. Function-word classes have a handful of types that every phrase needs, content
classes hundreds of types, so (as in natural text) a function word is far more frequent
per type than a content word. Words that the corpus uses to state facts ("born",
"capital", "speaks", ...) are kept out of this lexicon so that the grammar never states a
fact by accident.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

VOWELS = "aeiou"


class Pool:
    """Items drawn with Zipf weights 1 / (rank + offset) ** exponent."""

    def __init__(self, items, exponent: float = 1.0, offset: float = 2.0):
        self.items = list(items)
        weights = [1.0 / (rank + offset) ** exponent for rank in range(len(self.items))]
        self.cum = list(itertools.accumulate(weights))

    def pick(self, rng):
        return rng.choices(self.items, cum_weights=self.cum)[0]

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Noun:
    lemma: str
    plural: str
    kind: str  # person, animal, thing, place, abstract


@dataclass(frozen=True)
class Verb:
    lemma: str
    third: str  # VBZ
    past: str  # VBD
    participle: str  # VBN
    gerund: str  # VBG
    transitive: bool
    polarity: int  # +1 positive, -1 negative, 0 neutral (for the sentiment task)


@dataclass(frozen=True)
class Adjective:
    lemma: str
    polarity: int


def _nouns(kind: str, text: str) -> list[Noun]:
    """``"man/men dog"``: a regular plural adds -s (-es after s, x, ch, sh; -ies after a consonant + y)."""
    out = []
    for entry in text.split():
        if "/" in entry:
            lemma, plural = entry.split("/")
        elif entry.endswith(("s", "x", "ch", "sh")):
            lemma, plural = entry, entry + "es"
        elif entry.endswith("y") and entry[-2] not in VOWELS:
            lemma, plural = entry, entry[:-1] + "ies"
        else:
            lemma, plural = entry, entry + "s"
        out.append(Noun(lemma, plural, kind))
    return out


PERSON_NOUNS = _nouns(
    "person",
    "man/men woman/women child/children friend teacher student doctor person/people boy girl "
    "mother father neighbour visitor stranger writer driver player worker leader guest actor "
    "director sister brother king queen soldier nurse farmer painter singer judge pilot artist "
    "author officer hunter merchant scientist baby fisherman/fishermen priest",
)
ANIMAL_NOUNS = _nouns(
    "animal",
    "dog cat horse bird cow fox rabbit wolf/wolves mouse/mice bear lion duck goat snake owl",
)
THING_NOUNS = _nouns(
    "thing",
    "book letter film story car house door window table picture song box boat key bag train "
    "chair phone cup bottle bus clock coin ring knife/knives apple stone tree flower "
    "leaf/leaves poem paper movie script plot scene ending camera map lamp basket hat coat shoe "
    "bridge tower wall",
)
PLACE_NOUNS = _nouns(
    "place",
    "river road park school garden village market station town forest lake hill field island "
    "church shop hospital museum library farm kitchen room office street mountain beach valley "
    "harbour castle",
)
ABSTRACT_NOUNS = _nouns(
    "abstract",
    "idea plan question answer problem reason game job meeting party war dream secret message "
    "gift lesson rule price journey voice music performance dialogue character cast night day "
    "year week morning evening winter summer",
)
NOUNS = PERSON_NOUNS + ANIMAL_NOUNS + THING_NOUNS + PLACE_NOUNS + ABSTRACT_NOUNS
ANIMATE_NOUNS = PERSON_NOUNS + ANIMAL_NOUNS
INANIMATE_NOUNS = THING_NOUNS + PLACE_NOUNS + ABSTRACT_NOUNS
REVIEW_NOUNS = [
    n
    for n in NOUNS
    if n.lemma
    in {
        "film",
        "movie",
        "story",
        "script",
        "plot",
        "scene",
        "ending",
        "music",
        "performance",
        "dialogue",
        "character",
        "cast",
        "camera",
    }
]
REVIEW_PEOPLE = [
    n for n in NOUNS if n.lemma in {"actor", "director", "writer", "author", "singer", "player"}
]

# Occupations of the world's people: single words, never grammar nouns (see world.py).
OCCUPATIONS = (
    "carpenter baker tailor sculptor chemist architect lawyer engineer poet sailor weaver "
    "potter mason jeweller astronomer historian botanist surgeon"
).split()


def _verbs(text: str) -> list[Verb]:
    """One verb a line: ``lemma VBZ VBD VBN VBG T|I polarity``."""
    out = []
    for line in text.strip().splitlines():
        lemma, third, past, participle, gerund, valency, polarity = line.split()
        out.append(Verb(lemma, third, past, participle, gerund, valency == "T", int(polarity)))
    return out


TRANSITIVE_VERBS = _verbs(
    """
    see sees saw seen seeing T 0
    find finds found found finding T 0
    like likes liked liked liking T 1
    visit visits visited visited visiting T 0
    help helps helped helped helping T 0
    follow follows followed followed following T 0
    watch watches watched watched watching T 0
    love loves loved loved loving T 1
    hate hates hated hated hating T -1
    know knows knew known knowing T 0
    carry carries carried carried carrying T 0
    build builds built built building T 0
    write writes wrote written writing T 0
    read reads read read reading T 0
    open opens opened opened opening T 0
    enjoy enjoys enjoyed enjoyed enjoying T 1
    hear hears heard heard hearing T 0
    meet meets met met meeting T 0
    bring brings brought brought bringing T 0
    hold holds held held holding T 0
    paint paints painted painted painting T 0
    buy buys bought bought buying T 0
    admire admires admired admired admiring T 1
    remember remembers remembered remembered remembering T 0
    call calls called called calling T 0
    catch catches caught caught catching T 0
    dislike dislikes disliked disliked disliking T -1
    keep keeps kept kept keeping T 0
    sell sells sold sold selling T 0
    take takes took taken taking T 0
    make makes made made making T 0
    teach teaches taught taught teaching T 0
    draw draws drew drawn drawing T 0
    praise praises praised praised praising T 1
    blame blames blamed blamed blaming T -1
    forget forgets forgot forgotten forgetting T 0
    fear fears feared feared fearing T -1
    protect protects protected protected protecting T 0
    describe describes described described describing T 0
    clean cleans cleaned cleaned cleaning T 0
    greet greets greeted greeted greeting T 0
    invite invites invited invited inviting T 0
    chase chases chased chased chasing T 0
    destroy destroys destroyed destroyed destroying T 0
    adore adores adored adored adoring T 1
    ignore ignores ignored ignored ignoring T -1
    mock mocks mocked mocked mocking T -1
    study studies studied studied studying T 0
    push pushes pushed pushed pushing T 0
    fix fixes fixed fixed fixing T 0
    """
)
INTRANSITIVE_VERBS = _verbs(
    """
    sleep sleeps slept slept sleeping I 0
    walk walks walked walked walking I 0
    arrive arrives arrived arrived arriving I 0
    laugh laughs laughed laughed laughing I 0
    smile smiles smiled smiled smiling I 1
    wait waits waited waited waiting I 0
    run runs ran run running I 0
    fall falls fell fallen falling I 0
    sit sits sat sat sitting I 0
    cry cries cried cried crying I 0
    swim swims swam swum swimming I 0
    dance dances danced danced dancing I 0
    travel travels travelled travelled travelling I 0
    jump jumps jumped jumped jumping I 0
    rest rests rested rested resting I 0
    shout shouts shouted shouted shouting I 0
    return returns returned returned returning I 0
    disappear disappears disappeared disappeared disappearing I 0
    succeed succeeds succeeded succeeded succeeding I 1
    fail fails failed failed failing I -1
    thrive thrives thrived thrived thriving I 1
    struggle struggles struggled struggled struggling I -1
    suffer suffers suffered suffered suffering I -1
    hurry hurries hurried hurried hurrying I 0
    complain complains complained complained complaining I -1
    sneeze sneezes sneezed sneezed sneezing I 0
    yawn yawns yawned yawned yawning I 0
    wander wanders wandered wandered wandering I 0
    """
)
VERBS = TRANSITIVE_VERBS + INTRANSITIVE_VERBS
# Verbs that cannot drop their object / cannot take one (for argument-structure errors).
STRICTLY_TRANSITIVE = set(
    "find like love hate dislike bring hold keep make describe greet invite protect destroy "
    "admire adore praise blame ignore mock carry fix chase".split()
)
STRICTLY_INTRANSITIVE = set(
    "sleep arrive laugh smile fall sneeze yawn disappear complain succeed struggle thrive "
    "sit wander".split()
)


def _adjectives(text: str) -> list[Adjective]:
    return [
        Adjective(w.rstrip("+-"), 1 if w.endswith("+") else -1 if w.endswith("-") else 0)
        for w in text.split()
    ]


ADJECTIVES = _adjectives(
    "old new good+ big small young bad- long little happy+ great+ dark strange beautiful+ "
    "quiet cold warm tall short red green white black blue bright heavy empty famous rich "
    "poor busy simple loud wonderful+ terrible- boring- funny+ clever+ awful- dull- lovely+ "
    "ugly- brilliant+ silly- charming+ tedious- delightful+ weak- superb+ clumsy- gentle+ "
    "stupid- kind+ cruel- fresh+ lazy- moving+ predictable-"
)
POSITIVE_ADJECTIVES = [a for a in ADJECTIVES if a.polarity > 0]
NEGATIVE_ADJECTIVES = [a for a in ADJECTIVES if a.polarity < 0]
NEUTRAL_ADJECTIVES = [a for a in ADJECTIVES if a.polarity == 0]

# Adverbs before the verb (frequency), after the verb or object (manner, time, place).
PRE_ADVERBS = "often always also still sometimes usually really suddenly finally".split()
POST_ADVERBS = (
    "again here there today quickly slowly yesterday now soon later together quietly carefully"
).split()
DEGREE_ADVERBS = "very quite too so".split()

# (form, Penn tag, UD features) of the determiners, most frequent first.
DETERMINERS = {
    "Sing": [
        ("the", "Definite=Def|PronType=Art"),
        ("a", "Definite=Ind|PronType=Art"),
        ("this", "Number=Sing|PronType=Dem"),
        ("that", "Number=Sing|PronType=Dem"),
        ("every", "PronType=Tot"),
        ("each", "PronType=Tot"),
        ("no", "PronType=Neg"),
    ],
    "Plur": [
        ("the", "Definite=Def|PronType=Art"),
        ("some", "PronType=Ind"),
        ("these", "Number=Plur|PronType=Dem"),
        ("those", "Number=Plur|PronType=Dem"),
        ("all", "PronType=Tot"),
        ("no", "PronType=Neg"),
    ],
}
DEMONSTRATIVES = {"Sing": ("this", "that"), "Plur": ("these", "those")}
DEMONSTRATIVE_FEATS = {
    "this": "Number=Sing|PronType=Dem",
    "that": "Number=Sing|PronType=Dem",
    "these": "Number=Plur|PronType=Dem",
    "those": "Number=Plur|PronType=Dem",
}

# Personal pronouns: nominative, accusative, possessive; number and person.
PRONOUNS = [
    ("he", "him", "his", "Sing", 3, "Masc"),
    ("she", "her", "her", "Sing", 3, "Fem"),
    ("they", "them", "their", "Plur", 3, None),
    ("it", "it", "its", "Sing", 3, "Neut"),
    ("we", "us", "our", "Plur", 1, None),
    ("i", "me", "my", "Sing", 1, None),
    ("you", "you", "your", "Sing", 2, None),
]

CLAUSE_PREPOSITIONS = (
    "in at near with from to into across behind under over through after during".split()
)
NOUN_PREPOSITIONS = "of with from near in behind".split()
COORDINATORS = "and but or".split()
SUBORDINATORS = "because when while although if after before".split()
MODALS = "will can would could should might must".split()
NUMBERS = "two three four five six seven eight ten twelve twenty".split()


def article(next_word: str) -> str:
    """ "a" or "an" before ``next_word``."""
    return "an" if next_word[:1].lower() in VOWELS else "a"


def all_words() -> set[str]:
    """Every lower-cased word form of the lexicon (to keep generated names apart from it)."""
    words = set()
    for n in NOUNS:
        words |= {n.lemma, n.plural}
    for v in VERBS:
        words |= {v.lemma, v.third, v.past, v.participle, v.gerund}
    words |= {a.lemma for a in ADJECTIVES}
    words |= set(PRE_ADVERBS + POST_ADVERBS + DEGREE_ADVERBS + OCCUPATIONS)
    words |= {f for dets in DETERMINERS.values() for f, _ in dets}
    words |= {f for p in PRONOUNS for f in p[:3]}
    words |= set(CLAUSE_PREPOSITIONS + NOUN_PREPOSITIONS + COORDINATORS + SUBORDINATORS)
    words |= set(MODALS + NUMBERS)
    return words
