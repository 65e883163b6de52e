"""X's length where its two libraries disagree: Octopost counts the larger, so X never refuses.

Vectors: tests/data/twitter-emoji.json, measured with npm `twitter-text` 3.1.0 (X's web
library) and with the Java library's emoji regex on the JDK (X's server library); see
`octopost/platforms/twitter/text.py` for the evidence, class by class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from octopost.platforms.base import Draft, ImageRef
from octopost.platforms.twitter import TwitterAdapter
from tests.fakes._lengths import x_blank, x_weighted_length
from tests.fakes.twitter import TOO_LONG, Fake
from tests.platforms.test_twitter import send

VECTORS = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "twitter-emoji.json").read_text("utf-8")
)
LIMITS = TwitterAdapter.limits


@pytest.mark.parametrize(
    "row",
    VECTORS["emoji"] + VECTORS["urls"],
    ids=lambda r: r["text"].encode("unicode_escape").decode()[:48],
)
def test_length_is_the_larger_of_the_two_libraries(row: dict[str, Any]) -> None:
    expected = max(row["web"], row["server"])
    assert TwitterAdapter.measure(row["text"]) == expected
    assert x_weighted_length(row["text"]) == expected  # the fake, counting on its own


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("\U0001f441\ufe0f\u200d\U0001f5e8", 5),  # minimally qualified: both libraries say 5
        ("\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1", 8),  # web 8, server 2
        ("\U0001f90f\U0001f3fb", 4),  # web 4, server 2
        ("\u267e\ufe0f", 4),  # neither joins the U+FE0F
        ("\u270c\ufe0f\U0001f3fb", 2),  # both: one emoji
        ("\U0001f426\u200d\U0001f525", 5),  # newer than Emoji 12.0: by its parts
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", 2),
        ("גמa.jp", 25),  # web links a.jp; the server's IDNA refuses the mixed label: 6
        ("例子.com", 25),  # the server links it; the web library finds no ASCII domain: 8
        ("x " + "שלום.com", 25),  # both: IDNA accepts it, no ASCII domain for the web one: 10
    ],
)
def test_the_classes_the_issue_lists(text: str, length: int) -> None:
    assert TwitterAdapter.measure(text) == length


def test_whitespace_only_text_is_no_text_as_the_server_library_trims() -> None:
    needs = ["X needs text, images or a video."]
    for blank in (" ", "\t\n", " \r\n "):
        assert TwitterAdapter.check(Draft(blank), LIMITS) == needs
        assert x_blank(blank)
    for text in ("\u3000", "\u00a0", "\u2003"):  # not trimmed by Java: text, weight 1 or 2
        assert TwitterAdapter.check(Draft(text), LIMITS) == []
        assert not x_blank(text)
    image = ImageRef("https://example.com/a.jpg")
    assert TwitterAdapter.check(Draft(" ", images=(image,)), LIMITS) == []
    for row in VECTORS["blank"]:
        assert x_blank(row["text"]) == row["server_blank"]


async def test_the_fake_refuses_what_x_would_count_over_280() -> None:
    async with Fake() as fake:
        token = fake.initial_access
        # 70 x infinity + U+FE0F is 280 (each is 4); one more letter is 281. Octopost's old
        # count (2 each: 140) would have sent both.
        status, _, _ = await send(
            fake, "POST", "/2/tweets", token=token, json={"text": "\u267e\ufe0f" * 70}
        )
        assert status == 201
        status, body, _ = await send(
            fake, "POST", "/2/tweets", token=token, json={"text": "\u267e\ufe0f" * 70 + "a"}
        )
        assert status == 400 and body["errors"][0]["message"] == TOO_LONG
        assert TwitterAdapter.check(Draft("\u267e\ufe0f" * 70 + "a"), LIMITS)
        status, _, _ = await send(fake, "POST", "/2/tweets", token=token, json={"text": "\t\n"})
        assert status == 400
        status, _, _ = await send(fake, "POST", "/2/tweets", token=token, json={"text": "\u3000"})
        assert status == 201
