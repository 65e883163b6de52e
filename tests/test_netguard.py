"""The one URL validator, the one address guard, and network errors told apart from refusals.

Nothing here leaves the machine: private addresses are refused before any packet
is sent, and DNS failures come from a resolver that fails every name.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from octopost import netguard
from octopost.media import Fetcher
from octopost.platforms.errors import MediaError, UnavailableError
from tests.helpers import Api, make_config, running_api
from tests.platform_env import connect, platform_env, started_fakes
from tests.server import free_port


class NoDns(AbstractResolver):
    """A resolver for a machine whose DNS is down: every name fails."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


BAD_URLS = [
    "http://[::1/a.png",  # unclosed IPv6 bracket
    "http://example.com:99999/a.png",  # port out of range
    "http://example.com:0/a.png",
    "http://example.com:port/a.png",
    "http://example.com/a.png\r\nX-Injected: 1",
    "http://example.com/a b.png",
    "http://exa mple.com/",
    "http://example.com/\x00",
    "ftp://example.com/a.png",
    "javascript:alert(1)",
    "http://",
    "example.com/a.png",
    "http://127.1/",  # resolver shorthands for 127.0.0.1
    "http://2130706433/",
    "http://[fe80::1%25eth0]/",
    "http://-bad-.example/",
    "",
]
GOOD_URLS = [
    "https://example.com/a.png?size=large#top",
    "http://example.com:8080/a.png",
    "http://[2001:db8::1]:8080/x",
    "https://bücher.example/a.png",
    "https://user:secret@hooks.example.com/x",
    "http://203.0.113.7/a.png",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_one_validator_refuses_what_is_not_an_http_url(url: str) -> None:
    assert netguard.url_problem(url) == netguard.URL_MESSAGE


@pytest.mark.parametrize("url", GOOD_URLS)
def test_the_one_validator_accepts_ordinary_urls(url: str) -> None:
    assert netguard.url_problem(url) is None


def test_long_urls_are_bounded() -> None:
    assert netguard.url_problem("https://example.com/" + "a" * 3000) == (
        f"must be at most {netguard.MAX_URL} characters"
    )


async def test_every_url_field_uses_the_one_message(api: Api) -> None:
    bad = "http://[::1/a.png"
    bodies = [
        ("media.images[0].url", {"images": [{"url": bad}]}),
        ("media.video.url", {"video": {"url": bad}}),
        (
            "media.video.thumbnail_url",
            {"video": {"url": "https://e.example/v.mp4", "thumbnail_url": bad}},
        ),
    ]
    for field, media in bodies:
        for path in ("/v1/posts", "/v1/posts/validate"):
            resp = await api.post(path, {"content": "x", "platforms": ["mastodon"], "media": media})
            assert resp.status_code == 422, (path, resp.text)
            details = resp.json()["error"]["details"]
            assert {"field": field, "message": netguard.URL_MESSAGE} in details
    for url in (bad, "http://hooks.example:99999/x", "https://hooks.example/\r\nx"):
        resp = await api.post("/v1/webhooks", {"url": url, "events": ["post.published"]})
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["details"] == [
            {"field": "url", "message": netguard.URL_MESSAGE}
        ]
    resp = await api.post(
        "/v1/accounts",
        {"platform": "mastodon", "credentials": {"instance_url": bad, "access_token": "t"}},
    )
    assert resp.status_code == 422 and netguard.URL_MESSAGE in resp.json()["error"]["message"]
    resp = await api.post(
        "/v1/accounts",
        {
            "platform": "bluesky",
            "credentials": {"identifier": "a.example", "app_password": "p", "pds_url": bad},
        },
    )
    assert resp.status_code == 422 and netguard.URL_MESSAGE in resp.json()["error"]["message"]


EMBEDDED_PRIVATE = [
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:10.0.0.1",  # IPv4-mapped
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215)
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
]


@pytest.mark.parametrize("address", [*EMBEDDED_PRIVATE, "::1", "fe80::1", "fc00::1", "127.0.0.1"])
def test_private_addresses_are_not_public_in_any_form(address: str) -> None:
    assert not netguard.is_public_address(address)


@pytest.mark.parametrize("address", ["2606:4700::1111", "64:ff9b::808:808", "8.8.8.8"])
def test_public_addresses_stay_public(address: str) -> None:
    assert netguard.is_public_address(address)


async def test_embedded_ipv4_forms_are_refused_for_webhooks_and_media(tmp_path: Path) -> None:
    config = make_config(tmp_path, OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS="false")
    async with running_api(config) as api:
        for address in EMBEDDED_PRIVATE:
            url = f"http://[{address}]/hook"
            resp = await api.post("/v1/webhooks", {"url": url, "events": ["post.published"]})
            assert resp.status_code == 422, (address, resp.text)
            assert "private" in resp.json()["error"]["details"][0]["message"]
    fetcher = Fetcher(allow_private=False, max_bytes=1000)
    try:
        for address in EMBEDDED_PRIVATE:
            with pytest.raises(MediaError, match="private"):
                await fetcher.download(f"http://[{address}]/a.png", tmp_path)
    finally:
        await fetcher.close()


