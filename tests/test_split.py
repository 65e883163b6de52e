"""`thread: "auto"`: splitting by each platform's own counting rule, at the exact limits,
on the upstream conformance vectors (tests/data, see its README)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from octopost.platforms._text import clusters
from octopost.platforms.bluesky import BlueskyAdapter
from octopost.platforms.mastodon import MastodonAdapter
from octopost.platforms.threads import ThreadsAdapter
from octopost.platforms.twitter import TwitterAdapter
from octopost.shaping import split
from tests.fakes._lengths import x_weighted_length

DATA = Path(__file__).resolve().parent / "data"
X_CASES = [
    case
    for case in yaml.safe_load((DATA / "twitter-validate.yml").read_text("utf-8"))["tests"][
        "WeightedTweetsWithDiscountedEmojiCounterTest"  # config v3: the rule X applies now
    ]
]
MASTODON_CASES = [  # the cases about the text (a content warning is not split)
    c
    for c in json.loads((DATA / "mastodon-length.json").read_text("utf-8"))
    if c["text"] and not c["spoiler_text"]
]
BLUESKY_CASES = [
    c
    for c in json.loads((DATA / "bluesky-richtext.json").read_text("utf-8"))
    if c["group"] == "grapheme_length"
]


def _expected(case: dict[str, Any]) -> dict[str, Any]:
    raw = case["expected"]
    return raw if isinstance(raw, dict) else ast.literal_eval(raw)


def _words(text: str) -> list[str]:
    return text.split()


def _squeezed(pieces: list[str]) -> str:
    return "".join("".join(p.split()) for p in pieces)


@pytest.mark.parametrize("case", X_CASES, ids=lambda c: c["description"][:50])
def test_x_split_keeps_a_fitting_post_whole_and_splits_a_long_one(case: dict[str, Any]) -> None:
    text, length = case["text"], _expected(case)["weightedLength"]
    pieces = split(text, TwitterAdapter.measure, 280)
    if length <= 280:
        assert pieces == [text.strip()] or not text.strip()
        return
    assert len(pieces) > 1
    for piece in pieces:  # and by X's own count (the fake's, independent)
        assert TwitterAdapter.measure(piece) <= 280 or len(_words(piece)) == 1
        assert x_weighted_length(piece) <= 280
    assert _squeezed(pieces) == _squeezed([text])  # nothing lost


def test_x_split_at_exactly_280() -> None:
    # 23 per URL: 11 URLs and 11 spaces are 264, then 16 letters: 280 exactly
    base = " ".join(["https://example.com/a"] * 11) + " " + "a" * 16
    assert TwitterAdapter.measure(base) == 280
    assert split(base, TwitterAdapter.measure, 280) == [base]
    over = base + "b"
    pieces = split(over, TwitterAdapter.measure, 280)
    assert len(pieces) == 2 and all(TwitterAdapter.measure(p) <= 280 for p in pieces)
    assert all(
        w == "https://example.com/a" or "example" not in w for p in pieces for w in p.split()
    )


@pytest.mark.parametrize("case", MASTODON_CASES, ids=lambda c: c["name"][:50])
def test_mastodon_split_by_its_count_at_500(case: dict[str, Any]) -> None:
    text, counted = case["text"], case["derived_counted_length"]
    measure = MastodonAdapter.measure
    assert measure(text) == counted
    pieces = split(text, measure, case["max_chars"])
    if counted <= case["max_chars"]:
        assert pieces == [text.strip()]  # exactly at the limit stays one post
        return
    for piece in pieces:
        # a piece over the limit is one token that must not be cut (a URL, a mention)
        assert measure(piece) <= 500 or len(_words(piece)) == 1
    assert _squeezed(pieces) == _squeezed([text])
    # never inside a grapheme (a ZWJ family emoji stays whole)
    assert sum(len(clusters(p)) for p in pieces) >= len(clusters("".join(text.split())))


@pytest.mark.parametrize("case", BLUESKY_CASES, ids=lambda c: c["input"])
def test_bluesky_split_at_exactly_300_graphemes_never_inside_one(case: dict[str, Any]) -> None:
    unit, size = case["input"], int(case["expected"])
    measure = BlueskyAdapter.measure
    assert measure(unit) == size
    # words of `unit` separated by spaces: n*size + (n-1) graphemes
    n = (300 + 1) // (size + 1)
    text = " ".join([unit] * n)
    fill = 300 - measure(text)
    exact = text + " " + "x" * (fill - 1) if fill > 1 else text
    assert measure(exact) <= 300
    assert split(exact, measure, 300) == [exact]
    over = exact + " " + unit
    pieces = split(over, measure, 300)
    assert len(pieces) == 2 and all(measure(p) <= 300 for p in pieces)
    assert all(word == unit or set(word) == {"x"} for p in pieces for word in p.split())


def test_explicit_breaks_then_paragraphs_then_sentences() -> None:
    text = "Intro.\n---\nFirst paragraph. " + "Sentence two is here. " * 30 + "\n\nLast bit."
    pieces = split(text, ThreadsAdapter.measure, 500)
    assert pieces[0] == "Intro."  # the writer's `---` line, even though it all would fit
    assert pieces[-1] == "Last bit."  # a paragraph of its own
    assert all(p.endswith(".") for p in pieces)  # cut between sentences
    assert all(ThreadsAdapter.measure(p) <= 500 for p in pieces)


def test_links_mentions_and_hashtags_are_never_cut() -> None:
    words = ["@someone.bsky.social", "#hashtag", "https://example.com/a/long/path?q=1"] * 40
    text = " ".join(words)
    pieces = split(text, BlueskyAdapter.measure, 300)
    assert [w for p in pieces for w in p.split()] == words


def test_markers_are_counted_and_room_is_kept() -> None:
    text = " ".join(f"word{i}" for i in range(400))
    pieces = split(text, TwitterAdapter.measure, 280, marker=True)
    n = len(pieces)
    assert n >= 10  # two-digit markers: room kept for "10/12", not "1/9"
    for i, piece in enumerate(pieces):
        assert piece.endswith(f" {i + 1}/{n}") and TwitterAdapter.measure(piece) <= 280
    assert split("short", TwitterAdapter.measure, 280, marker=True) == ["short"]


def test_bluesky_pieces_fit_its_byte_limit_as_well_as_its_grapheme_limit() -> None:
    """Bluesky takes 300 graphemes and 3,000 bytes: 150 families of four (25 bytes each,
    one grapheme) and their spaces are 300 graphemes but 3,899 bytes."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    text = " ".join([family] * 400)
    by_graphemes = split(text, BlueskyAdapter.measure, 300)
    assert max(len(p.encode()) for p in by_graphemes) > 3000  # what the byte limit prevents
    limits = BlueskyAdapter.limits
    assert limits.max_bytes == 3000
    pieces = split(text, BlueskyAdapter.measure, limits.max_chars, max_bytes=limits.max_bytes)
    assert all(len(p.encode()) <= 3000 and BlueskyAdapter.measure(p) <= 300 for p in pieces)
    assert _words(" ".join(pieces)) == _words(text) and len(pieces) == 4
    marked = split(text, BlueskyAdapter.measure, 300, True, max_bytes=3000)
    assert all(len(p.encode()) <= 3000 for p in marked) and marked[-1].endswith(" 4/4")
