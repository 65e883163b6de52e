"""A strict fake X API v2 (shapes from the official OpenAPI, bodies as X sends them).

Routes: GET /2/users/me, GET /2/users/{id}/tweets, POST /2/tweets,
POST /2/oauth2/token, POST /2/media/upload/initialize, POST /2/media/upload/{id}/append,
POST /2/media/upload/{id}/finalize, GET /2/media/upload?command=STATUS&media_id=,
POST /2/media/metadata.

What it enforces:
- auth on every API route: a Bearer OAuth 2.0 user token (unknown or expired: 401
  problem body) with its scopes, or an OAuth 1.0a header whose HMAC-SHA1 signature
  is recomputed here from the raw request by this module's own code (RFC 5849 base
  string: method, base URI, query + oauth_* + form-body parameters; JSON and
  multipart bodies are not signed); wrong key/secret/signature, an old timestamp or
  a reused nonce get X's 401 body. A read-only OAuth 1.0a app gets the
  oauth1-permissions 403 on writes.
- POST /2/oauth2/token: refresh tokens rotate and are single-use (a reused one:
  400 invalid_request "Value passed for the token was invalid."); confidential
  clients must send HTTP Basic, public ones their client_id.
- POST /2/tweets: CreatePostsRequest (additionalProperties false, media_ids 1-4
  numeric strings, reply_settings enum), text or media required (text of only characters
  up to U+0020 is none, as X's server library trims), the weighted 280 limit (400 "Your
  Tweet text is too long...", counted by `_lengths.py`, never by Octopost's code), duplicate text of the same user
  (403 duplicate content), media ids that exist, belong to the user, are finalized
  and processed, and are 1-4 images or one GIF or one video.
- media: initialize fields/enums, append segments in order (multipart
  `segment_index` + `media`) not beyond total_bytes, finalize only when complete,
  video/GIF processing: `processing_polls` in_progress answers, then succeeded (or
  failed when `fail_processing`); alt text at most 1000 characters.
- x-rate-limit-limit/-remaining/-reset (epoch seconds) on every API answer but 401s
  (integrators see none there); POST /2/tweets adds x-user-limit-24hour-*; a spent
  bucket answers 429 {"title": "Too Many Requests", ...}.

Controls: fail_next(kind) for POST /2/tweets: "auth" | "rate_limit" | "unavailable"
(commit=True: create the post, then answer 503) | "reject" (status=, body=) | "drop"
| "usage_capped"; processing_polls, fail_processing, oauth1_read_only,
expire_access_tokens(), issue_tokens(), confidential (client secret required).
Records: requests, posts (user_id, text, media, created_at), media, token_requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote

from aiohttp import web
from twitter_text import extract_urls_with_indices

from tests.fakes._base import FakePlatform
from tests.fakes._lengths import x_blank, x_weighted_length
from tests.fakes._oauth import AuthorizationServer, Code

PROBLEMS = "https://api.x.com/2/problems/"
TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text "
    "length see https://github.com/twitter/twitter-text."
)
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
OAUTH1_PERMISSIONS = (
    "Your client app is not configured with the appropriate oauth1 app permissions for "
    "this endpoint."
)
ALL_SCOPES = frozenset({"tweet.read", "tweet.write", "users.read", "media.write", "offline.access"})
ACCESS_TOKEN_TTL = 7200
CREATE_POST_FIELDS = frozenset(
    {"card_uri", "community_id", "direct_message_deep_link", "edit_options",
     "for_super_followers_only", "geo", "made_with_ai", "media", "nullcast",
     "paid_partnership", "poll", "quote_tweet_id", "reply", "reply_settings",
     "share_with_followers", "text"}
)  # fmt: skip
CREATE_MEDIA_FIELDS = frozenset(
    {"call_to_actions", "description", "embeddable", "media_ids", "preview_media_id",
     "tagged_user_ids", "title"}
)  # fmt: skip
REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")
MEDIA_CATEGORIES = ("amplify_video", "tweet_gif", "tweet_image", "tweet_video",
                    "dm_gif", "dm_image", "dm_video", "subtitles")  # fmt: skip
MEDIA_TYPES = ("video/mp4", "video/webm", "video/mp2t", "video/quicktime", "text/srt",
               "text/vtt", "image/jpeg", "image/gif", "image/bmp", "image/png", "image/webp",
               "image/pjpeg", "image/tiff", "model/gltf-binary", "model/vnd.usdz+zip")  # fmt: skip
#: some of the openapi's PostFieldsParameter enum (the ones a fake can answer)
POST_FIELDS = frozenset({"conversation_id", "created_at", "id", "text", "reply_settings"})
#: a reply to a post that does not exist (or is not visible)
REPLY_GONE = "You attempted to reply to a Tweet that is deleted or not visible to you."
TIMELINE_PARAMS = frozenset(
    {"max_results", "pagination_token", "start_time", "end_time", "since_id", "until_id",
     "exclude", "post.fields", "expansions", "user.fields", "media.fields", "poll.fields",
     "place.fields"}
)  # fmt: skip
ID_RE = re.compile(r"^[0-9]{1,19}$")
# Published per-user 15-minute limits (x-rate-limit-limit per endpoint).
BUCKETS = {
    ("GET", "users/me"): 75,
    ("GET", "users/tweets"): 900,
    ("POST", "tweets"): 100,
    ("POST", "media/initialize"): 1875,
    ("POST", "media/append"): 1875,
    ("POST", "media/finalize"): 1875,
    ("GET", "media/status"): 1000,
    ("POST", "media/metadata"): 500,
}
WINDOW = 900


@dataclass
class FakeUser:
    id: str
    username: str
    name: str


@dataclass
class AccessToken:
    value: str
    user: FakeUser
    expires_at: float
    scopes: frozenset[str] = ALL_SCOPES


@dataclass
class RefreshToken:
    value: str
    user: FakeUser
    used: bool = False
    scopes: frozenset[str] = ALL_SCOPES


@dataclass
class Media:
    id: str
    owner: str
    media_type: str
    category: str
    total_bytes: int
    created_at: float
    data: bytearray = field(default_factory=bytearray)
    segments: int = 0
    finalized: bool = False
    state: str | None = None  # processing state for video / GIF
    polls_left: int = 0
    alt_text: str | None = None

    @property
    def key(self) -> str:
        prefix = {"tweet_video": "7", "amplify_video": "13", "tweet_gif": "16"}.get(
            self.category, "3"
        )
        return f"{prefix}_{self.id}"

    @property
    def kind(self) -> str:
        return {"tweet_video": "video", "amplify_video": "video", "tweet_gif": "gif"}.get(
            self.category, "image"
        )


# -- OAuth 1.0a, verified independently of oauthlib --------------------------------


def _pct(value: str) -> str:
    """RFC 5849 3.6 percent-encoding (RFC 3986 unreserved characters kept)."""
    return quote(value, safe="-._~")


def parse_oauth_header(value: str) -> dict[str, str] | None:
    if not value.startswith("OAuth "):
        return None
    pairs = re.findall(r'([A-Za-z_]+)="([^"]*)"', value[6:])
    return {unquote(k): unquote(v) for k, v in pairs}


def signature_base_string(
    method: str, scheme: str, host: str, raw_path: str, params: list[tuple[str, str]]
) -> str:
    host = host.lower()
    if (scheme == "http" and host.endswith(":80")) or (scheme == "https" and host.endswith(":443")):
        host = host.rsplit(":", 1)[0]
    base_uri = f"{scheme.lower()}://{host}{raw_path}"
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in params))
    return "&".join((method.upper(), _pct(base_uri), _pct(normalized)))


def hmac_sha1(base: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()


def parse_multipart(content_type: str, body: bytes) -> dict[str, bytes] | None:
    """name -> bytes of a multipart/form-data body (byte-exact), None if malformed."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or match is None:
        return None
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, bytes] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, payload = part.partition(b"\r\n\r\n")
        if not sep:
            return None
        name = re.search(rb'name="([^"]*)"', head)
        if name is None:
            return None
        fields[name.group(1).decode()] = payload.removesuffix(b"\r\n")
    return fields