async def test_dry_run_applies_the_publish_url_rules(tmp_path: Path) -> None:
    config = make_config(tmp_path, OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS="false")
    async with running_api(config) as api:
        _, sandbox = await api.services.keys.create("s", sandbox=True)
        body = {
            "content": "metadata, please",
            "platforms": ["twitter", "mastodon"],
            "media": {"images": [{"url": "http://169.254.169.254/latest/meta-data/a.png"}]},
        }
        report = (await api.post("/v1/posts/validate", body, key=sandbox)).json()
        assert report["valid"] is False
        for check in report["platforms"].values():
            assert any("169.254.169.254" in p and "private" in p for p in check["problems"])
        pid = (await api.post("/v1/posts", body, key=sandbox)).json()["id"]
        resp = await api.post(f"/v1/posts/{pid}/publish", key=sandbox)
        assert resp.status_code == 422 and "169.254.169.254" in resp.text


async def test_account_connect_never_calls_private_addresses(tmp_path: Path) -> None:
    """SSRF through connect: the user-supplied host is guarded; the configured one is not."""
    async with started_fakes("mastodon", "bluesky") as fakes:
        mastodon, bluesky = fakes["mastodon"], fakes["bluesky"]
        config = make_config(tmp_path, OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS="false")
        async with running_api(config) as api:
            closed = free_port()
            for instance in (
                mastodon.url,
                f"http://169.254.169.254:{closed}",
                "http://10.1.2.3",
                f"http://[::1]:{closed}",
                f"http://[::ffff:127.0.0.1]:{mastodon.url.rsplit(':', 1)[1]}",
                "http://localhost:1",
            ):
                resp = await api.post(
                    "/v1/accounts",
                    {
                        "platform": "mastodon",
                        "credentials": {"instance_url": instance, "access_token": mastodon.TOKEN},
                    },
                )
                assert resp.status_code == 422, (instance, resp.text)
                message = resp.json()["error"]["message"]
                assert "loopback, private or link-local" in message
                # Octopost's own guard refused, not Mastodon: no word on the credentials
                assert message.startswith("Mastodon account not connected: Refusing to connect")
                assert "allow_private_urls" in message and "credentials" not in message
            resp = await api.post(
                "/v1/accounts",
                {
                    "platform": "bluesky",
                    "credentials": {**bluesky.credentials(), "pds_url": bluesky.url},
                },
            )
            assert resp.status_code == 422 and "private" in resp.text
        assert mastodon.requests == [] and bluesky.requests == []

        # The operator's own endpoint (config, not user input) stays reachable.
        trusted = make_config(
            tmp_path / "trusted",
            OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS="false",
            **platform_env([mastodon]),
        )
        async with running_api(trusted) as api:
            account = await connect(api, mastodon)
            assert account["username"] == "alice"


async def test_connect_tells_unreachable_from_refused(tmp_path: Path) -> None:
    resolver = NoDns()
    closed = free_port()
    config = make_config(
        tmp_path,
        OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS="false",
        OCTOPOST_PLATFORMS_LINKEDIN_BASE_URL=f"http://127.0.0.1:{closed}",
    )
    async with running_api(config, resolver=resolver) as api:
        resp = await api.post(
            "/v1/accounts",
            {
                "platform": "mastodon",
                "credentials": {"instance_url": "https://mastodon.example", "access_token": "t"},
            },
        )
        assert resp.status_code == 502, resp.text
        error = resp.json()["error"]
        assert error["code"] == "platform_unavailable"
        assert error["message"].startswith(
            "Could not reach mastodon.example: its name could not be resolved (DNS lookup failed)"
        )
        assert "Error" not in error["message"]  # no library class names
        assert resolver.asked == ["mastodon.example"]

        resp = await api.post(
            "/v1/accounts", {"platform": "linkedin", "credentials": {"access_token": "t"}}
        )
        assert resp.status_code == 502, resp.text
        assert f"Could not reach 127.0.0.1:{closed}: the connection was refused" in resp.text

    async with (
        started_fakes("mastodon") as fakes,
        running_api(make_config(tmp_path / "refused")) as api,
    ):
        fake = fakes["mastodon"]
        resp = await api.post(
            "/v1/accounts",
            {
                "platform": "mastodon",
                "credentials": {"instance_url": fake.url, "access_token": "nope"},
            },
        )
        assert resp.status_code == 422
        assert resp.json()["error"]["message"] == (
            "Mastodon refused these credentials: The access token is invalid"
        )


async def test_media_dns_failure_is_a_retryable_network_error(tmp_path: Path) -> None:
    async with started_fakes("mastodon") as fakes:
        fake = fakes["mastodon"]
        config = make_config(tmp_path, OCTOPOST_PUBLISHING_MAX_ATTEMPTS="2", **platform_env([fake]))
        async with running_api(config, resolver=NoDns()) as api:
            await connect(api, fake)
            body: dict[str, Any] = {
                "content": "with a picture",
                "platforms": ["mastodon"],
                "media": {"images": [{"url": "https://media.example/a.png"}]},
            }
            pid = (await api.post("/v1/posts", body)).json()["id"]
            assert (await api.post(f"/v1/posts/{pid}/publish")).status_code == 202
            post = await api.wait_status(pid, {"published", "failed"})
        result = post["platform_results"]["mastodon"]
        assert result["error_category"] == "network" and result["retryable"] is True
        assert result["attempts"] == 2  # the download was tried again, not cached as failed
        assert "media.example" in result["error"] and "DNS lookup failed" in result["error"]


async def test_media_network_failures_are_network_errors(tmp_path: Path) -> None:
    fetcher = Fetcher(allow_private=True, max_bytes=1000)
    try:
        with pytest.raises(UnavailableError) as info:
            await fetcher.download(f"http://127.0.0.1:{free_port()}/a.png", tmp_path)
        assert info.value.network and info.value.retryable
        assert "the connection was refused" in info.value.message
    finally:
        await fetcher.close()
