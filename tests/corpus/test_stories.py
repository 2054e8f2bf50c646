"""Tests of the SYNTHETIC story generator."""

from __future__ import annotations

import re

import pytest

from idscaling.corpus.sources import stories as synthetic
from idscaling.corpus.sources.stories import (
    MAX_SENTENCES,
    MIN_SENTENCES,
    _split_sentences,
    generate_stories,
)


def test_module_is_labelled_synthetic() -> None:
    assert "SYNTHETIC" in (synthetic.__doc__ or "")


def test_same_seed_same_stories() -> None:
    assert generate_stories(50, seed=3) == generate_stories(50, seed=3)


def test_different_seeds_differ() -> None:
    a, b = generate_stories(50, seed=0), generate_stories(50, seed=1)
    assert a != b
    assert len(set(a) & set(b)) < 5


def test_prefix_stability_and_count() -> None:
    stories = generate_stories(30, seed=7)
    assert len(stories) == 30
    assert generate_stories(10, seed=7) == stories[:10]
    assert generate_stories(0, seed=7) == []


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_bad_count_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        generate_stories(bad, seed=0)  # type: ignore[arg-type]


def test_stories_are_simple_varied_and_complete() -> None:
    stories = generate_stories(500, seed=0)
    lengths = [len(_split_sentences(s)) for s in stories]
    assert min(lengths) >= MIN_SENTENCES and max(lengths) <= MAX_SENTENCES
    assert len(set(lengths)) >= 8  # lengths really vary
    assert len(set(stories)) == len(stories)
    first_words = {s.split()[0] for s in stories}
    assert len(first_words) >= 10
    for story in stories:
        assert "{" not in story and "}" not in story  # every slot filled
        assert story[0].isupper() and story.rstrip()[-1] in '.!?"'
        assert re.fullmatch(r"[A-Za-z ,.!?'\"]+", story), story


def test_mean_length_is_short() -> None:
    stories = generate_stories(200, seed=1)
    mean_chars = sum(map(len, stories)) / len(stories)
    assert 200 < mean_chars < 1000
