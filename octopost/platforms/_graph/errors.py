"""Meta Graph API error rules, shared by Facebook, Instagram and Threads.

Every Meta API answers errors with the same envelope
(https://developers.facebook.com/docs/graph-api/guides/error-handling):

    {"error": {"message": "...", "type": "OAuthException", "code": 190,
               "error_subcode": 463, "is_transient": false, "fbtrace_id": "..."}}

`code` is usually an int, but newer Threads errors name it by string
(`THREADS_API__LINK_LIMIT_EXCEEDED`), so it is never assumed to be one. The
`api.instagram.com` token endpoint answers a flat shape instead
(`{"error_type": ..., "code": 400, "error_message": ...}`); both are read.

Throttling carries its wait in `X-Business-Use-Case-Usage`
(`estimated_time_to_regain_access`, in minutes) rather than a Retry-After header.

Usage: `deps.bind(label, reason=reason, classify=chain(platform_rules, classify))`: a
platform's own rules first, then this table (`session.GraphSession` does that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from octopost.platforms._http import Response, expired, retry_after
from octopost.platforms.errors import (
    DuplicateError,
    MediaError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)


class GraphError(msgspec.Struct, frozen=True):
    """The `error` object of a Graph answer (only the fields rules look at)."""

    message: str = ""
    type: str = ""
    code: int | str | None = None
    error_subcode: int | None = None
    is_transient: bool = False
    error_user_title: str = ""
    error_user_msg: str = ""
    fbtrace_id: str = ""

    @property
    def number(self) -> int | None:
        """`code` as an int (None for string codes such as THREADS_API__...)."""
        if isinstance(self.code, int):
            return self.code
        if isinstance(self.code, str) and self.code.lstrip("-").isdigit():
            return int(self.code)
        return None

    def mentions(self, name: str) -> bool:
        """True when a string error code (`code` or inside `message`) equals/contains `name`."""
        return self.code == name or name in self.message or name in self.error_user_msg


#: 190 invalid/expired token (subcodes 458-467, 492), 102 API session.
AUTH_CODES = frozenset({102, 190})
#: 10 and 200-299: a permission is missing or was removed; reconnecting grants it.
PERMISSION_CODES = frozenset({10, *range(200, 300)})
#: app (4), user (17), page (32), custom (613), application limit (341), BUC 80000-80014.
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
#: unknown (1), service temporarily down (2), Instagram server error (-1), download timeout (-2).
TRANSIENT_CODES = frozenset({-2, -1, 1, 2})
#: 506: duplicate post.
DUPLICATE_CODES = frozenset({506})
#: Account-level blocks that look like throttling codes but never pass with time:
#: Instagram 2207051 "restricted as spam" (code 4), 2207050 account checkpointed,
#: Threads 4279013 user restricted. 368 (blocked for policy) is a plain rejection.
PERMANENT_SUBCODES = frozenset({2207050, 2207051, 4279013})
#: Media refused or not fetchable: 9004 URL not fetchable, 352 video format,
#: 36000-36004 image size/resolution/ratio; Instagram subcodes for the same.
MEDIA_CODES = frozenset({352, 9004, 36000, 36001, 36003})
MEDIA_SUBCODES = frozenset({2207004, 2207005, 2207009, 2207023, 2207026, 2207052, 2207053, 2207057})

_USAGE_HEADER = "x-business-use-case-usage"


def graph_error(resp: Response) -> GraphError | None:
    """The Graph error in `resp`, or None when the body is not a Meta error."""
    data = resp.json()
    if not isinstance(data, dict):
        return None
    raw: Any = data.get("error")
    if not isinstance(raw, dict):
        if "error_message" in data or "error_type" in data:  # api.instagram.com token endpoint
            raw = {
                "message": data.get("error_message") or "",
                "type": data.get("error_type") or "",
                "code": data.get("code"),
            }
        else:
            return None
    try:
        return msgspec.convert(raw, GraphError, strict=False)
    except msgspec.ValidationError:
        message = raw.get("message")
        return GraphError(message=message if isinstance(message, str) else "")


def describe(err: GraphError) -> str:
    """Human text with the codes Meta support asks for: `Message (#9004/2207052)`."""
    text = (err.error_user_msg or err.message or err.error_user_title or "unknown error").strip()
    if err.code is None:
        return text
    codes = f"#{err.code}" + (f"/{err.error_subcode}" if err.error_subcode else "")
    return f"{text} ({codes})"


def reason(resp: Response) -> str | None:
    """`reason=` for `HttpClient.bind`: the Graph error's text, codes included."""
    err = graph_error(resp)
    return describe(err) if err is not None else None


def regain_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until throttling ends, from `X-Business-Use-Case-Usage` (minutes) or Retry-After.

    Header shape: `{"<business-or-ig-id>": [{"type": "instagram", "call_count": 100, ...,
    "estimated_time_to_regain_access": 17}]}`. None when no positive wait is given.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    minutes = 0.0
    raw = lowered.get(_USAGE_HEADER)
    if raw:
        try:
            usage = msgspec.json.decode(raw.encode())
        except msgspec.DecodeError:
            usage = None
        if isinstance(usage, dict):
            for entries in usage.values():
                for entry in entries if isinstance(entries, list) else []:
                    value = (
                        entry.get("estimated_time_to_regain_access")
                        if isinstance(entry, dict)
                        else None
                    )
                    if isinstance(value, int | float) and value > minutes:
                        minutes = float(value)
    if minutes > 0:
        return minutes * 60.0
    return retry_after(headers, now)


def classify(resp: Response, now: float) -> PlatformError | None:
    """Graph error codes to typed errors, for the platform `resp.label` names.

    Non-Graph bodies (proxy pages, empty answers) fall through to the HTTP status
    mapping in `_http.py`.
    """
    err = graph_error(resp)
    if err is None:
        return None
    label = resp.label
    code, sub, status = err.number, err.error_subcode, resp.status
    text = describe(err)
    if code in AUTH_CODES or code in PERMISSION_CODES or status == 401:
        return expired(label, status=status)
    if sub in PERMANENT_SUBCODES:
        return RejectedError(f"{label} refused the post: {text}", status=status)
    if code in THROTTLE_CODES or status == 429:
        return RateLimitedError(
            f"{label} rate limit reached: {text}",
            retry_after=regain_after(resp.headers, now),
            status=status,
        )
    if code in TRANSIENT_CODES or err.is_transient or status >= 500:
        return UnavailableError(
            f"{label} is unavailable: {text}",
            status=status,
            retry_after=regain_after(resp.headers, now),
        )
    if code in DUPLICATE_CODES:
        return DuplicateError(f"{label} refused a duplicate post: {text}", status=status)
    if code in MEDIA_CODES or sub in MEDIA_SUBCODES:
        return MediaError(f"{label} refused the media: {text}", status=status)
    return RejectedError(f"{label} rejected the post: {text}", status=status)
