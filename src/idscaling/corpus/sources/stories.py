"""SYNTHETIC children's stories ("TinyStories-like"), generated from a template grammar.

THIS TEXT IS SYNTHETIC. No TinyStories-like corpus of simple stories ships
offline on the project's machines, so this module is the honest stand-in: a
small, seeded template grammar that writes short stories in a child's
vocabulary. It is *not* TinyStories (which was written by GPT-3.5/GPT-4) and
must never be reported as such; its intrinsic dimension is bounded by the
grammar below, so it is expected to be lower than that of natural text.

A story has a main character (and a friend), a place, a favourite object, a
problem and its resolution. Each story part has a few sentence templates, and
optional middle sentences make stories vary between 5 and 15 sentences.
Generation is pure Python (``random.Random(seed)``) and fully deterministic
for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["MIN_SENTENCES", "MAX_SENTENCES", "generate_stories", "generate_story"]

MIN_SENTENCES = 5
MAX_SENTENCES = 15


@dataclass(frozen=True)
class _Character:
    name: str
    kind: str
    subj: str  # he / she
    obj: str  # him / her
    poss: str  # his / her


_NAMES_SHE = ["Lily", "Mia", "Sue", "Anna", "Lucy", "Emma", "Zoe", "Kate", "Rosa", "Amy", "Ella", "Nina"]
_NAMES_HE = ["Tom", "Ben", "Max", "Sam", "Tim", "Leo", "Jack", "Finn", "Ivan", "Noah", "Bob", "Jake"]
_KINDS = [
    "girl",
    "boy",
    "bunny",
    "puppy",
    "kitten",
    "bear",
    "duck",
    "frog",
    "mouse",
    "fox",
    "bird",
    "dragon",
    "robot",
    "pig",
    "owl",
    "turtle",
]
_HUMAN_KINDS = {"girl": "she", "boy": "he"}
_ADJ_CHAR = ["little", "happy", "curious", "shy", "brave", "kind", "small", "silly", "friendly", "sleepy"]
_PLACES = [
    "the park",
    "the big forest",
    "a small house",
    "the farm",
    "the beach",
    "the garden",
    "a quiet town",
    "the school",
    "the lake",
    "the hill",
    "the zoo",
    "the old barn",
]
_OBJECTS = [
    "red ball",
    "blue kite",
    "shiny rock",
    "toy car",
    "teddy bear",
    "yellow hat",
    "big box",
    "little boat",
    "green cup",
    "soft blanket",
    "pretty flower",
    "wooden spoon",
    "star sticker",
]
_FOODS = ["an apple", "a cookie", "some bread", "a banana", "a cake", "some soup", "a carrot", "some milk"]
_GOOD_FEELINGS = ["happy", "glad", "proud", "excited", "calm", "thankful"]
_BAD_FEELINGS = ["sad", "scared", "worried", "upset", "angry", "lonely"]
_WEATHER = ["sunny", "rainy", "windy", "cold", "warm", "cloudy", "snowy"]
_ACTIVITIES = ["play", "run", "jump", "sing", "dance", "draw", "read", "swim", "dig", "build"]
_TIMES = ["One day", "Once upon a time", "One morning", "One sunny day", "Long ago", "One evening"]

# A problem and the ways it can be solved; {o} is the object, {p} the place.
_PROBLEMS: list[tuple[str, list[str]]] = [
    (
        "{n} lost {poss} {o}. {S} looked everywhere, but {s} could not find it.",
        [
            "{f} helped {obj} look, and they found the {o} under a big leaf.",
            "{f} saw the {o} behind a tree and gave it back to {n}.",
            "At last, {n} found the {o} in {poss} own pocket and laughed.",
        ],
    ),
    (
        "The {o} got stuck up in a tall tree. {n} could not reach it.",
        [
            "{f} climbed up the tree and brought the {o} down.",
            "{n} and {f} shook the tree together, and the {o} fell down.",
            "A kind bird flew up and pushed the {o} down to {n}.",
        ],
    ),
    (
        "{f} took the {o} and did not want to share. {n} felt {bad}.",
        [
            '{n} said, "Let us play with it together." {f} smiled and said yes.',
            "{f} saw that {n} was {bad} and said sorry. Then {f} gave the {o} back.",
            "Mom told them that sharing is good. So they took turns with the {o}.",
        ],
    ),
    (
        "The {o} broke into two pieces. {n} began to cry.",
        [
            "Dad came with some glue and fixed the {o}. It was as good as new.",
            '{f} said, "Do not cry. We can fix it." Together they fixed the {o}.',
            "Grandma fixed the {o} with a needle and thread while {n} watched.",
        ],
    ),
    (
        "It started to rain, and {n} was far from home. {S} was {bad}.",
        [
            "{f} came with a big umbrella, and they walked home together.",
            "{n} found a dry cave and waited until the sun came out again.",
            "{n} ran home fast and Mom gave {obj} a warm towel.",
        ],
    ),
    (
        "{n} was hungry, but there was no food at {p}.",
        [
            "{f} shared {food} with {n}, and they ate it together.",
            "{n} found {food} in {poss} bag and shared it with {f}.",
            "They went home, and Mom made {food} for them.",
        ],
    ),
    (
        "{n} wanted to {act}, but {s} was too small.",
        [
            "{f} showed {obj} how to do it, one little step at a time.",
            "{n} tried again and again, and at last {s} could {act}.",
            '{f} said, "You can do it." And {n} did it.',
        ],
    ),
    (
        "{n} got lost in {p}. Everything looked big and strange.",
        [
            "{f} heard {n} call and showed {obj} the way home.",
            "{n} remembered the {o} by the door and found the way back.",
            "A friendly dog walked with {n} all the way home.",
        ],
    ),
]

_OPENINGS = [
    "{time}, there was a {adj} {kind} named {n}.",
    "{time}, a {adj} {kind} called {n} lived near {p}.",
    "There once was a {adj} {kind}. {Poss} name was {n}.",
    "{n} was a {adj} {kind} who loved {poss} {o}.",
]
_SETTINGS = [
    "{n} liked to {act} at {p} every day.",
    "It was a {weather} day at {p}.",
    "{n} had a {o}. It was {poss} favourite thing.",
    "{S} had a good friend named {f}.",
    "{n} went to {p} with {poss} {o}.",
]
_MIDDLE = [
    "The sun was bright and the sky was blue.",
    "{n} and {f} wanted to {act} together.",
    "They played all morning and had lots of fun.",
    "{n} saw a big {kind2} near the {o}.",
    "The birds were singing in the trees.",
    '{f} said, "Hello, {n}! What are you doing?"',
    '{n} said, "I want to {act} with my {o}."',
    "{S} felt {good} and a little bit silly.",
    "They ran to {p} as fast as they could.",
    "{n} had {food} and felt full and {good}.",
    "Then {n} took the {o} and looked at it for a long time.",
    '{f} laughed and said, "You are funny!"',
    "It was {weather}, but {n} did not mind.",
]
_AFTER = [
    "{n} felt {good} again.",
    '{n} hugged {f} and said, "Thank you!"',
    "They both smiled.",
    "{n} was not {bad} anymore.",
]
_ENDINGS = [
    "From that day on, {n} and {f} were best friends.",
    "{n} learned that friends help each other.",
    "They played with the {o} until the sun went down.",
    "That night, {n} went to bed with a big smile.",
    "{n} learned to always be careful with {poss} things.",
    "And they all lived happily ever after.",
    "It was the best day ever.",
]


def _character(rng: random.Random, avoid: str | None = None) -> _Character:
    kind = rng.choice(_KINDS)
    pronoun = _HUMAN_KINDS.get(kind) or rng.choice(["he", "she"])
    names = _NAMES_SHE if pronoun == "she" else _NAMES_HE
    name = rng.choice([x for x in names if x != avoid])
    if pronoun == "she":
        return _Character(name, kind, "she", "her", "her")
    return _Character(name, kind, "he", "him", "his")


def _fill(template: str, slots: dict[str, str]) -> str:
    text = template.format(**slots)
    return text[0].upper() + text[1:]


def generate_story(rng: random.Random) -> str:
    """One SYNTHETIC story of MIN_SENTENCES..MAX_SENTENCES sentences drawn with ``rng``."""
    hero = _character(rng)
    friend = _character(rng, avoid=hero.name)
    problem, resolutions = rng.choice(_PROBLEMS)
    slots = {
        "n": hero.name,
        "kind": hero.kind,
        "s": hero.subj,
        "S": hero.subj.capitalize(),
        "obj": hero.obj,
        "poss": hero.poss,
        "Poss": hero.poss.capitalize(),
        "f": friend.name,
        "kind2": rng.choice(_KINDS),
        "adj": rng.choice(_ADJ_CHAR),
        "p": rng.choice(_PLACES),
        "o": rng.choice(_OBJECTS),
        "food": rng.choice(_FOODS),
        "good": rng.choice(_GOOD_FEELINGS),
        "bad": rng.choice(_BAD_FEELINGS),
        "weather": rng.choice(_WEATHER),
        "act": rng.choice(_ACTIVITIES),
        "time": rng.choice(_TIMES),
    }
    opening = [_fill(rng.choice(_OPENINGS), slots)]
    settings = [_fill(t, slots) for t in rng.sample(_SETTINGS, rng.randint(1, 2))]
    trouble = [_fill(t, slots) for t in [problem] + rng.sample(resolutions, rng.randint(1, 2))]
    endings = [_fill(t, slots) for t in rng.sample(_ENDINGS, rng.randint(1, 2))]
    # The mandatory parts give 5..14 sentences; optional ones are added while the budget allows.
    used = sum(len(_split_sentences(x)) for x in opening + settings + trouble + endings)
    middle = _within_budget(rng.sample(_MIDDLE, rng.randint(0, 5)), slots, used)
    used += sum(len(_split_sentences(x)) for x in middle)
    after = _within_budget(rng.sample(_AFTER, rng.randint(0, 2)), slots, used)
    return " ".join(opening + settings + middle + trouble + after + endings)


def _within_budget(templates: list[str], slots: dict[str, str], used: int) -> list[str]:
    """Fill ``templates`` in order, keeping those that fit in MAX_SENTENCES given ``used`` sentences."""
    kept: list[str] = []
    for template in templates:
        sentence = _fill(template, slots)
        n_new = len(_split_sentences(sentence))
        if used + n_new <= MAX_SENTENCES:
            kept.append(sentence)
            used += n_new
    return kept


def _split_sentences(text: str) -> list[str]:
    """Split the generator's own output into sentences (ends: '.', '!', '?', optionally followed by a quote)."""
    out: list[str] = []
    start = 0
    i = 0
    while i < len(text):
        if text[i] in ".!?":
            j = i + 1
            if j < len(text) and text[j] == '"':
                j += 1
            if j == len(text) or text[j] == " ":
                out.append(text[start:j].strip())
                start = j
                i = j
                continue
        i += 1
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def generate_stories(n_documents: int, seed: int) -> list[str]:
    """Return ``n_documents`` SYNTHETIC stories; the same ``seed`` always gives the same list."""
    if isinstance(n_documents, bool) or not isinstance(n_documents, int) or n_documents < 0:
        raise ValueError(f"n_documents must be a non-negative int, got {n_documents!r}")
    rng = random.Random(seed)
    return [generate_story(rng) for _ in range(n_documents)]
