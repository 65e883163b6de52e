"""Bluesky as the reference PDS and the reference SDK behave: facets, blob limits, sessions, pages.

Facet vectors: tests/data/bluesky-facets.json, produced by running `@atproto/api` 0.21.0's
`detectFacets` (the SDK every Bluesky client uses); the fake is held to the reference PDS's
defaults (5 MiB uploads, 2,000,000-byte images, 1,000,000-byte thumbs, no `didDoc`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from octopost.platforms.base import Draft, ImageRef, VideoRef
from octopost.platforms.bluesky.text import detect, is_valid_did, is_valid_uri
from octopost.platforms.errors import AuthExpiredError, MediaError
from tests.fakes.media import JPEG, MediaServer, StreamedPage
from tests.platforms.test_bluesky import DID, bluesky, fake_of, post_record, raw

VECTORS = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "bluesky-facets.json").read_text("utf-8")
)
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
_KIND = {"link": "link", "mention": "mention", "tag": "tag", "cashtag": "tag"}


def facets_of(text: str) -> list[list[Any]]:
    return [[f.start, f.end, _KIND[f.kind], f.value] for f in detect(text)]


# -- facets as the SDK detects them ----------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: repr(c["text"][:40]))
def test_facets_match_the_reference_sdk(case: dict[str, Any]) -> None:
    assert facets_of(case["text"]) == case.get("expected", case["reference"])
    if "deviation" in case:  # each one is a value the lexicon (or its byte limit) refuses
        refused = [f for f in case["reference"] if f not in case["expected"]]
        assert refused, case
        for _, _, kind, value in refused:
            assert (
                (kind == "link" and not value.startswith(("http://", "https://")))
                or (kind == "link" and not is_valid_uri(value))
                or (kind == "tag" and len(value.encode()) > 640)
            ), case


def test_the_differences_the_issue_lists_now_follow_the_reference() -> None:
    assert facets_of("HTTPS://example.com and Https://a.org") == []  # matched, then dropped
    assert facets_of("see Example.COM") == []  # TLDs compare case-sensitively
    assert facets_of("@a.COM") == [] and facets_of("@a.xn--p1ai") == []  # no punycode TLDs
    assert facets_of("#⃣") == [[0, 4, "tag", "⃣"]]  # no extra exclusion for U+20E3
    both = "https://a.com/(@bob.test)"
    assert facets_of(both) == [
        [0, 25, "link", "https://a.com/(@bob.test)"],
        [15, 24, "mention", "bob.test"],
    ]  # overlapping facets are both kept
    linked = facets_of("a.goo b.helsinki c.juniper d.wolterskluwer e.web f.merck")
    assert [f[3] for f in linked] == [
        "https://a.goo",
        "https://b.helsinki",
        "https://c.juniper",
        "https://d.wolterskluwer",
    ]


def test_values_the_lexicon_refuses_are_never_emitted() -> None:
    for text in ("http:///", "http://.", "http://?", "HTTP://:", "http:///x"):
        assert [f for f in facets_of(text + " end") if f[2] == "link"] == [], text
    assert facets_of("httpbin.org/get") == [[0, 15, "link", "https://httpbin.org/get"]]
    assert facets_of("httpfoo.notatld") == []
    long_tag = "#" + SCOTLAND * 30  # 30 graphemes, 840 bytes: over the tag's maxLength
    assert facets_of(long_tag) == []
    assert not is_valid_did("did:plc:") and not is_valid_did("alice") and is_valid_did(DID)


async def test_a_post_with_odd_links_goes_out_with_the_valid_facets_only() -> None:
    text = "odd http:/// http://. http://? HTTP://: but https://ok.example.com/a works"
    async with bluesky() as r:
        await r.adapter.publish(Draft(text), r.job())
        facets = fake_of(r).posts[0]["facets"]
        assert [f["features"][0]["uri"] for f in facets] == ["https://ok.example.com/a"]


async def test_overlapping_facets_are_stored_as_the_pds_allows() -> None:
    text = "https://a.example.com/(@bob.bsky.social)"
    async with bluesky() as r:
        await r.adapter.publish(Draft(text), r.job())
        kinds = [f["features"][0]["$type"] for f in fake_of(r).posts[0]["facets"]]
        assert kinds == ["app.bsky.richtext.facet#link", "app.bsky.richtext.facet#mention"]


async def test_fake_refuses_facet_values_the_lexicon_refuses() -> None:
    async with bluesky() as r:
        fake, token = fake_of(r), r.account.credentials["accessJwt"]
        for feature, reason in (
            ({"$type": "app.bsky.richtext.facet#link", "uri": "http://"}, "must be a uri"),
            ({"$type": "app.bsky.richtext.facet#link", "uri": "http:///"}, "must be a uri"),
            ({"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:"}, "valid did"),
        ):
            facet = {"index": {"byteStart": 0, "byteEnd": 5}, "features": [feature]}
            record = post_record("Hello", facets=[facet])
            status, body = await raw(
                fake,
                "POST",
                "com.atproto.repo.createRecord",
                token=token,
                body={"repo": DID, "collection": "app.bsky.feed.post", "record": record},
            )
            assert status == 400 and reason in body["message"], feature


# -- language --------------------------------------------------------------------------------


async def test_language_goes_into_langs_and_the_fake_checks_bcp47() -> None:
    async with bluesky() as r:
        await r.adapter.publish(Draft("Olá", language="pt-BR"), r.job())
        assert fake_of(r).posts[0]["langs"] == ["pt-BR"]
        token = r.account.credentials["accessJwt"]
        for langs in (["en_US"], ["en-"], ["toolongtag"]):
            record = post_record(langs=langs)
            status, body = await raw(
                fake_of(r),
                "POST",
                "com.atproto.repo.createRecord",
                token=token,
                body={"repo": DID, "collection": "app.bsky.feed.post", "record": record},
            )
            assert status == 400 and "BCP 47" in body["message"], langs


# -- blobs: the lexicon's limits and the PDS's own -------------------------------------------


async def test_images_up_to_two_million_bytes_are_sent(media_server: MediaServer) -> None:
    media_server.FILES = {**MediaServer.FILES, "big.jpg": ("image/jpeg", JPEG + bytes(1_500_000))}
    async with bluesky() as r:
        await r.adapter.publish(
            Draft("Big", images=(ImageRef(media_server.at("big.jpg")),)), r.job()
        )
        assert fake_of(r).posts[0]["images"][0]["image"]["size"] == len(JPEG) + 1_500_000


async def test_the_servers_upload_cap_is_read_from_describe_server(
    media_server: MediaServer,
) -> None:
    media_server.FILES = {**MediaServer.FILES, "big.jpg": ("image/jpeg", JPEG + bytes(1_500_000))}
    async with bluesky() as r:
        fake = fake_of(r)
        fake.blob_limit = 1_200_000
        images = (ImageRef(media_server.at("image.jpg")), ImageRef(media_server.at("big.jpg")))
        with pytest.raises(MediaError, match=r"accepts uploads of at most 1,200,000 bytes"):
            await r.adapter.publish(Draft("x", images=images), r.job())
        assert len(fake.calls("GET", "/xrpc/com.atproto.server.describeServer")) == 1
        assert len(fake.calls("POST", "/xrpc/com.atproto.repo.uploadBlob")) == 1  # the small one
        assert fake.posts == []


async def test_a_card_thumb_over_a_million_bytes_is_left_out(media_server: MediaServer) -> None:
    page = b'<html><head><meta property="og:title" content="T"><meta property="og:image" content="/thumb-big.jpg"></head></html>'
    media_server.FILES = {
        **MediaServer.FILES,
        "thumb-big.jpg": ("image/jpeg", JPEG + bytes(1_200_000)),
    }
    media_server.stream("card.html", StreamedPage([page]))
    async with bluesky(settings={}) as r:
        await r.adapter.publish(Draft(media_server.at("card.html")), r.job())
        assert fake_of(r).posts[0]["external"] == {
            "uri": media_server.at("card.html"),
            "title": "T",
            "description": "",
        }
        token = r.account.credentials["accessJwt"]
        status, body = await raw(
            fake_of(r),
            "POST",
            "com.atproto.repo.uploadBlob",
            token=token,
            data=JPEG + bytes(1_200_000),
            headers={"Content-Type": "image/jpeg"},
        )
        assert status == 200
        external = {"uri": "https://e.com", "title": "", "description": "", "thumb": body["blob"]}
        record = post_record(embed={"$type": "app.bsky.embed.external", "external": external})
        status, body = await raw(
            fake_of(r),
            "POST",
            "com.atproto.repo.createRecord",
            token=token,
            body={"repo": DID, "collection": "app.bsky.feed.post", "record": record},
        )
        assert status == 400 and "max 1000000 bytes" in body["message"]


async def test_fake_has_the_reference_pds_defaults() -> None:
    async with bluesky(verify=False) as r:
        fake = fake_of(r)
        status, body = await raw(fake, "GET", "com.atproto.server.describeServer")
        assert status == 200 and body["blobUploadLimit"] == 5 * 1024 * 1024
        status, session = await raw(
            fake,
            "POST",
            "com.atproto.server.createSession",
            body={"identifier": fake.handle, "password": fake.app_password},
        )
        assert status == 200 and "didDoc" not in session
        status, body = await raw(
            fake,
            "POST",
            "com.atproto.repo.uploadBlob",
            token=session["accessJwt"],
            data=JPEG + bytes(5 * 1024 * 1024),
            headers={"Content-Type": "image/jpeg"},
        )
        assert (status, body["error"]) == (413, "PayloadTooLarge")


# -- sessions ---------------------------------------------------------------------------------


async def test_a_session_without_did_doc_still_posts_video(media_server: MediaServer) -> None:
    async with bluesky(verify=False) as r:
        fake = fake_of(r)
        await r.adapter.verify()
        assert "pdsEndpoint" not in r.saved[-1]  # nothing to read it from
        await r.adapter.publish(Draft("v", video=VideoRef(media_server.at("video.mp4"))), r.job())
        auths = fake.calls("GET", "/xrpc/com.atproto.server.getServiceAuth")
        assert auths[-1].query["aud"] == fake.service_did  # the service URL is the PDS
        assert fake.posts[0]["video"]["mimeType"] == "video/mp4"


async def test_a_deleted_app_password_asks_to_reconnect() -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        fake.revoke_app_password()
        fake.expire_access()
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("Hello"), r.job())
        assert "Invalid identifier or password" in info.value.message
        assert "reconnect your Bluesky account" in info.value.message
        status, body = await raw(
            fake,
            "POST",
            "com.atproto.server.createSession",
            body={"identifier": fake.handle, "password": fake.app_password},
        )
        assert (status, body["error"]) == (401, "AuthenticationRequired")
        assert fake.posts == []


# -- link cards from real-looking pages ------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "head"),
    [
        ("text/html", "<title>Café crème</title>".encode("latin-1")),  # no declaration at all
        ("text/html", b'<meta charset="iso-8859-1"><title>' + "Café crème".encode("latin-1")),
        ("text/html; charset=ISO-8859-1", "<title>Café crème</title>".encode("latin-1")),
    ],
)
async def test_a_latin1_page_makes_a_readable_card(
    media_server: MediaServer, content_type: str, head: bytes
) -> None:
    body = b"<html><head>" + head + (b"" if head.endswith(b">") else b"</title>") + b"</head>"
    media_server.stream("latin.html", StreamedPage([body[:20], body[20:]], content_type))
    async with bluesky(settings={}) as r:
        await r.adapter.publish(Draft(media_server.at("latin.html")), r.job())
        assert fake_of(r).posts[0]["external"]["title"] == "Café crème"