def tco() -> str:
    """A t.co link (X rewrites every link in a post to one; slugs are alphanumeric)."""
    alphabet = string.ascii_letters + string.digits
    return "https://t.co/" + "".join(secrets.choice(alphabet) for _ in range(10))


def problem(
    status: int, title: str, detail: str, kind: str = "about:blank", **extra: Any
) -> web.Response:
    body = {"title": title, "detail": detail, "type": kind, "status": status, **extra}
    return web.json_response(body, status=status, content_type="application/problem+json")


def invalid_request(message: str, parameters: dict[str, list[str]]) -> web.Response:
    body = {
        "errors": [{"parameters": parameters, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": PROBLEMS + "invalid-request",
    }
    return web.json_response(body, status=400)


UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}


class Reply(Exception):
    """Raised inside handlers to answer at once."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


class Fake(FakePlatform):
    platform: ClassVar[str] = "twitter"
    contract_media: ClassVar[str] = "text"

    USER = FakeUser("1880000000000000042", "octopost_dev", "Octopost Dev")
    OTHER = FakeUser("1880000000000000099", "someone_else", "Someone Else")
    API_KEY = "xvz1evFS4wEEPTGEFPHBog"
    API_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
    ACCESS_TOKEN = f"{USER.id}-NRYKpMoX3FQgzCLKD1nUeo8u0nCVcD"
    ACCESS_TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
    OTHER_ACCESS_TOKEN = f"{OTHER.id}-4bLaKq1nQ9mW2sT8vX0yZ3cE5gH7jK"
    OTHER_ACCESS_TOKEN_SECRET = "q9W8e7R6t5Y4u3I2o1P0aSdFgHjKlZxCvBnM"
    CLIENT_ID = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ"
    CLIENT_SECRET = "dKlJ9s8d7F6g5H4j3K2l1Z0xCvBnMqWeRtYuIoPaSdFgHjKl"

    def __init__(self, *, kind: str = "oauth2", delay: float = 0.0, clock: Any = time.time) -> None:
        self.kind = kind
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.media: dict[str, Media] = {}
        self.nonces: set[tuple[str, str, str]] = set()
        self.token_requests: list[dict[str, str]] = []
        self.counters: dict[tuple[str, str, str], tuple[float, int]] = {}
        self.processing_polls = 2
        self.fail_processing = False
        self.oauth1_read_only = False
        #: require HTTP Basic with CLIENT_SECRET at the token endpoint (confidential client)
        self.confidential = False
        self._ids = itertools.count(1880000000000000001)
        self._media_ids = itertools.count(1880028106020515840)
        super().__init__(delay=delay, clock=clock)
        self.app.middlewares.append(self._rate_limits)
        self.initial_access, self.initial_refresh = self.issue_tokens(self.USER)
        #: the authorize page (x.com/i/oauth2/authorize) and the code grant
        self.oauth = AuthorizationServer(
            client_id=self.CLIENT_ID, known_scopes=ALL_SCOPES, user=self.USER, clock=self.clock
        )

    async def __aenter__(self) -> Fake:
        await self.start()
        return self

    # -- fake controls ------------------------------------------------------------------
    def issue_tokens(
        self,
        user: FakeUser,
        *,
        expires_in: float = ACCESS_TOKEN_TTL,
        scopes: frozenset[str] = ALL_SCOPES,
    ) -> tuple[str, str]:
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        self.access_tokens[access] = AccessToken(access, user, self.clock() + expires_in, scopes)
        self.refresh_tokens[refresh] = RefreshToken(refresh, user, scopes=scopes)
        return access, refresh

    def revoke_all(self) -> None:
        """The user removed the app's access (x.com settings): every token stops working."""
        self.access_tokens.clear()
        for token in self.refresh_tokens.values():
            token.used = True

    def expire_access_tokens(self) -> None:
        for token in self.access_tokens.values():
            token.expires_at = min(token.expires_at, self.clock() - 1)

    @property
    def refreshes(self) -> int:
        return sum(1 for r in self.token_requests if r.get("grant_type") == "refresh_token")

    def credentials(self, kind: str | None = None) -> dict[str, Any]:
        if (kind or self.kind) == "oauth1":
            return {
                "kind": "oauth1",
                "api_key": self.API_KEY,
                "api_secret": self.API_SECRET,
                "access_token": self.ACCESS_TOKEN,
                "access_token_secret": self.ACCESS_TOKEN_SECRET,
            }
        creds: dict[str, Any] = {
            "kind": "oauth2",
            "access_token": self.initial_access,
            "refresh_token": self.initial_refresh,
            "client_id": self.CLIENT_ID,
            "expires_at": self.access_tokens[self.initial_access].expires_at,
        }
        if self.confidential:
            creds["client_secret"] = self.CLIENT_SECRET
        return creds

    def platform_config(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "auth_url": self.url,
            "authorize_url": self.url + "/i/oauth2/authorize",
            "client_id": self.CLIENT_ID,
            "client_secret": self.CLIENT_SECRET if self.confidential else "",
            "poll_interval": 0.01,
            "poll_timeout": 5.0,
        }

    def setup_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/2/users/me", self.users_me)
        router.add_get("/2/users/{id}/tweets", self.user_tweets)
        router.add_post("/2/tweets", self.create_post)
        router.add_post("/2/oauth2/token", self.token)
        router.add_post("/2/oauth2/revoke", self.revoke)
        router.add_get("/i/oauth2/authorize", self.authorize)
        router.add_post("/2/media/upload/initialize", self.media_initialize)
        router.add_post("/2/media/upload/{id}/append", self.media_append)
        router.add_post("/2/media/upload/{id}/finalize", self.media_finalize)
        router.add_get("/2/media/upload", self.media_status)
        router.add_post("/2/media/metadata", self.media_metadata)

    # -- cross-cutting ------------------------------------------------------------------
    @staticmethod
    def _bucket(request: web.Request) -> tuple[str, str] | None:
        path = request.path
        if path == "/2/users/me":
            name = "users/me"
        elif path.startswith("/2/users/"):
            name = "users/tweets"
        elif path == "/2/tweets":
            name = "tweets"
        elif path == "/2/media/metadata":
            name = "media/metadata"
        elif path == "/2/media/upload":
            name = "media/status"
        elif path.startswith("/2/media/upload/"):
            name = "media/" + path.rsplit("/", 1)[1]
        else:
            return None
        key = (request.method, name)
        return key if key in BUCKETS else None

    def _who(self, request: web.Request) -> str:
        """Whose bucket a request counts against (X's limits are per user)."""
        header = request.headers.get("Authorization", "")
        token = self.access_tokens.get(header.removeprefix("Bearer ").strip())
        if token is not None:
            return token.user.id
        oauth = parse_oauth_header(header) or {}
        return oauth.get("oauth_token", header)

    @web.middleware
    async def _rate_limits(self, request: web.Request, handler: Any) -> web.StreamResponse:
        bucket = self._bucket(request)
        if bucket is None:
            return await handler(request)
        key = (*bucket, self._who(request))
        now = self.clock()
        start, used = self.counters.get(key, (now, 0))
        if now - start >= WINDOW:
            start, used = now, 0
        limit = BUCKETS[bucket]
        reset = str(int(start + WINDOW))
        if used >= limit:
            response: web.StreamResponse = problem(429, "Too Many Requests", "Too Many Requests")
            remaining = 0
        else:
            try:
                response = await handler(request)
            except Reply as reply:
                response = reply.response
            used += 1
            remaining = limit - used
        self.counters[key] = (start, used)
        if response.status != 401:  # X sends no rate-limit headers with a 401
            response.headers.setdefault("x-rate-limit-limit", str(limit))
            response.headers.setdefault("x-rate-limit-remaining", str(remaining))
            response.headers.setdefault("x-rate-limit-reset", reset)
            if bucket == ("POST", "tweets"):
                response.headers.setdefault("x-user-limit-24hour-limit", "17")
                response.headers.setdefault("x-user-limit-24hour-remaining", "16")
                response.headers.setdefault("x-user-limit-24hour-reset", str(int(now + 86400)))
        return response

    async def _authenticate(
        self, request: web.Request, scopes: frozenset[str] = frozenset()
    ) -> tuple[FakeUser, str]:
        """The user behind the request and the scheme ("oauth1"/"oauth2"); raises Reply(401/403)."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = self.access_tokens.get(header[7:].strip())
            if token is None or token.expires_at <= self.clock():
                raise Reply(web.json_response(UNAUTHORIZED, status=401))
            if not scopes <= token.scopes:
                raise Reply(
                    problem(403, "Forbidden", "You are not permitted to perform this action.")
                )
            return token.user, "oauth2"
        oauth = parse_oauth_header(header)
        if oauth is None or not await self._signature_ok(request, oauth):
            raise Reply(web.json_response(UNAUTHORIZED, status=401))
        user = self.USER if oauth["oauth_token"] == self.ACCESS_TOKEN else self.OTHER
        return user, "oauth1"

    async def _signature_ok(self, request: web.Request, oauth: dict[str, str]) -> bool:
        secrets_by_token = {
            self.ACCESS_TOKEN: self.ACCESS_TOKEN_SECRET,
            self.OTHER_ACCESS_TOKEN: self.OTHER_ACCESS_TOKEN_SECRET,
        }
        if oauth.get("oauth_consumer_key") != self.API_KEY:
            return False
        token_secret = secrets_by_token.get(oauth.get("oauth_token", ""))
        if token_secret is None or oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return False
        if oauth.get("oauth_version", "1.0") != "1.0":
            return False
        try:
            stamp = int(oauth.get("oauth_timestamp", ""))
        except ValueError:
            return False
        if abs(self.clock() - stamp) > 300:
            return False
        nonce = (oauth["oauth_token"], oauth.get("oauth_nonce", ""), str(stamp))
        if not nonce[1] or nonce in self.nonces:
            return False
        params = parse_qsl(request.query_string, keep_blank_values=True)
        params += [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
        if request.content_type == "application/x-www-form-urlencoded":
            params += parse_qsl((await self._body(request)).decode(), keep_blank_values=True)
        base = signature_base_string(
            request.method, request.scheme, request.host, request.rel_url.raw_path, params
        )
        expected = hmac_sha1(base, self.API_SECRET, token_secret)
        if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
            return False
        self.nonces.add(nonce)
        return True

    @staticmethod
    async def _body(request: web.Request) -> bytes:
        return await request.read()  # aiohttp keeps the body the recorder read

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise Reply(
                problem(415, "Unsupported Media Type", "Content-Type must be application/json.")
            )
        try:
            data = json.loads(await self._body(request) or b"null")
        except ValueError:
            raise Reply(invalid_request("Request body is not valid JSON.", {})) from None
        if not isinstance(data, dict):
            raise Reply(invalid_request("$: object expected", {}))
        return data

    def display_text(self, text: str, media: bool) -> str:
        """The text as X echoes it: &<> escaped, links as t.co, a media link appended."""
        out, last = [], 0
        for url in extract_urls_with_indices(text):
            start, end = url["indices"]
            out += [text[last:start], tco()]
            last = end
        out.append(text[last:])
        shown = "".join(out).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if media:
            shown += " " + tco()
        return shown

    # -- identity -----------------------------------------------------------------------
    async def users_me(self, request: web.Request) -> web.Response:
        user, _ = await self._authenticate(request, frozenset({"users.read", "tweet.read"}))
        data = {"id": user.id, "name": user.name, "username": user.username}
        unknown = sorted(set(request.query) - {"user.fields", "expansions", "tweet.fields"})
        if unknown:
            return invalid_request(
                f"The query parameters [{', '.join(unknown)}] is not one of "
                "[expansions,tweet.fields,user.fields]",
                {name: [request.query[name]] for name in unknown},
            )
        if "profile_image_url" in request.query.get("user.fields", "").split(","):
            data["profile_image_url"] = f"https://pbs.twimg.com/profile_images/{user.id}/a.jpg"
        return web.json_response({"data": data})

    async def user_tweets(self, request: web.Request) -> web.Response:
        await self._authenticate(request, frozenset({"users.read", "tweet.read"}))
        user_id = request.match_info["id"]
        unknown = sorted(set(request.query) - TIMELINE_PARAMS)
        if unknown:
            return invalid_request(
                f"The query parameters [{', '.join(unknown)}] is not one of "
                f"[{','.join(sorted(TIMELINE_PARAMS))}]",
                {name: [request.query[name]] for name in unknown},
            )
        if not ID_RE.match(user_id):
            return invalid_request(
                f"The `id` query parameter value [{user_id}] is not valid", {"id": [user_id]}
            )
        count = request.query.get("max_results", "10")
        if not count.isdigit() or not 5 <= int(count) <= 100:
            return invalid_request(
                f"The `max_results` query parameter value [{count}] is not between 5 and 100",
                {"max_results": [count]},
            )
        since = 0.0
        if "start_time" in request.query:
            raw = request.query["start_time"]
            try:
                since = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            except ValueError:
                return invalid_request(
                    f"Invalid 'start_time':'{raw}'. 'start_time' must be a timestamp in the "
                    "format YYYY-MM-DDTHH:mm:ssZ",
                    {"start_time": [raw]},
                )
        found = [
            p
            for p in reversed(self.posts)
            if p["user_id"] == user_id and p["created_at"] >= since and self.listed(p["created_at"])
        ][: int(count)]
        fields = set(request.query.get("post.fields", "").split(",")) - {""}
        if fields - POST_FIELDS:
            bad = sorted(fields - POST_FIELDS)[0]
            return invalid_request(
                f"The `post.fields` query parameter value [{bad}] is not one of "
                f"[{','.join(sorted(POST_FIELDS))}]",
                {"post.fields": [request.query["post.fields"]]},
            )
        data = [
            {"id": p["id"], "text": p["shown"], "edit_history_post_ids": [p["id"]]}
            | ({"conversation_id": p["conversation_id"]} if "conversation_id" in fields else {})
            for p in found
        ]
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta |= {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
            return web.json_response({"data": data, "meta": meta})
        return web.json_response({"meta": meta})

    # -- tokens -------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl((await self._body(request)).decode(), keep_blank_values=True))
        self.token_requests.append(form)
        invalid = {
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid.",
        }
        if request.content_type != "application/x-www-form-urlencoded":
            return web.json_response(
                {
                    "error": "invalid_request",
                    "error_description": "Missing required parameter [grant_type].",
                },
                status=400,
            )
        if self.confidential:
            expected = base64.b64encode(f"{self.CLIENT_ID}:{self.CLIENT_SECRET}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {expected}":
                return web.json_response(
                    {
                        "error": "unauthorized_client",
                        "error_description": "Missing valid authorization header",
                    },
                    status=401,
                )
        elif form.get("client_id") != self.CLIENT_ID:
            return web.json_response(
                {
                    "error": "invalid_request",
                    "error_description": "Missing required parameter [client_id].",
                },
                status=400,
            )
        if form.get("grant_type") == "authorization_code":
            code = self.oauth.redeem(form)
            if not isinstance(code, Code):
                return web.json_response(code[1], status=code[0])
            access, refresh = self.issue_tokens(code.user, scopes=code.scopes)
            answer = {
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_TTL,
                "access_token": access,
                "scope": " ".join(sorted(code.scopes)),
            }
            if "offline.access" in code.scopes:  # no refresh token without it
                answer["refresh_token"] = refresh
            else:
                self.refresh_tokens.pop(refresh)
            return web.json_response(answer)
        if form.get("grant_type") != "refresh_token":
            return web.json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type not supported",
                },
                status=400,
            )
        old = self.refresh_tokens.get(form.get("refresh_token", ""))
        if old is None or old.used:
            return web.json_response(invalid, status=400)
        old.used = True  # single use: the answer carries a new refresh token
        access, refresh = self.issue_tokens(old.user, scopes=old.scopes)
        return web.json_response(
            {
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_TTL,
                "access_token": access,
                "scope": " ".join(sorted(ALL_SCOPES)),
                "refresh_token": refresh,
            }
        )

    async def authorize(self, request: web.Request) -> web.Response:
        return await self.oauth.authorize(request)

    async def revoke(self, request: web.Request) -> web.Response:
        """POST /2/oauth2/revoke (token, client_id): the token stops working."""
        form = dict(parse_qsl((await self._body(request)).decode(), keep_blank_values=True))
        token = form.get("token", "")
        self.access_tokens.pop(token, None)
        if token in self.refresh_tokens:
            self.refresh_tokens[token].used = True
        return web.json_response({"revoked": True})

    # -- posts --------------------------------------------------------------------------
    async def create_post(self, request: web.Request) -> web.StreamResponse:
        user, scheme = await self._authenticate(
            request, frozenset({"tweet.write", "tweet.read", "users.read"})
        )
        if scheme == "oauth1" and self.oauth1_read_only:
            return problem(
                403,
                "Forbidden",
                OAUTH1_PERMISSIONS,
                PROBLEMS.replace("api.x.com", "api.twitter.com") + "oauth1-permissions",
            )
        failure = self.take_failure()
        commit_then: str | None = None
        if failure is not None:
            if failure.kind == "auth":
                return web.json_response(UNAUTHORIZED, status=401)
            if failure.kind == "rate_limit":
                reset = str(int(self.clock() + failure.retry_after))
                response = problem(429, "Too Many Requests", "Too Many Requests")
                response.headers.update(
                    {"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
                )
                return response
            if failure.kind == "usage_capped":
                return problem(429, "UsageCapExceeded", "Usage cap exceeded: Monthly product cap",
                               PROBLEMS + "usage-capped", period="Monthly", scope="Product")  # fmt: skip
            if failure.kind == "unavailable" and not failure.extra.get("commit"):
                return problem(503, "Service Unavailable", "Service Unavailable")
            if failure.kind == "reject":
                status = int(failure.extra.get("status", 403))
                body = failure.extra.get("body") or {
                    "detail": "You are not permitted to perform this action.",
                    "type": "about:blank", "title": "Forbidden", "status": status,
                }  # fmt: skip
                return web.json_response(body, status=status)
            commit_then = failure.kind
        body = await self._json(request)
        rejected = self._validate_post(body, user)
        if rejected is not None:
            return rejected
        await self.slow_down()
        media_ids = (body.get("media") or {}).get("media_ids") or []
        post_id = str(next(self._ids))
        text = body.get("text", "")
        post = {
            "id": post_id,
            "user_id": user.id,
            "text": text,
            "shown": self.display_text(text, bool(media_ids)),
            "media": [
                {"id": m, "kind": self.media[m].kind, "alt_text": self.media[m].alt_text}
                for m in media_ids
            ],
            "reply_settings": body.get("reply_settings"),
            "created_at": self.clock(),
            "in_reply_to": None,
            "conversation_id": post_id,
        }
        parent_id = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if parent_id:  # checked by _validate_post: the parent exists
            parent = self._post(parent_id) or {}
            post["in_reply_to"] = parent_id
            post["conversation_id"] = parent.get("conversation_id", parent_id)
        self.posts.append(post)
        if commit_then == "drop":
            return await self.drop_connection(request)
        if commit_then == "unavailable":
            return problem(503, "Service Unavailable", "Service Unavailable")
        data = {"id": post_id, "text": post["shown"], "edit_history_post_ids": [post_id]}
        return web.json_response({"data": data}, status=201)

    def _post(self, post_id: str) -> dict[str, Any] | None:
        return next((p for p in self.posts if p["id"] == post_id), None)

    def _validate_post(self, body: dict[str, Any], user: FakeUser) -> web.Response | None:
        extra = sorted(set(body) - CREATE_POST_FIELDS)
        if extra:
            return invalid_request(
                f"$.{extra[0]}: is not defined in the schema and the schema does not allow "
                "additional properties",
                {extra[0]: [json.dumps(body[extra[0]])]},
            )
        text = body.get("text", "")
        if not isinstance(text, str):
            return invalid_request("$.text: string expected", {"text": [json.dumps(text)]})
        if body.get("reply_settings") is not None and body["reply_settings"] not in REPLY_SETTINGS:
            return invalid_request(
                f"$.reply_settings: does not have a value in the enumeration {list(REPLY_SETTINGS)}",
                {"reply_settings": [str(body["reply_settings"])]},
            )
        media = body.get("media")
        media_ids: list[str] = []
        if media is not None:
            if not isinstance(media, dict) or "media_ids" not in media:
                return invalid_request(
                    "$.media.media_ids: is missing but it is required",
                    {"media": [json.dumps(media)]},
                )
            extra = sorted(set(media) - CREATE_MEDIA_FIELDS)
            if extra:
                return invalid_request(
                    f"$.media.{extra[0]}: is not defined in the schema and the schema does not "
                    "allow additional properties",
                    {f"media.{extra[0]}": [json.dumps(media[extra[0]])]},
                )
            media_ids = media["media_ids"]
            if (
                not isinstance(media_ids, list)
                or not 1 <= len(media_ids) <= 4
                or not all(isinstance(m, str) and ID_RE.match(m) for m in media_ids)
            ):
                return invalid_request(
                    "$.media.media_ids: must be 1 to 4 numeric strings",
                    {"media.media_ids": [json.dumps(media_ids)]},
                )
        reply = body.get("reply")
        if reply is not None:
            parent = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
            if not isinstance(parent, str) or not ID_RE.match(parent):
                return invalid_request(
                    "$.reply.in_reply_to_tweet_id: is missing but it is required",
                    {"reply": [json.dumps(reply)]},
                )
            if self._post(parent) is None:
                return problem(403, "Forbidden", REPLY_GONE)
        if x_blank(text) and not media_ids:
            return invalid_request("Post text or media is required.", {"text": [text]})
        if x_weighted_length(text) > 280:
            return invalid_request(TOO_LONG, {"text": [text]})
        kinds = []
        for media_id in media_ids:
            item = self.media.get(media_id)
            if (
                item is None
                or item.owner != user.id
                or not item.finalized
                or item.state not in (None, "succeeded")
            ):
                return invalid_request(
                    "Your media IDs are invalid.", {"media.media_ids": media_ids}
                )
            kinds.append(item.kind)
        if len(kinds) > 1 and set(kinds) != {"image"}:
            return invalid_request(
                "Your media IDs are invalid: a post carries up to 4 images, or one GIF, or one video.",
                {"media.media_ids": media_ids},
            )
        if text and any(p["user_id"] == user.id and p["text"] == text for p in self.posts):
            return problem(403, "Forbidden", DUPLICATE)
        return None

    # -- media --------------------------------------------------------------------------
    def _own_media(self, media_id: str, user: FakeUser) -> Media:
        item = self.media.get(media_id)
        if item is None or item.owner != user.id:
            raise Reply(
                problem(
                    404,
                    "Not Found Error",
                    f"Could not find media with id: [{media_id}].",
                    PROBLEMS + "resource-not-found",
                    resource_type="media",
                    resource_id=media_id,
                )  # fmt: skip
            )
        return item

    async def media_initialize(self, request: web.Request) -> web.Response:
        user, _ = await self._authenticate(request, frozenset({"media.write"}))
        body = await self._json(request)
        allowed = {"additional_owners", "media_category", "media_type", "shared", "total_bytes"}
        extra = sorted(set(body) - allowed)
        if extra:
            return invalid_request(
                f"$.{extra[0]}: is not defined in the schema and the schema does not allow additional properties",
                {extra[0]: [json.dumps(body[extra[0]])]},
            )
        if body.get("media_type") not in MEDIA_TYPES:
            return invalid_request(
                "$.media_type: does not have a value in the enumeration",
                {"media_type": [str(body.get("media_type"))]},
            )
        category = body.get("media_category", "tweet_image")
        if category not in MEDIA_CATEGORIES:
            return invalid_request(
                "$.media_category: does not have a value in the enumeration",
                {"media_category": [str(category)]},
            )
        total = body.get("total_bytes")
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            return invalid_request(
                "$.total_bytes: integer expected", {"total_bytes": [json.dumps(total)]}
            )
        media_id = str(next(self._media_ids))
        item = Media(media_id, user.id, body["media_type"], category, total, self.clock())
        self.media[media_id] = item
        return web.json_response(
            {"data": {"id": media_id, "media_key": item.key, "expires_after_secs": 86399}}
        )

    async def media_append(self, request: web.Request) -> web.Response:
        user, _ = await self._authenticate(request, frozenset({"media.write"}))
        item = self._own_media(request.match_info["id"], user)
        fields = parse_multipart(request.headers.get("Content-Type", ""), await self._body(request))
        if fields is None or "media" not in fields or "segment_index" not in fields:
            return invalid_request("$.media: is missing but it is required", {})
        index = fields["segment_index"].decode()
        if not index.isdigit() or not 0 <= int(index) <= 999:
            return invalid_request(
                "$.segment_index: must be between 0 and 999", {"segment_index": [index]}
            )
        if item.finalized:
            return invalid_request("Media is already finalized.", {"id": [item.id]})
        if int(index) != item.segments:
            return invalid_request(
                f"Segment {index} is out of order; expected {item.segments}.",
                {"segment_index": [index]},
            )
        if len(item.data) + len(fields["media"]) > item.total_bytes:
            return invalid_request(
                "Segments exceed the total_bytes given at initialize.", {"id": [item.id]}
            )
        item.data += fields["media"]
        item.segments += 1
        return web.json_response({"data": {"expires_at": int(item.created_at + 86399)}})

    async def media_finalize(self, request: web.Request) -> web.Response:
        user, _ = await self._authenticate(request, frozenset({"media.write"}))
        item = self._own_media(request.match_info["id"], user)
        if len(item.data) != item.total_bytes:
            return invalid_request(
                "Segments do not add up to provided total file size.", {"id": [item.id]}
            )
        if not item.finalized:
            item.finalized = True
            if item.kind in ("video", "gif"):
                item.state, item.polls_left = "pending", self.processing_polls
        return web.json_response({"data": self._media_data(item)})

    def _media_data(self, item: Media) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": item.id,
            "media_key": item.key,
            "size": item.total_bytes,
            "expires_after_secs": max(0, int(item.created_at + 86399 - self.clock())),
        }
        if item.state is not None:
            info: dict[str, Any] = {"state": item.state}
            if item.state in ("pending", "in_progress"):
                info["check_after_secs"] = 1
            if item.state == "in_progress":
                info["progress_percent"] = 100 // (item.polls_left + 1)
            data["processing_info"] = info
            if item.kind == "video":
                data["video"] = {"video_type": item.media_type}
        else:
            data["image"] = {"image_type": item.media_type}
        return data

    async def media_status(self, request: web.Request) -> web.Response:
        user, _ = await self._authenticate(request, frozenset({"media.write"}))
        media_id = request.query.get("media_id", "")
        if request.query.get("command", "STATUS") != "STATUS" or not ID_RE.match(media_id):
            return invalid_request(
                "The `media_id` query parameter is missing or invalid", {"media_id": [media_id]}
            )
        item = self._own_media(media_id, user)
        if item.state in ("pending", "in_progress"):
            if item.polls_left > 0:
                item.polls_left -= 1
                item.state = "in_progress"
            else:
                item.state = "failed" if self.fail_processing else "succeeded"
        return web.json_response({"data": self._media_data(item)})

    async def media_metadata(self, request: web.Request) -> web.Response:
        user, _ = await self._authenticate(request, frozenset({"media.write"}))
        body = await self._json(request)
        media_id = body.get("id")
        if not isinstance(media_id, str) or not ID_RE.match(media_id):
            return invalid_request(
                "$.id: is missing but it is required", {"id": [json.dumps(media_id)]}
            )
        metadata = body.get("metadata") or {}
        alt = (metadata.get("alt_text") or {}) if isinstance(metadata, dict) else {}
        text = alt.get("text") if isinstance(alt, dict) else None
        if not isinstance(text, str):
            return invalid_request(
                "$.metadata.alt_text.text: is missing but it is required",
                {"metadata": [json.dumps(metadata)]},
            )
        if len(text) > 1000:
            return invalid_request(
                "$.metadata.alt_text.text: may only be 1000 characters long",
                {"metadata.alt_text.text": [text]},
            )
        item = self._own_media(media_id, user)
        item.alt_text = text
        return web.json_response(
            {"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": text}}}}
        )
