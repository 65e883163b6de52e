"""Bluesky adapter against its fake PDS: sessions, rich text, media flows, record keys.

The rich-text and length rules run every case of tests/data/bluesky-richtext.json (the
atproto tests' own vectors, loaded at test time). Not run: `entities_to_facets` converts the legacy `entities` field
(UTF-16 offsets) of old records; Octopost never reads records, it detects facets from text.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from octopost.platforms._files import parse_open_graph
from octopost.platforms._http import Response
from octopost.platforms._text import graphemes, utf8_length
from octopost.platforms.base import Account, Draft, ImageRef, Published, VideoRef
from octopost.platforms.bluesky import BlueskyAdapter
from octopost.platforms.bluesky.api import classify, new_tid, post_url
from octopost.platforms.bluesky.text import detect, string_problems, to_record_facets
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from tests.fakes.bluesky import Fake
from tests.fakes.media import JPEG, OG_TITLE, MediaServer
from tests.platforms.harness import Rig, rig

#: upstream vectors, copied with their provenance (tests/data/README.md)
CONFORMANCE = Path(__file__).resolve().parent.parent / "data" / "bluesky-richtext.json"
SEED_AUTH = "Token expired. Reconnect your Bluesky account."
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


@asynccontextmanager
async def bluesky(
    fake: Fake | None = None, *, verify: bool = True, settings: dict[str, Any] | None = None
) -> AsyncIterator[Rig]:
    fake = fake or Fake()
    async with fake, rig("bluesky", fake, verify=verify) as r:
        r.account.settings = dict({"link_card": False} if settings is None else settings)
        yield r


def fake_of(r: Rig) -> Fake:
    assert isinstance(r.fake, Fake)
    return r.fake


def adapter_of(r: Rig) -> BlueskyAdapter:
    assert isinstance(r.adapter, BlueskyAdapter)
    return r.adapter


async def raw(
    fake: Fake,
    method: str,
    nsid: str,
    *,
    token: str | None = None,
    params: dict[str, str] | None = None,
    body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """A hand-made XRPC request to the fake (to prove what it refuses)."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, f"{fake.url}/xrpc/{nsid}", params=params, json=body, data=data, headers=sent
        ) as resp,
    ):
        text = await resp.text()
        return resp.status, (json.loads(text) if text else None)


def post_record(text: str = "Hello", **changes: Any) -> dict[str, Any]:
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-01-05T12:00:00.000Z"}
    record.update(changes)
    return record


# -- sessions and identity ------------------------------------------------------------


async def test_verify_logs_in_once_and_keeps_the_session() -> None:
    async with bluesky(verify=False) as r:
        fake = fake_of(r)
        fake.send_did_doc = True  # a PDS that sends it: its service endpoint is kept
        identity = await r.adapter.verify()
        assert identity.username == "alice.bsky.social"
        assert identity.remote_id == DID
        assert identity.display_name == "Alice Example"
        assert identity.profile_url == "https://bsky.app/profile/alice.bsky.social"
        assert fake.logins == 1
        saved = r.saved[-1]
        assert saved["accessJwt"] in fake.access_tokens
        assert saved["refreshJwt"] in fake.refresh_tokens
        assert (saved["did"], saved["handle"], saved["pdsEndpoint"]) == (
            DID,
            "alice.bsky.social",
            fake.url,
        )
        assert saved["identifier"] == "alice.bsky.social"  # the user's fields are kept
        # verifying again uses the stored session (getSession), not another login
        await r.adapter.verify()
        assert fake.logins == 1
        assert fake.calls("GET", "/xrpc/com.atproto.server.getSession")


async def test_wrong_app_password_is_auth_expired_with_bluesky_message() -> None:
    async with bluesky(verify=False) as r:
        r.account.credentials = {**r.account.credentials, "app_password": "wrong-pass-word-abcd"}
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.verify()
        assert "Invalid identifier or password" in info.value.message
        assert "reconnect your Bluesky account" in info.value.message
        assert r.saved == []


async def test_missing_credential_fields_are_rejected() -> None:
    async with bluesky(verify=False) as r:
        r.account.credentials = {"identifier": "alice.bsky.social"}
        with pytest.raises(RejectedError, match="Invalid Bluesky credentials"):
            await r.adapter.verify()
        r.account.credentials = {"identifier": " ", "app_password": "x"}
        with pytest.raises(RejectedError, match="identifier and app_password"):
            await r.adapter.verify()


async def test_bad_settings_fail_the_connect() -> None:
    async with bluesky(verify=False) as r:
        r.account.settings = {"link_cards": True}
        with pytest.raises(RejectedError, match="Invalid Bluesky account settings"):
            await r.adapter.verify()


async def test_several_publishes_log_in_once_even_after_a_restart() -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        for n in range(3):
            await r.new_adapter().publish(Draft(f"Post {n}"), r.job(f"post_{n}"))
        # a restart: a new account handle built from the stored credentials
        restarted = Account(id=r.account.id, platform="bluesky", credentials=r.saved[-1])
        adapter = BlueskyAdapter(restarted, adapter_of(r).deps)
        await adapter.publish(Draft("After a restart"), r.job("post_restart"))
        assert fake.logins == 1
        assert len(fake.posts) == 4


