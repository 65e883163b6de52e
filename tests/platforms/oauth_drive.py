"""Drive a fake's authorization endpoint the way a browser would, without a server behind
the redirect URI: the fake's answer is read, not followed (tests of the fakes themselves)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

#: a code_verifier (RFC 7636 4.1: 43-128 unreserved characters) and its S256 challenge,
#: base64url encoded without padding as RFC 7636 4.2 says
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r-wW1gFWFOEjXk"
RFC_CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(RFC_VERIFIER.encode()).digest()).rstrip(b"=").decode()
)
#: the same verifier's SHA-256, hex encoded (TikTok's desktop kit)
HEX_CHALLENGE = hashlib.sha256(RFC_VERIFIER.encode()).hexdigest()


@dataclass
class Answer:
    status: int
    #: where the authorization server sent the browser ("" for its own error page)
    location: str = ""
    #: the redirect's query parameters
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def redirected_to(self) -> str:
        parts = urlsplit(self.location)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def authorize(http: aiohttp.ClientSession, url: str, params: dict[str, Any]) -> Answer:
    async with http.get(url, params=params, allow_redirects=False) as resp:
        location = resp.headers.get("Location", "")
        return Answer(
            status=resp.status,
            location=location,
            params=dict(parse_qsl(urlsplit(location).query)),
            text=await resp.text(),
        )


async def form_post(
    http: aiohttp.ClientSession, url: str, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, data=form) as resp:
        return resp.status, await resp.json()
