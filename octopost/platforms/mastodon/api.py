"""Mastodon API shapes and helpers: credentials, response structs, error rules, the client."""

from __future__ import annotations

import html
import ipaddress
import mimetypes
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from octopost import netguard
from octopost.platforms._http import Response
from octopost.platforms._text import comparable as _comparable
from octopost.platforms.base import Account, Deps, Limits, Options, decode_credentials
from octopost.platforms.errors import AuthExpiredError, MediaError, PlatformError, RejectedError
from octopost.platforms.mastodon.text import URL_LENGTH

LABEL = "Mastodon"


class MastodonLimits(Limits, frozen=True, kw_only=True):
    """Limits plus the instance's own counting and alt-text rules."""

    url_chars: int = URL_LENGTH
    images_with_video: bool = False
    max_alt_text: int | None = 1500


class Credentials(msgspec.Struct):
    access_token: str
    instance_url: str = ""
    #: filled by verify(); used to find a status after a lost answer
    account_id: str = ""


class MastodonOptions(Options):
    #: omitted: the account's default visibility on its instance
    visibility: Literal["public", "unlisted", "private", "direct"] | None = None
    #: mark media as sensitive (blurred until clicked)
    sensitive: bool = False


class MeAccount(msgspec.Struct):
    id: str
    username: str
    display_name: str = ""
    url: str | None = None
    avatar: str | None = None


class MediaEntity(msgspec.Struct):
    id: str
    type: str = "unknown"
    url: str | None = None


class StatusEntity(msgspec.Struct):
    id: str
    url: str | None = None
    uri: str = ""
    content: str = ""
    created_at: str = ""
    media_attachments: list[dict[str, Any]] = []
    in_reply_to_id: str | None = None


class _StatusConfig(msgspec.Struct):
    max_characters: int = 500
    max_media_attachments: int = 4
    characters_reserved_per_url: int = URL_LENGTH


class _MediaConfig(msgspec.Struct):
    description_limit: int | None = None


class _Configuration(msgspec.Struct):
    statuses: _StatusConfig = msgspec.field(default_factory=_StatusConfig)
    media_attachments: _MediaConfig = msgspec.field(default_factory=_MediaConfig)


class InstanceEntity(msgspec.Struct):
    configuration: _Configuration | None = None
    #: Pleroma/Akkoma (v1 endpoint)
    max_toot_chars: int | None = None


def reason(resp: Response) -> str | None:
    """Mastodon's error entity: {"error": "...", "error_description": "..."} (OAuth)."""
    data = resp.json()
    if not isinstance(data, dict):
        return None
    error, description = data.get("error"), data.get("error_description")
    if isinstance(error, str) and " " not in error and isinstance(description, str):
        return description  # an OAuth code such as "invalid_token"
    return error if isinstance(error, str) and error else None


def classify(resp: Response, now: float) -> PlatformError | None:
    text = reason(resp)
    media = "/media" in urlsplit(resp.url).path
    if resp.status == 403:
        # Missing scope, disabled/unconfirmed/pending login: only a reconnect helps.
        if text is None:
            return RejectedError(
                "Mastodon (or a proxy in front of it) refused the request: HTTP 403"
            )
        return AuthExpiredError(
            f"{text.rstrip('.')}. Reconnect your Mastodon account.", status=403, refreshable=False
        )
    if media and resp.status in (413, 415, 422):
        return MediaError(
            f"Mastodon refused the media: {text or f'HTTP {resp.status}'}", status=resp.status
        )
    if media and resp.status == 500 and text and "processing" in text:
        return MediaError(f"Mastodon could not process the media: {text}", status=500)
    return None


def is_local_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


@lru_cache(maxsize=64)  # a pure function, asked on every call of every delivery
def normalise_instance_url(raw: str) -> str:
    """`https://host[:port]` from what a user typed (`mastodon.social/`, `@me@host`, a URL).

    Plain http is kept only for loopback/private hosts (local test instances);
    Mastodon in production forces HTTPS, and the token must not travel in clear.
    """
    value = raw.strip()
    if not value:
        return ""
    if value.startswith("@") and value.count("@") == 2:  # a handle: @user@instance
        value = value.rsplit("@", 1)[1]
    if "://" not in value:
        value = "https://" + value
    try:
        parts = netguard.parse_http_url(value)
    except netguard.InvalidUrlError as exc:
        raise RejectedError(f"Invalid Mastodon credentials: instance_url {exc}") from None
    port = parts.port
    host = (parts.hostname or "").lower()
    scheme = "http" if parts.scheme.lower() == "http" and is_local_host(host) else "https"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


_TAG_RE = re.compile(r"<[^>]*>")
_MENTION_DOMAIN_RE = re.compile(r"(?<![\w/=])@(\w[\w.-]*)@[\w.-]*\w")


def comparable(text: str) -> str:
    """Text reduced for matching a draft against a status's HTML `content`."""
    return _comparable(_MENTION_DOMAIN_RE.sub(r"@\1", text))  # remote mentions render as @user


def html_to_text(content: str) -> str:
    content = re.sub(r"<br\s*/?>", "\n", content)
    content = content.replace("</p><p>", "\n\n")
    return html.unescape(_TAG_RE.sub("", content))


def filename_for(name: str, content_type: str) -> str:
    """A file name whose extension matches the content (Mastodon checks the pair)."""
    if Path(name).suffix:
        return name
    return name + (mimetypes.guess_extension(content_type) or "")


class Api:
    """Calls to the account's instance with its token."""

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.bind(LABEL, reason=reason, classify=classify)

    def credentials(self) -> Credentials:
        creds = decode_credentials(Credentials, self.account.credentials, LABEL)
        if not creds.access_token.strip():
            raise RejectedError("Invalid Mastodon credentials: access_token is empty")
        return creds

    def base(self, creds: Credentials | None = None) -> str:
        """The instance URL, `https://host[:port]`."""
        creds = creds or self.credentials()
        base = normalise_instance_url(creds.instance_url or self.deps.settings.base_url)
        if not base:
            raise RejectedError(
                "Invalid Mastodon credentials: instance_url is required "
                "(or set [platforms.mastodon] base_url)"
            )
        return base

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        safe_to_retry: bool | None = None,
        ok: tuple[int, ...] | None = None,
        timeout: float | None = None,
    ) -> Response:
        """One call to `path` on the account's instance (`path` may be a full URL)."""
        creds = self.credentials()
        url = path if "://" in path else self.base(creds) + path
        return await self.http.request(
            method,
            url,
            headers={"Authorization": f"Bearer {creds.access_token.strip()}", **(headers or {})},
            params=params,
            json=json,
            data=data,
            safe_to_retry=safe_to_retry,
            ok=ok,
            timeout=timeout,
        )