async def test_expired_access_token_is_refreshed_once_and_the_rotation_stored() -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        old = dict(r.account.credentials)
        fake.expire_access()
        result = await r.adapter.publish(Draft("After expiry"), r.job())
        assert result.post_id.startswith(f"at://{DID}/app.bsky.feed.post/")
        assert fake.refreshes == 1 and fake.logins == 1
        new = r.saved[-1]
        assert new["refreshJwt"] != old["refreshJwt"]  # rotated and stored
        assert new["accessJwt"] != old["accessJwt"]
        assert r.account.credentials == new
        refresh_call = fake.calls("POST", "/xrpc/com.atproto.server.refreshSession")[0]
        assert refresh_call.headers["Authorization"] == f"Bearer {old['refreshJwt']}"


async def test_two_concurrent_publishes_refresh_once() -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        fake.expire_access()
        first, second = r.new_adapter(), r.new_adapter()
        results = await asyncio.gather(
            first.publish(Draft("One"), r.job("post_1")),
            second.publish(Draft("Two"), r.job("post_2")),
        )
        assert len({p.post_id for p in results}) == 2
        assert fake.refreshes == 1 and fake.logins == 1
        assert len(fake.posts) == 2


async def test_two_concurrent_first_publishes_log_in_once() -> None:
    async with bluesky(verify=False) as r:
        results = await asyncio.gather(
            r.new_adapter().publish(Draft("One"), r.job("post_1")),
            r.new_adapter().publish(Draft("Two"), r.job("post_2")),
        )
        assert len({p.post_id for p in results}) == 2
        assert fake_of(r).logins == 1 and len(r.saved) == 1


async def test_access_token_near_its_expiry_is_renewed_before_the_call() -> None:
    fake = Fake()
    fake.access_ttl = 30  # below the adapter's margin: renewed from the JWT's exp claim
    async with bluesky(fake) as r:
        await r.adapter.publish(Draft("Fresh token"), r.job())
        assert fake.refreshes >= 1
        assert len(fake.calls("POST", "/xrpc/com.atproto.repo.createRecord")) == 1


async def test_revoked_refresh_token_logs_in_again() -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        fake.expire_access()
        fake.revoke_refresh()
        await r.adapter.publish(Draft("After revocation"), r.job())
        assert fake.logins == 2 and fake.refreshes == 0
        assert len(fake.posts) == 1


async def test_still_expired_after_refresh_asks_to_reconnect() -> None:
    async with bluesky() as r:
        fake_of(r).fail_next("auth", count=2)
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("Nope"), r.job())
        assert info.value.message == SEED_AUTH
        assert fake_of(r).refreshes == 1


async def test_login_rate_limit_is_rate_limited() -> None:
    fake = Fake()
    fake.login_limit = 1
    async with bluesky(fake) as r:
        r.account.credentials = {"identifier": fake.handle, "app_password": fake.app_password}
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(Draft("Hello"), r.job())
        assert info.value.retry_after is not None and 250 <= info.value.retry_after <= 301


# -- text and rich text ---------------------------------------------------------------


