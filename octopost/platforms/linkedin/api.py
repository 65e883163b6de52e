"""LinkedIn API plumbing: wire structs, error translation, authorised versioned calls.

Every call sends `Authorization: Bearer`, `LinkedIn-Version: YYYYMM` and
`X-Restli-Protocol-Version: 2.0.0`. An expired token (by `expires_at`, or a 401) is refreshed
once (`_oauth.py`) when the app has programmatic refresh tokens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec
from yarl import URL

from octopost.platforms._http import Response
from octopost.platforms._oauth import TokenKeeper, request_token, rotated
from octopost.platforms.base import Account, Deps, Options, decode_credentials
from octopost.platforms.errors import DuplicateError, MediaError, PlatformError, RejectedError

LABEL = "LinkedIn"
PERSON = "urn:li:person:"
ORGANIZATION = "urn:li:organization:"
OCTET_STREAM = {"Content-Type": "application/octet-stream"}

_AUTHOR = re.compile(r"^urn:li:(?:person|organization):[A-Za-z0-9_-]+$")
_POST_URN = re.compile(r"urn:li:(?:share|ugcPost|activity):\d+")
_JAVA_PREFIX = re.compile(r"^(?:[\w$]+\.)+[\w$]*(?:Exception|Error):\s*")


class Credentials(msgspec.Struct, kw_only=True):
    access_token: str
    #: only apps approved for programmatic refresh get these three
    refresh_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    #: epoch seconds
    expires_at: float | None = None
    #: urn:li:person:<id> or urn:li:organization:<id>; resolved from /v2/userinfo when absent
    author: str | None = None


class LinkedinOptions(Options):
    visibility: Literal["PUBLIC", "CONNECTIONS"] = "PUBLIC"
    disable_reshare: bool = False


class UserInfo(msgspec.Struct):
    sub: str
    name: str | None = None
    picture: str | None = None


class Organization(msgspec.Struct):
    localizedName: str | None = None
    vanityName: str | None = None


class ImageUpload(msgspec.Struct):
    uploadUrl: str
    image: str


class ImageUploadAnswer(msgspec.Struct):
    value: ImageUpload


class Part(msgspec.Struct):
    uploadUrl: str
    firstByte: int
    lastByte: int


class VideoUpload(msgspec.Struct):
    video: str
    uploadInstructions: list[Part]
    uploadToken: str = ""


class VideoUploadAnswer(msgspec.Struct):
    value: VideoUpload


class MediaStatus(msgspec.Struct):
    status: str = ""
    processingFailureReason: str | None = None


class Post(msgspec.Struct):
    id: str
    author: str = ""
    commentary: str = ""
    createdAt: int = 0
    content: dict[str, Any] | None = None


class Posts(msgspec.Struct):
    elements: list[Post] = []


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}"


def reason(resp: Response) -> str | None:
    """LinkedIn's `message`, without the Java exception class it often starts with."""
    data = resp.json()
    if not isinstance(data, dict):
        return None
    message = data.get("message") or data.get("error_description")
    if not (isinstance(message, str) and message.strip()):
        details = [e.get("description") for e in _input_errors(data)]
        message = "; ".join(d for d in details if isinstance(d, str))
    return _JAVA_PREFIX.sub("", message.strip()) or None


