"""X API v2 plumbing: credentials of both kinds, request signing, errors, the client.

Docs: https://docs.x.com/fundamentals/authentication (OAuth 1.0a user context, OAuth 2.0
Authorization Code with PKCE), https://docs.x.com/x-api/fundamentals/response-codes-and-errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote, urlencode

import msgspec
import oauthlib.oauth1
from yarl import URL

from octopost.platforms._http import Response, retry_after
from octopost.platforms._oauth import TokenKeeper, request_token, rotated
from octopost.platforms.base import Account, Deps, Options, decode_credentials
from octopost.platforms.errors import (
    AuthExpiredError,
    DuplicateError,
    MediaError,
    PlatformError,
    RateLimitedError,
    RejectedError,
)

LABEL = "X"
TOKEN_PATH = "/2/oauth2/token"
#: an OAuth 2.0 user token lives two hours (when the answer does not say)
TOKEN_LIFETIME = 7200.0
#: problem types meaning "this token may not do that": fixed only by reconnecting
AUTH_PROBLEMS = ("oauth1-permissions", "unsupported-authentication", "client-forbidden")


class OAuth1Credentials(msgspec.Struct, kw_only=True):
    """OAuth 1.0a user context: the app's API key pair and the user's access token pair."""

    kind: Literal["oauth1"] = "oauth1"
    api_key: str
    api_secret: str
    access_token: str
    access_token_secret: str
    user_id: str | None = None


class OAuth2Credentials(msgspec.Struct, kw_only=True):
    """OAuth 2.0 user token (2 hours) with its single-use, rotating refresh token."""

    kind: Literal["oauth2"] = "oauth2"
    access_token: str
    refresh_token: str
    client_id: str
    client_secret: str | None = None
    #: epoch seconds; unknown (None) means "use it until X answers 401"
    expires_at: float | None = None
    user_id: str | None = None


Credentials = OAuth1Credentials | OAuth2Credentials


def decode_creds(raw: Mapping[str, Any]) -> Credentials:
    """Either kind; `kind` may be left out when the fields make it plain."""
    kind = raw.get("kind")
    if kind is None:
        kind = "oauth1" if "api_key" in raw or "access_token_secret" in raw else "oauth2"
    if kind == "oauth1":
        creds: Credentials = decode_credentials(OAuth1Credentials, {**raw, "kind": kind}, LABEL)
    elif kind == "oauth2":
        creds = decode_credentials(OAuth2Credentials, {**raw, "kind": kind}, LABEL)
    else:
        raise RejectedError(f"Invalid {LABEL} credentials: kind must be 'oauth1' or 'oauth2'")
    for name in ("access_token", "api_key", "api_secret", "access_token_secret", "client_id"):
        value = getattr(creds, name, "x")
        if not isinstance(value, str) or not value.strip():
            raise RejectedError(f"Invalid {LABEL} credentials: {name} is empty")
    return creds


class TwitterOptions(Options):
    """`account.settings` for X: who may reply to new posts (default: everyone)."""

    reply_settings: Literal["following", "mentionedUsers", "subscribers", "verified"] | None = None


# -- errors -------------------------------------------------------------------


def problem_type(resp: Response) -> str:
    """The problem `type` suffix ("invalid-request", "oauth1-permissions"; "" if none).

    Older answers use the api.twitter.com host, newer ones api.x.com.
    """
    data = resp.json()
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str) or "/problems/" not in kind:
        return ""
    return kind.rsplit("/problems/", 1)[1]


def reason(resp: Response) -> str | None:
    """X's reason: `errors[].message` (specific) before `detail` (often generic), then `title`.

    Problem bodies: {"title", "detail", "type", "status"}; validation adds
    {"errors": [{"parameters": ..., "message": ...}]}; the token endpoint answers
    {"error", "error_description"}; v1.1-style bodies {"errors": [{"code", "message"}]}.
    """
    data = resp.json()
    if not isinstance(data, dict):
        return None
    messages = [
        e["message"]
        for e in data.get("errors") or []
        if isinstance(e, dict) and isinstance(e.get("message"), str) and e["message"]
    ]
    if messages:
        return " ".join(dict.fromkeys(messages))
    for key in ("detail", "error_description", "title", "error"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _media_related(resp: Response) -> bool:
    data = resp.json()
    if not isinstance(data, dict):
        return False
    for error in data.get("errors") or []:
        if not isinstance(error, dict):
            continue
        params = error.get("parameters")
        if isinstance(params, dict) and any(str(k).startswith("media") for k in params):
            return True
        if "media" in str(error.get("message", "")).lower():
            return True
    return False


def classify(resp: Response, now: float) -> PlatformError | None:
    """X's quirks before the default mapping (401/429/5xx/4xx)."""
    status = resp.status
    why = reason(resp) or f"HTTP {status}"
    kind = problem_type(resp)
    if kind == "usage-capped":
        # The project's monthly post cap: waiting minutes does not help.
        return RejectedError(f"{LABEL} usage cap reached: {why}", status=status)
    if status == 429:
        return RateLimitedError(
            f"{LABEL} rate limit reached: {why}",
            retry_after=rate_limit_delay(resp.headers, now),
        )
    if status == 403:
        if kind in AUTH_PROBLEMS:
            return AuthExpiredError(
                f"{LABEL} refused the credentials: {why} Fix the app's permissions "
                f"(Read and write), then reconnect your {LABEL} account.",
                status=status,
                refreshable=False,
            )
        if "duplicate content" in why.lower():
            return DuplicateError(f"{LABEL} rejected the post: {why}", status=status)
        if "/2/media/" in resp.url:
            return AuthExpiredError(
                f"{LABEL} refused the media upload: {why} The token may lack the media.write "
                f"scope; reconnect your {LABEL} account.",
                status=status,
                refreshable=False,
            )
        return RejectedError(f"{LABEL} rejected the post: {why}", status=status)
    if status in (400, 404, 413, 415) and ("/2/media/" in resp.url or _media_related(resp)):
        return MediaError(f"{LABEL} refused the media: {why}", status=status)
    return None