async def test_text_post_with_facets_language_and_url() -> None:
    text = "Hi 👋 read example.com/a #octo by @bob.bsky.social and @nobody.example.com"
    async with bluesky() as r:
        fake = fake_of(r)
        job = r.job()
        result = await r.adapter.publish(Draft(text, language="en"), job)
        post = fake.posts[0]
        rkey = post["rkey"]
        assert result == Published(
            f"at://{DID}/app.bsky.feed.post/{rkey}",
            f"https://bsky.app/profile/alice.bsky.social/post/{rkey}",
            post["cid"],  # a reply to it needs the strong ref: uri + cid
        )
        assert job.state["rkey"] == rkey and job.state["uri"] == result.post_id
        assert post["text"] == text and post["langs"] == ["en"]
        assert post["record"]["createdAt"].endswith("Z")
        encoded = text.encode()
        spans = [
            (encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
            for f in post["facets"]
        ]
        assert spans == [
            (
                "example.com/a",
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/a"},
            ),
            ("#octo", {"$type": "app.bsky.richtext.facet#tag", "tag": "octo"}),
            (
                "@bob.bsky.social",
                {
                    "$type": "app.bsky.richtext.facet#mention",
                    "did": fake.handles["bob.bsky.social"],
                },
            ),
        ]  # @nobody.example.com does not resolve: plain text
        assert post["facets"][0]["index"] == {"byteStart": 13, "byteEnd": 26}
        resolved = fake.calls("GET", "/xrpc/com.atproto.identity.resolveHandle")
        assert [c.query["handle"] for c in resolved] == ["bob.bsky.social", "nobody.example.com"]


def _cases(group: str) -> list[dict[str, Any]]:
    cases = [c for c in json.loads(CONFORMANCE.read_text()) if c["group"] == group]
    assert cases, group
    return cases


def test_conformance_file_has_only_the_groups_we_know() -> None:
    groups = {c["group"] for c in json.loads(CONFORMANCE.read_text())}
    handled = {
        "detect_segments",
        "detect_tags",
        "detect_cashtags",
        "length",
        "grapheme_length",
        "lexicon_string_limits",
    }
    assert groups == handled | {"entities_to_facets"}  # see the module docstring


async def _fake_resolver(handle: str) -> str | None:
    return f"did:fake:{handle}"


def _segments(text: str, facets: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The SDK's `RichText.segments()`: text split at facets; `value` = uri or did."""
    data, out, at = text.encode(), [], 0
    for facet in facets:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        if start > at:
            out.append({"text": data[at:start].decode()})
        feature = facet["features"][0]
        if feature["$type"].endswith("#tag"):
            out.append({"text": data[start:end].decode()})
        else:
            value = feature.get("uri") or feature.get("did")
            out.append({"text": data[start:end].decode(), "value": value})
        at = end
    if at < len(data):
        out.append({"text": data[at:].decode()})
    merged: list[dict[str, str]] = []
    for seg in out:  # adjacent plain segments are one segment, as in the SDK
        if merged and "value" not in seg and "value" not in merged[-1]:
            merged[-1] = {"text": merged[-1]["text"] + seg["text"]}
        else:
            merged.append(seg)
    return merged


@pytest.mark.parametrize("case", _cases("detect_segments"), ids=lambda c: c["input"][:40])
async def test_conformance_detect_segments(case: dict[str, Any]) -> None:
    facets = await to_record_facets(detect(case["input"]), _fake_resolver)
    assert _segments(case["input"], facets) == case["expected"]
    derived = [
        {k: v for k, v in f.items() if k in ("byteStart", "byteEnd")}
        for f in case["derived_facets"]
    ]
    links_and_mentions = [
        f["index"] for f in facets if not f["features"][0]["$type"].endswith("#tag")
    ]
    assert links_and_mentions == derived


@pytest.mark.parametrize("case", _cases("detect_tags"), ids=lambda c: c["input"][:40])
def test_conformance_detect_tags(case: dict[str, Any]) -> None:
    facets = detect(case["input"])
    assert [f.value for f in facets if f.kind == "tag"] == case["expected"]["tags"]
    assert [{"byteStart": f.start, "byteEnd": f.end} for f in facets] == case["expected"]["indices"]


@pytest.mark.parametrize("case", _cases("detect_cashtags"), ids=lambda c: c["input"][:40])
def test_conformance_detect_cashtags(case: dict[str, Any]) -> None:
    cashtags = [f for f in detect(case["input"]) if f.kind == "cashtag"]
    assert [f.value for f in cashtags] == case["expected"]["tags"]
    assert [{"byteStart": f.start, "byteEnd": f.end} for f in cashtags] == case["expected"][
        "indices"
    ]


@pytest.mark.parametrize("case", _cases("length"), ids=lambda c: c["input"])
def test_conformance_length(case: dict[str, Any]) -> None:
    assert utf8_length(case["input"]) == case["expected"]["utf8_length"]
    assert graphemes(case["input"]) == case["expected"]["grapheme_length"]
    assert BlueskyAdapter.measure(case["input"]) == case["expected"]["grapheme_length"]


@pytest.mark.parametrize("case", _cases("grapheme_length"), ids=lambda c: c["input"])
def test_conformance_grapheme_length(case: dict[str, Any]) -> None:
    assert BlueskyAdapter.measure(case["input"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("lexicon_string_limits"), ids=lambda c: c["source"][-40:])
def test_conformance_lexicon_string_limits(case: dict[str, Any]) -> None:
    names = {
        "minLength": "min_length",
        "maxLength": "max_length",
        "minGraphemes": "min_graphemes",
        "maxGraphemes": "max_graphemes",
    }
    limits = {names[k]: v for k, v in case["constraint"].items()}
    problems = string_problems(case["input"], **limits)
    assert ("invalid" if problems else "valid") == case["expected"]


def test_check_enforces_graphemes_and_bytes() -> None:
    limits = BlueskyAdapter.limits
    family = "👨‍👩‍👧‍👧"  # one grapheme, 25 bytes
    assert BlueskyAdapter.check(Draft(family * 120), limits) == []  # 3,000 bytes exactly
    over_bytes = BlueskyAdapter.check(Draft(family * 121), limits)
    assert over_bytes == ["Content is 3025 bytes in UTF-8; Bluesky allows at most 3000."]
    assert BlueskyAdapter.measure(family * 121) == 121
    over = BlueskyAdapter.check(Draft("é" * 301), limits)
    assert over and "301 characters" in over[0]
    image = ImageRef("https://example.com/a.jpg")
    both = BlueskyAdapter.check(
        Draft("x", images=(image,), video=VideoRef("https://e.com/v.mp4")), limits
    )
    assert "images or one video, not both" in " ".join(both)
    assert "needs text" in " ".join(BlueskyAdapter.check(Draft("  "), limits))
    assert BlueskyAdapter.check(Draft("", images=(image,)), limits) == []
    assert "language tag" in " ".join(BlueskyAdapter.check(Draft("x", language="en_US!"), limits))
    assert BlueskyAdapter.check(Draft("x", language="pt-BR"), limits) == []


async def test_fake_refuses_text_over_the_limits() -> None:
    async with bluesky() as r:
        token = r.account.credentials["accessJwt"]
        for text, unit in (("a" * 301, "300 graphemes"), ("👨‍👩‍👧‍👧" * 121, "3000 characters")):
            status, body = await raw(
                fake_of(r),
                "POST",
                "com.atproto.repo.createRecord",
                token=token,
                body={"repo": DID, "collection": "app.bsky.feed.post", "record": post_record(text)},
            )
            assert status == 400 and body["error"] == "InvalidRequest"
            assert body["message"].endswith(f"Record/text must not be longer than {unit}")


# -- link cards -----------------------------------------------------------------------


async def test_link_card_from_open_graph(media_server: MediaServer) -> None:
    page = media_server.at("page.html")
    async with bluesky(settings={}) as r:
        await r.adapter.publish(Draft(f"Read {page} today"), r.job())
        external = fake_of(r).posts[0]["external"]
        assert external["uri"] == page
        assert external["title"] == OG_TITLE  # the tags come ~40 kB in, after 3 writes
        assert external["description"] == "A page with Open Graph tags."
        assert external["thumb"]["mimeType"] == "image/jpeg"
        assert external["thumb"]["size"] == len(JPEG)
        assert fake_of(r).posts[0]["facets"][0]["features"][0]["uri"] == page


async def test_failed_card_fetch_posts_without_a_card(media_server: MediaServer) -> None:
    async with bluesky(settings={}) as r:
        await r.adapter.publish(Draft(f"Gone: {media_server.at('missing.html')}"), r.job())
        post = fake_of(r).posts[0]
        assert post["external"] is None and "embed" not in post["record"]
        assert len(post["facets"]) == 1  # the link itself stays a link


async def test_card_without_its_image_when_the_image_fails(media_server: MediaServer) -> None:
    page = b'<html><head><meta property="og:title" content="T"><meta property="og:image" content="/nope.jpg"></head></html>'
    media_server.FILES = {**MediaServer.FILES, "noimage.html": ("text/html", page)}
    async with bluesky(settings={}) as r:
        await r.adapter.publish(Draft(media_server.at("noimage.html")), r.job())
        external = fake_of(r).posts[0]["external"]
        assert external == {"uri": media_server.at("noimage.html"), "title": "T", "description": ""}


async def test_link_card_can_be_turned_off(media_server: MediaServer) -> None:
    async with bluesky(settings={"link_card": False}) as r:
        await r.adapter.publish(Draft(media_server.at("page.html")), r.job())
        assert fake_of(r).posts[0]["external"] is None
        assert media_server.hits["page.html"] == 0


def test_open_graph_parser_reads_the_head_only() -> None:
    html = (
        "<html><head><title> Plain\n title </title>"
        "<meta name='description' content='desc'><meta property='og:title' content='A &amp; B'>"
        "</head><body><meta property='og:image' content='/late.jpg'></body></html>"
    )
    assert parse_open_graph(html) == {
        "title": "Plain title",
        "description": "desc",
        "og:title": "A & B",
    }


# -- images ---------------------------------------------------------------------------


async def test_images_with_alt_text_and_aspect_ratio(media_server: MediaServer) -> None:
    draft = Draft(
        "Two images",
        images=(
            ImageRef(media_server.at("image.jpg"), "A red square"),
            ImageRef(media_server.at("image.png")),
        ),
    )
    async with bluesky() as r:
        await r.adapter.publish(draft, r.job())
        images = fake_of(r).posts[0]["images"]
        assert [i["alt"] for i in images] == ["A red square", ""]
        assert [i["aspectRatio"] for i in images] == [
            {"width": 64, "height": 48},
            {"width": 32, "height": 32},
        ]
        assert [i["image"]["mimeType"] for i in images] == ["image/jpeg", "image/png"]
        uploads = fake_of(r).calls("POST", "/xrpc/com.atproto.repo.uploadBlob")
        assert [u.headers["Content-Type"] for u in uploads] == ["image/jpeg", "image/png"]
        assert uploads[0].body == JPEG


async def test_mislabelled_image_is_sent_with_its_real_type(media_server: MediaServer) -> None:
    media_server.FILES = {**MediaServer.FILES, "odd.jpg": ("image/jpg", JPEG)}
    async with bluesky() as r:
        await r.adapter.publish(Draft("x", images=(ImageRef(media_server.at("odd.jpg")),)), r.job())
        upload = fake_of(r).calls("POST", "/xrpc/com.atproto.repo.uploadBlob")[0]
        assert upload.headers["Content-Type"] == "image/jpeg"
        assert fake_of(r).posts[0]["images"][0]["image"]["mimeType"] == "image/jpeg"


async def test_image_over_two_million_bytes_is_a_media_error(media_server: MediaServer) -> None:
    media_server.FILES = {**MediaServer.FILES, "huge.jpg": ("image/jpeg", JPEG + bytes(2_000_000))}
    async with bluesky() as r:
        with pytest.raises(MediaError, match=r"2,000,000 bytes per image"):
            await r.adapter.publish(
                Draft("Big", images=(ImageRef(media_server.at("huge.jpg")),)), r.job()
            )
        assert fake_of(r).calls("POST", "/xrpc/com.atproto.repo.uploadBlob") == []
        assert fake_of(r).posts == []


async def test_non_image_is_a_media_error(media_server: MediaServer) -> None:
    async with bluesky() as r:
        with pytest.raises(MediaError, match="JPEG, PNG, WebP or GIF"):
            await r.adapter.publish(
                Draft("x", images=(ImageRef(media_server.at("page.html")),)), r.job()
            )


async def test_fake_checks_blobs_in_records() -> None:
    async with bluesky() as r:
        fake, token = fake_of(r), r.account.credentials["accessJwt"]
        status, body = await raw(
            fake,
            "POST",
            "com.atproto.repo.uploadBlob",
            token=token,
            data=JPEG + bytes(2_000_000),
            headers={"Content-Type": "image/jpeg"},
        )
        assert status == 200
        big = body["blob"]

        def images(blob: dict[str, Any]) -> dict[str, Any]:
            embed = {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": ""}]}
            return {
                "repo": DID,
                "collection": "app.bsky.feed.post",
                "record": post_record(embed=embed),
            }

        status, body = await raw(
            fake, "POST", "com.atproto.repo.createRecord", token=token, body=images(big)
        )
        assert (status, body["error"]) == (400, "InvalidRequest") and "too big" in body["message"]
        missing = {**big, "ref": {"$link": "bafkreiunknown"}, "size": 10}
        status, body = await raw(
            fake, "POST", "com.atproto.repo.createRecord", token=token, body=images(missing)
        )
        assert (status, body["error"]) == (400, "BlobNotFound")
        status, body = await raw(
            fake,
            "POST",
            "com.atproto.repo.uploadBlob",
            token=token,
            data=JPEG,
            headers={"Content-Type": ""},
        )
        assert status == 400 and "Content-Type" in body["message"]
        fake.blob_limit = 10
        status, body = await raw(
            fake,
            "POST",
            "com.atproto.repo.uploadBlob",
            token=token,
            data=JPEG,
            headers={"Content-Type": "image/jpeg"},
        )
        assert (status, body["error"]) == (413, "PayloadTooLarge")


async def test_blob_too_large_for_the_server_is_a_media_error(media_server: MediaServer) -> None:
    async with bluesky() as r:
        fake_of(r).blob_limit = 100
        fake_of(r).announce_blob_limit = False  # a server that does not say: its 413 tells
        with pytest.raises(MediaError, match="request entity too large"):
            await r.adapter.publish(
                Draft("x", images=(ImageRef(media_server.at("image.jpg")),)), r.job()
            )


# -- video ----------------------------------------------------------------------------


async def test_video_through_the_video_service(media_server: MediaServer) -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        fake.video_polls = 3
        job = r.job()
        await r.adapter.publish(Draft("A video", video=VideoRef(media_server.at("video.mp4"))), job)
        video = fake.posts[0]["video"]
        assert video["mimeType"] == "video/mp4" and video["$type"] == "blob"
        assert fake.posts[0]["record"]["embed"]["$type"] == "app.bsky.embed.video"
        auths = fake.calls("GET", "/xrpc/com.atproto.server.getServiceAuth")
        assert [(a.query["aud"], a.query["lxm"]) for a in auths] == [
            (fake.service_did, "app.bsky.video.getUploadLimits"),
            (fake.service_did, "com.atproto.repo.uploadBlob"),  # the account's PDS (didDoc)
        ]
        assert 1700 <= int(auths[1].query["exp"]) - int(fake.clock()) <= 1800
        upload = fake.calls("POST", "/xrpc/app.bsky.video.uploadVideo")[0]
        assert upload.query["did"] == DID and upload.query["name"].endswith(".mp4")
        assert upload.headers["Content-Type"] == "video/mp4"
        assert upload.headers["Authorization"] != f"Bearer {r.account.credentials['accessJwt']}"
        assert len(fake.calls("GET", "/xrpc/app.bsky.video.getJobStatus")) == 3
        assert job.state["video_blob"] == video


def _mp4(width: int, height: int, *, rotated: bool = False) -> bytes:
    """ftyp + moov(trak(tkhd) for an audio track, then for a video track) + mdat."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    def tkhd(w: int, h: int) -> bytes:
        matrix = (
            (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
            if rotated
            else (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
        )
        payload = bytes(4) + bytes(20) + bytes(8) + bytes(8) + struct.pack(">9i", *matrix)
        return box(b"tkhd", payload + struct.pack(">II", w << 16, h << 16))

    moov = box(b"moov", box(b"trak", tkhd(0, 0)) + box(b"trak", tkhd(width, height)))
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2")
    return ftyp + box(b"free", bytes(16)) + moov + box(b"mdat", bytes(4096))


@pytest.mark.parametrize("rotated", [False, True])
async def test_video_aspect_ratio_from_the_track_header(
    media_server: MediaServer, rotated: bool
) -> None:
    media_server.FILES = {
        **MediaServer.FILES,
        "tall.mp4": ("video/mp4", _mp4(1920, 1080, rotated=rotated)),
    }
    async with bluesky() as r:
        await r.adapter.publish(Draft("x", video=VideoRef(media_server.at("tall.mp4"))), r.job())
        embed = fake_of(r).posts[0]["record"]["embed"]
        expected = {"width": 1080, "height": 1920} if rotated else {"width": 1920, "height": 1080}
        assert embed["aspectRatio"] == expected


async def test_video_processing_failure_is_a_media_error(media_server: MediaServer) -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        fake.video_failure = "encoding_failure"
        job = r.job()
        with pytest.raises(
            MediaError, match="could not process the video: Video failed to process"
        ):
            await r.adapter.publish(Draft("x", video=VideoRef(media_server.at("video.mp4"))), job)
        assert fake.posts == [] and job.state.get("video_job") is None
        # the next attempt uploads again rather than polling a failed job
        fake.video_failure = None
        await r.adapter.publish(Draft("x", video=VideoRef(media_server.at("video.mp4"))), job)
        assert len(fake.calls("POST", "/xrpc/app.bsky.video.uploadVideo")) == 2
        assert len(fake.posts) == 1


async def test_video_is_not_uploaded_again_on_retry(media_server: MediaServer) -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        fake.fail_next("unavailable")
        job = r.job()
        draft = Draft("x", video=VideoRef(media_server.at("video.mp4")))
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        await r.new_adapter().publish(draft, r.job(attempt=2, state=dict(job.state)))
        assert len(fake.calls("POST", "/xrpc/app.bsky.video.uploadVideo")) == 1
        assert len(fake.posts) == 1


async def test_no_video_service_is_a_clear_media_error(media_server: MediaServer) -> None:
    async with bluesky() as r:
        fake_of(r).video_enabled = False
        with pytest.raises(MediaError, match="has no Bluesky video service"):
            await r.adapter.publish(
                Draft("x", video=VideoRef(media_server.at("video.mp4"))), r.job()
            )
        assert fake_of(r).posts == []


async def test_video_quota_is_a_media_error(media_server: MediaServer) -> None:
    async with bluesky() as r:
        fake_of(r).video_can_upload = False
        with pytest.raises(MediaError, match="daily upload limit"):
            await r.adapter.publish(
                Draft("x", video=VideoRef(media_server.at("video.mp4"))), r.job()
            )
        assert fake_of(r).calls("POST", "/xrpc/app.bsky.video.uploadVideo") == []


async def test_fake_video_service_checks_service_tokens() -> None:
    async with bluesky() as r:
        fake, token = fake_of(r), r.account.credentials["accessJwt"]
        status, body = await raw(
            fake,
            "POST",
            "app.bsky.video.uploadVideo",
            token=token,
            params={"did": DID, "name": "a.mp4"},
            data=b"x",
            headers={"Content-Type": "video/mp4"},
        )
        assert status == 401  # the session token is not a service token
        _, auth = await raw(
            fake,
            "GET",
            "com.atproto.server.getServiceAuth",
            token=token,
            params={"aud": "did:web:elsewhere.example", "lxm": "com.atproto.repo.uploadBlob"},
        )
        status, body = await raw(
            fake,
            "POST",
            "app.bsky.video.uploadVideo",
            token=auth["token"],
            params={"did": DID, "name": "a.mp4"},
            data=b"x",
            headers={"Content-Type": "video/mp4"},
        )
        assert status == 401 and "audience" in body["message"]
        status, body = await raw(
            fake,
            "GET",
            "com.atproto.server.getServiceAuth",
            token=token,
            params={"aud": fake.service_did, "exp": str(int(fake.clock()) + 7200)},
        )
        assert (status, body["error"]) == (400, "BadExpiration")


# -- record keys, lost answers, recovery ----------------------------------------------


async def test_lost_answer_is_found_by_its_record_key() -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        fake.fail_next("drop")
        job = r.job()
        result = await r.adapter.publish(Draft("Dropped"), job)
        assert len(fake.posts) == 1
        assert result.post_id == fake.posts[0]["uri"] and job.state["rkey"] == fake.posts[0]["rkey"]
        lookups = fake.calls("GET", "/xrpc/com.atproto.repo.getRecord")
        assert [c.query["rkey"] for c in lookups] == [job.state["rkey"]]


async def test_5xx_after_the_commit_is_found_by_its_record_key() -> None:
    async with bluesky() as r:
        fake_of(r).fail_next("upstream_after_commit")
        result = await r.adapter.publish(Draft("Committed"), r.job())
        assert result.post_id == fake_of(r).posts[0]["uri"]
        assert len(fake_of(r).posts) == 1


async def test_record_key_is_checkpointed_before_the_create() -> None:
    saved: list[dict[str, Any]] = []

    async def saver(state: dict[str, Any]) -> None:
        saved.append(dict(state))

    async with bluesky() as r:
        fake_of(r).fail_next("unavailable")
        job = r.job()
        job.saver = saver
        with pytest.raises(UnavailableError):
            await r.adapter.publish(Draft("x"), job)
        assert saved and saved[0]["rkey"] and saved[0]["created_at"]
        sent = json.loads(fake_of(r).calls("POST", "/xrpc/com.atproto.repo.createRecord")[0].body)
        assert sent["rkey"] == saved[0]["rkey"] and sent["repo"] == DID
        # the retry sends the same key and the same createdAt
        await r.adapter.publish(Draft("x"), job)
        again = json.loads(fake_of(r).calls("POST", "/xrpc/com.atproto.repo.createRecord")[1].body)
        assert again["rkey"] == sent["rkey"]
        assert again["record"]["createdAt"] == sent["record"]["createdAt"]
        assert len(fake_of(r).posts) == 1


async def test_recover_finds_the_post_or_says_resending_is_safe() -> None:
    async with bluesky() as r:
        fake = fake_of(r)
        assert await r.adapter.recover(Draft("x"), r.job()) is None  # no create went out
        tid = new_tid(fake.clock())
        job = r.job(state={"rkey": tid, "created_at": "2026-01-05T12:00:00.000Z"})
        assert await r.adapter.recover(Draft("x"), job) is None  # the PDS has no such record
        published = await r.adapter.publish(Draft("x"), job)
        assert published.post_id.endswith(f"/{tid}")
        found = await r.new_adapter().recover(Draft("x"), r.job(state={"rkey": tid}))
        assert found == published
        # a publish that resumes with a key that exists creates nothing more
        await r.new_adapter().publish(Draft("x"), r.job(state={"rkey": tid}))
        assert len(fake.posts) == 1
        assert len(fake.calls("POST", "/xrpc/com.atproto.repo.createRecord")) == 1


async def test_expiry_is_renewed_on_calls_that_accept_a_400() -> None:
    """getRecord takes a 400 (RecordNotFound) as an answer; an ExpiredToken 400 must still
    renew the session rather than pass as "not found"."""
    async with bluesky() as r:
        fake = fake_of(r)
        await r.adapter.publish(Draft("x"), r.job())
        rkey = fake.posts[0]["rkey"]
        fake.expire_access()
        found = await r.new_adapter().recover(Draft("x"), r.job(state={"rkey": rkey}))
        assert found is not None and found.post_id == fake.posts[0]["uri"]
        assert fake.refreshes == 1
        fake.expire_access()
        await r.new_adapter().publish(Draft("Hi @bob.bsky.social"), r.job("post_2"))
        assert fake.posts[1]["facets"][0]["features"][0]["did"] == fake.handles["bob.bsky.social"]
        assert fake.refreshes == 2


def test_post_url_falls_back_to_the_did_for_an_invalid_handle() -> None:
    uri = f"at://{DID}/app.bsky.feed.post/3lfqxyz2abc2k"
    assert post_url("handle.invalid", uri) == f"https://bsky.app/profile/{DID}/post/3lfqxyz2abc2k"
    assert post_url("alice.bsky.social", uri).endswith(
        "/profile/alice.bsky.social/post/3lfqxyz2abc2k"
    )


async def test_fake_refuses_a_second_record_under_one_key() -> None:
    async with bluesky() as r:
        fake, token = fake_of(r), r.account.credentials["accessJwt"]
        body = {
            "repo": DID,
            "collection": "app.bsky.feed.post",
            "rkey": new_tid(fake.clock()),
            "record": post_record(),
        }
        status, _ = await raw(fake, "POST", "com.atproto.repo.createRecord", token=token, body=body)
        assert status == 200
        status, answer = await raw(
            fake, "POST", "com.atproto.repo.createRecord", token=token, body=body
        )
        assert (status, answer["error"]) == (500, "InternalServerError")
        status, answer = await raw(
            fake,
            "POST",
            "com.atproto.repo.createRecord",
            token=token,
            body={**body, "rkey": "not-a-tid"},
        )
        assert status == 400 and "record key" in answer["message"]
        assert len(fake.posts) == 1


def test_tids_are_valid_and_sortable() -> None:
    first, second = new_tid(1_767_614_400.0), new_tid(1_767_614_400.5)
    assert len(first) == 13 and first[0] in "234567abcdefghij"
    assert set(first) <= set("234567abcdefghijklmnopqrstuvwxyz")
    assert first < second


# -- errors and the fake's strictness -------------------------------------------------


async def test_errors_carry_bluesky_reasons() -> None:
    async with bluesky() as r:
        fake_of(r).fail_next("reject")
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(Draft("x"), r.job())
        assert info.value.message == (
            "Bluesky rejected the post: Invalid app.bsky.feed.post record: "
            "Record/text must not be longer than 300 graphemes"
        )
        fake_of(r).fail_next("rate_limit", retry_after=60)
        with pytest.raises(RateLimitedError) as limited:
            await r.adapter.publish(Draft("x"), r.job("post_2"))
        assert limited.value.retry_after is not None and 55 <= limited.value.retry_after <= 61


def _response(status: int, body: dict[str, Any], url: str = "https://pds/xrpc/x.y.z") -> Response:
    return Response(status, {}, json.dumps(body).encode(), url)


def test_classify_xrpc_quirks() -> None:
    expired = classify(
        _response(400, {"error": "ExpiredToken", "message": "Token has expired"}), 0.0
    )
    assert isinstance(expired, AuthExpiredError) and expired.message == SEED_AUTH
    assert isinstance(classify(_response(400, {"error": "InvalidToken"}), 0.0), AuthExpiredError)
    assert isinstance(classify(_response(413, {"error": "PayloadTooLarge"}), 0.0), MediaError)
    assert isinstance(classify(_response(400, {"error": "BlobNotFound"}), 0.0), MediaError)
    taken = classify(
        _response(401, {"error": "AccountTakedown", "message": "Account has been taken down"}), 0.0
    )
    assert isinstance(taken, AuthExpiredError) and "taken down" in taken.message
    missing = classify(
        _response(501, {"error": "MethodNotImplemented"}, "https://pds/xrpc/a.b.c"), 0.0
    )
    assert isinstance(missing, RejectedError) and "does not implement a.b.c" in missing.message
    assert classify(_response(400, {"error": "InvalidRequest", "message": "bad"}), 0.0) is None
    assert classify(_response(502, {"error": "UpstreamFailure"}), 0.0) is None


async def test_fake_checks_tokens() -> None:
    async with bluesky() as r:
        fake, creds = fake_of(r), r.account.credentials
        status, body = await raw(fake, "GET", "com.atproto.server.getSession")
        assert (status, body["error"]) == (401, "AuthMissing")
        status, body = await raw(
            fake, "GET", "com.atproto.server.getSession", token=creds["refreshJwt"]
        )
        assert (status, body["error"], body["message"]) == (400, "InvalidToken", "Bad token scope")
        status, body = await raw(
            fake, "POST", "com.atproto.server.refreshSession", token=creds["accessJwt"]
        )
        assert (status, body["error"]) == (400, "InvalidToken")
        status, body = await raw(fake, "GET", "com.atproto.server.getSession", token="garbage")
        assert (status, body["error"]) == (400, "InvalidToken")
        fake.expire_access()
        status, body = await raw(
            fake, "GET", "com.atproto.server.getSession", token=creds["accessJwt"]
        )
        assert (status, body) == (400, {"error": "ExpiredToken", "message": "Token has expired"})


async def test_fake_rotates_refresh_tokens() -> None:
    async with bluesky() as r:
        fake, old = fake_of(r), r.account.credentials["refreshJwt"]
        fake.refresh_grace = 0
        status, body = await raw(fake, "POST", "com.atproto.server.refreshSession", token=old)
        assert status == 200 and body["refreshJwt"] != old
        fake.clock = lambda: 4_000_000_000.0  # past the grace period
        status, body = await raw(fake, "POST", "com.atproto.server.refreshSession", token=old)
        assert (status, body["error"], body["message"]) == (
            400,
            "ExpiredToken",
            "Token has been revoked",
        )


async def test_fake_validates_records() -> None:
    async with bluesky() as r:
        fake, token = fake_of(r), r.account.credentials["accessJwt"]

        async def create(**changes: Any) -> tuple[int, Any]:
            body = {"repo": DID, "collection": "app.bsky.feed.post", "record": post_record()}
            body.update(changes)
            return await raw(fake, "POST", "com.atproto.repo.createRecord", token=token, body=body)

        link = {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"}
        cases: list[tuple[dict[str, Any], str]] = [
            ({"repo": "did:plc:someoneelse"}, "Could not find repo"),
            ({"record": post_record(**{"$type": "app.bsky.feed.like"})}, "Invalid $type"),
            ({"record": {"$type": "app.bsky.feed.post", "text": "x"}}, "createdAt"),
            ({"record": post_record(langs=["en", "de", "fr", "es"])}, "langs"),
            (
                {
                    "record": post_record(
                        facets=[{"index": {"byteStart": 0, "byteEnd": 99}, "features": [link]}]
                    )
                },
                "outside the text",
            ),
            (
                {
                    "record": post_record(
                        "é", facets=[{"index": {"byteStart": 0, "byteEnd": 1}, "features": [link]}]
                    )
                },
                "splits a UTF-8",
            ),
            (
                {
                    "record": post_record(
                        facets=[
                            {
                                "index": {"byteStart": 0, "byteEnd": 2},
                                "features": [
                                    {"$type": "app.bsky.richtext.facet#mention", "did": "alice"}
                                ],
                            }
                        ]
                    )
                },
                "valid did",
            ),
            ({"collection": "app.bsky.feed.like"}, "fake: only"),
        ]
        for changes, reason in cases:
            status, body = await create(**changes)
            assert status == 400 and reason in body["message"], (changes, body)
        assert fake.posts == []