def _input_errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    details = data.get("errorDetails")
    errors = details.get("inputErrors") if isinstance(details, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def classify(resp: Response, now: float) -> PlatformError | None:
    """LinkedIn's quirks; 401, 429 and 5xx keep the default mapping."""
    status = resp.status
    if status in (401, 429) or status >= 500:
        return None
    data = resp.json()
    data = data if isinstance(data, dict) else {}
    why = reason(resp) or f"HTTP {status}"
    codes = {str(data.get("code") or "")} | {str(e.get("code") or "") for e in _input_errors(data)}
    if "DUPLICATE_POST" in codes or "content is a duplicate" in why.lower():
        # 422 DUPLICATE_POST names the existing post (when it does)
        match = _POST_URN.search(why)
        urn = match.group() if match else None
        where = f" ({post_url(urn)})" if urn else ""
        return DuplicateError(
            f"{LABEL} refused the post as a duplicate of an existing post{where}.",
            existing=urn,
            status=status,
        )
    if status == 426 or "NONEXISTENT_VERSION" in codes:
        return RejectedError(
            f"{LABEL} no longer serves this API version ({why}): set "
            "platforms.linkedin.api_version to a current YYYYMM version.",
            status=status,
        )
    media_call = any(p in resp.url for p in ("/rest/images", "/rest/videos", "/dms-uploads"))
    if media_call or any("MEDIA" in code for code in codes):
        return MediaError(f"{LABEL} refused the media: {why}", status=status)
    if status == 403:
        return RejectedError(
            f"{LABEL} refused the request: {why}. Posting needs the w_member_social scope "
            "(company pages: w_organization_social and an admin role on the page).",
            status=status,
        )
    return None


def _refreshable(creds: Mapping[str, Any]) -> bool:
    """Only apps approved for programmatic refresh tokens hold all three."""
    return bool(
        creds.get("refresh_token") and creds.get("client_id") and creds.get("client_secret")
    )


class Api:
    """Authorised, versioned LinkedIn calls for one account; refreshes tokens once."""

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.settings = deps.settings
        self.http = deps.bind(LABEL, reason=reason, classify=classify)
        self.keeper = TokenKeeper(account, deps.clock, self._exchange, can_refresh=_refreshable)

    def credentials(self, raw: Mapping[str, Any] | None = None) -> Credentials:
        creds = decode_credentials(Credentials, raw or self.account.credentials, LABEL)
        if creds.author and not _AUTHOR.match(creds.author):
            raise RejectedError(
                f"Invalid {LABEL} credentials: author must be urn:li:person:<id> or "
                f"urn:li:organization:<id>, not {creds.author!r}"
            )
        return creds

    async def call(
        self,
        method: str,
        target: str | URL,
        *,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        safe_to_retry: bool | None = None,
        ok: tuple[int, ...] | None = None,
    ) -> Response:
        """One authorised, versioned call; refreshes once on expiry or a 401, then retries."""
        url = (
            URL(self.settings.base_url + target, encoded=True)
            if isinstance(target, str)
            else target
        )

        async def attempt(raw: dict[str, Any]) -> Response:
            sent = {
                "Authorization": f"Bearer {self.credentials(raw).access_token}",
                "LinkedIn-Version": self.settings.api_version,
                "X-Restli-Protocol-Version": "2.0.0",
                **(headers or {}),
            }
            return await self.http.request(
                method, url, headers=sent, json=json, data=data, safe_to_retry=safe_to_retry, ok=ok
            )

        self.credentials()  # bad fields: RejectedError before any request
        return await self.keeper.send(attempt)

    async def _exchange(self, current: dict[str, Any]) -> dict[str, Any]:
        creds = self.credentials(current)
        form = {
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token or "",
            "client_id": creds.client_id or "",
            "client_secret": creds.client_secret or "",
        }
        url = f"{self.settings.auth_url}/oauth/v2/accessToken"
        token = await request_token(self.http, url, form)
        # LinkedIn does not rotate refresh tokens; a new one, when sent, replaces the old
        return rotated(current, token, self.deps.clock())


def media_ids(content: dict[str, Any] | None) -> set[str]:
    if not content:
        return set()
    ids: set[str] = set()
    media = content.get("media")
    if isinstance(media, dict) and isinstance(media.get("id"), str):
        ids.add(media["id"])
    multi = content.get("multiImage")
    if isinstance(multi, dict):
        ids.update(i["id"] for i in multi.get("images") or [] if isinstance(i, dict) and "id" in i)
    return ids