def rate_limit_delay(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until X lets us post again.

    A spent 24-hour bucket (`x-user-limit-24hour-*`, `x-app-limit-24hour-*` on
    POST /2/tweets) outlasts the 15-minute window, so its reset wins.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    delays = []
    for bucket in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if lowered.get(f"{bucket}-remaining", "").strip() == "0":
            delay = retry_after({"x-rate-limit-reset": lowered.get(f"{bucket}-reset", "")}, now)
            if delay is not None:
                delays.append(delay)
    if delays:
        return max(delays)
    return retry_after(headers, now)


# -- the client ---------------------------------------------------------------------


def _oauth2(creds: Mapping[str, Any]) -> bool:
    return isinstance(decode_creds(creds), OAuth2Credentials)


class Api:
    """Signed X calls for one account; an OAuth 2.0 token is kept fresh (`_oauth.py`)."""

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.bind(LABEL, reason=reason, classify=classify)
        self.token_http = deps.bind(LABEL, reason=reason)
        self.keeper = TokenKeeper(
            account,
            deps.clock,
            self._exchange,
            can_refresh=_oauth2,  # an OAuth 1.0a pair does not expire
        )

    def credentials(self) -> Credentials:
        return decode_creds(self.account.credentials)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        safe_to_retry: bool | None = None,
        timeout: float | None = None,
    ) -> Response:
        """One API call, signed; an expired OAuth 2.0 token is refreshed once.

        `data`: a function building a fresh multipart body (one per attempt).
        A 401 means X did not act on the request, so repeating it is safe.
        """
        url = self.deps.settings.base_url + path
        if params:
            url += "?" + urlencode(params, quote_via=quote)

        async def attempt(raw: dict[str, Any]) -> Response:
            return await self.http.request(
                method,
                URL(url, encoded=True),  # sent exactly as signed
                headers=self.headers(decode_creds(raw), method, url),
                json=json,
                data=data,
                safe_to_retry=safe_to_retry,
                timeout=timeout,
            )

        return await self.keeper.send(attempt)

    def headers(self, creds: Credentials, method: str, url: str) -> dict[str, str]:
        """The Authorization header for `url` (the exact string that is sent)."""
        if isinstance(creds, OAuth2Credentials):
            return {"Authorization": f"Bearer {creds.access_token.strip()}"}
        client = oauthlib.oauth1.Client(
            creds.api_key.strip(),
            client_secret=creds.api_secret.strip(),
            resource_owner_key=creds.access_token.strip(),
            resource_owner_secret=creds.access_token_secret.strip(),
            signature_method=oauthlib.oauth1.SIGNATURE_HMAC_SHA1,
            timestamp=str(int(self.deps.clock())),
        )
        # JSON and multipart bodies are not part of the signature base string
        # (RFC 5849 3.4.1.3.1: only form-encoded bodies are), so sign without a body.
        _, signed, _ = client.sign(url, http_method=method)
        return {"Authorization": signed["Authorization"]}

    async def _exchange(self, current: dict[str, Any]) -> dict[str, Any]:
        creds = decode_creds(current)
        assert isinstance(creds, OAuth2Credentials)
        form = {
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
            "client_id": creds.client_id,
        }
        # a confidential client authenticates with HTTP Basic and its client secret
        basic = (creds.client_id, creds.client_secret) if creds.client_secret else None
        url = (self.deps.settings.auth_url or self.deps.settings.base_url) + TOKEN_PATH
        token = await request_token(self.token_http, url, form, basic=basic)
        # Rotation: X returns a new refresh token and the old one stops working.
        new = rotated(current, token, self.deps.clock(), lifetime=TOKEN_LIFETIME)
        return {**new, "kind": "oauth2"}


# -- answers (only the fields used) ---------------------------------------------


class UserData(msgspec.Struct):
    id: str
    username: str
    name: str | None = None
    profile_image_url: str | None = None


class MeAnswer(msgspec.Struct):
    data: UserData


class ProcessingError(msgspec.Struct):
    message: str | None = None
    name: str | None = None


class ProcessingInfo(msgspec.Struct):
    state: str
    check_after_secs: float | None = None
    progress_percent: int | None = None
    error: ProcessingError | None = None


class UploadData(msgspec.Struct):
    id: str
    media_key: str | None = None
    expires_after_secs: float | None = None
    processing_info: ProcessingInfo | None = None


class UploadAnswer(msgspec.Struct):
    data: UploadData


class TweetData(msgspec.Struct):
    id: str
    text: str = ""
    #: the id of the thread's first post (asked for with post.fields=conversation_id)
    conversation_id: str | None = None


class CreateAnswer(msgspec.Struct):
    data: TweetData


class TimelineAnswer(msgspec.Struct):
    data: list[TweetData] = msgspec.field(default_factory=list)
