"""A strict fake Facebook Graph API for Page publishing (feed, photos, videos).

Routes (any `/vNN.N/` version prefix; the version used is recorded in `versions`):
GET /me, GET /{node} (Page, post, photo, video), GET /{page}/posts|feed|videos
(`since`, `limit`, `after` cursors), POST /{page}/feed, /{page}/photos, /{page}/videos.

What it enforces, with Graph's `{"error": {message, type, code, error_subcode,
fbtrace_id}}` bodies:
- an access token as `access_token` (query, form or JSON) or `Authorization: Bearer|OAuth`
  (none: #104; unknown: #190; expired: #190/463 with WWW-Authenticate), and
  `appsecret_proof` when `require_proof` is set (#100 GraphMethodException);
- publishing needs the Page's own token (a user token or another Page's: #200);
- params merged from query + form/JSON body; `message`/`link`/`attached_media` required
  on /feed (#100), `url` on /photos (#324), `file_url` on /videos (#100); booleans;
- Facebook fetches media itself: the fake GETs `url` / `file_url` / `link` and answers
  #324 (not an image), #389 (video not fetchable), 1366046 (photo over `max_photo_bytes`),
  #100/1609005 (link not scrapable) like Graph;
- unpublished photos: `attached_media` must name this Page's unpublished photos
  (#100), each usable once (#100/1366051 "These photos were already posted.");
- videos: `processing_polls` "processing" answers on GET /{video}?fields=status, then
  "ready" with a `post_id` (the post appears then), or "error" when `fail_processing`;
- a status identical to the Page's latest status: #506 duplicate;
- `X-App-Usage` and `X-Business-Use-Case-Usage` on every answer; after `call_limit`
  calls per Page, #32 with `estimated_time_to_regain_access` (`regain_minutes`).

Facebook Login (the shared rules are in `_meta_oauth.py`):
- `GET /{version}/dialog/oauth`: the test user approves at once (or denies:
  `oauth.deny`), unticks scopes (`oauth.decline`) and picks the Pages the app may use
  (`granted_pages`; default: every Page they run);
- `GET /{version}/oauth/access_token` with `code` (+ `client_id`, `client_secret`,
  the same `redirect_uri`): a short-lived user token (about 2 h); with
  `grant_type=fb_exchange_token` + `fb_exchange_token`: a long-lived one (60 days).
  There is no refresh grant. Refusals: #100 with subcodes 36007 (expired code), 36008
  (redirect_uri differs), 36009 (code used), #1 (client secret);
- `GET /me/accounts` (user token, needs `pages_show_list`): the granted Pages with a
  Page token each (`limit` + `after` paging); a Page token from a long-lived user
  token never expires, one from a short-lived token dies with it;
  `GET /me/permissions`: granted and declined scopes;
- publishing needs `pages_manage_posts` and `pages_read_engagement` among the Page
  token's scopes (#200), reading the Page's posts `pages_read_engagement` (#10);
- `revoke()`: the user removes the app: every token the login issued answers 190/458.

Controls: delay, fail_next(kind) ("auth" | "rate_limit" | "unavailable" | "reject" |
"drop" | "error" with code=, subcode=, status=, message=, headers=), processing_polls,
fail_processing, require_proof, call_limit, regain_minutes, max_photo_bytes, expire(token),
revoke(), granted_pages, oauth (redirect_uris, deny, decline).
Records: requests, posts (the Page's timeline), received (params of every create call),
photos, videos, versions, oauth.codes / oauth.authorizations.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from tests.fakes._base import FakePlatform
from tests.fakes._meta_oauth import MetaOAuth, Refusal

VERSION = re.compile(r"^v\d+\.\d+$")
#: Facebook Login permissions a Page-publishing app asks for (and a few it may)
SCOPES = frozenset(
    {
        "public_profile",
        "email",
        "pages_show_list",
        "pages_read_engagement",
        "pages_manage_posts",
        "pages_manage_engagement",
        "pages_manage_metadata",
        "publish_video",
        "business_management",
        "read_insights",
    }
)
PUBLISH_SCOPES = frozenset({"pages_manage_posts", "pages_read_engagement"})
SHORT_LIVED = 7200.0
LONG_LIVED = 60 * 86400.0
CODE_SUBCODES = {"used": 36009, "expired": 36007, "redirect_uri": 36008}
PAGE_ONLY = (
    "(#200) If posting to a page, requires both pages_read_engagement and "
    "pages_manage_posts as an admin with sufficient administrative permission"
)


class GraphError(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        kind: str = "OAuthException",
        transient: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.subcode = status, code, message, subcode
        self.kind, self.transient, self.headers = kind, transient, headers or {}

    def body(self, trace: str) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = self.transient
        error["fbtrace_id"] = trace
        return {"error": error}


@dataclass
class Principal:
    token: str
    kind: str  # "page" | "user"
    id: str
    name: str
    expired: bool = False
    #: epoch seconds (None: never, like a Page token from a long-lived user token)
    expires_at: float | None = None
    #: granted scopes (None: a token pasted by hand, good for everything)
    scopes: frozenset[str] | None = None
    #: issued by Facebook Login (revoke() ends these)
    issued: bool = False
    short: bool = False
    revoked: bool = False
    #: asked for, unticked by the user
    declined: frozenset[str] = frozenset()


@dataclass
class Photo:
    id: str
    page_id: str
    url: str
    alt_text: str | None
    published: bool
    caption: str = ""
    attached_to: str | None = None


@dataclass
class Video:
    id: str
    page_id: str
    file_url: str
    description: str
    created: float
    polls_left: int
    failing: bool
    post_id: str | None = None


@dataclass
class Page:
    id: str
    name: str
    username: str
    calls: int = 0
    timeline: list[dict[str, Any]] = field(default_factory=list)
    #: the login user's tasks on the Page (publishing needs CREATE_CONTENT)
    tasks: list[str] = field(
        default_factory=lambda: ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE", "MANAGE"]
    )


def graph_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def boolean(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise GraphError(400, 100, f"(#100) Param {name} must be a boolean")


def is_image(data: bytes) -> bool:
    return (
        data.startswith(b"\xff\xd8\xff")
        or data.startswith(b"\x89PNG\r\n\x1a\n")
        or data[:6] in (b"GIF87a", b"GIF89a")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    )


class Fake(FakePlatform):
    platform: ClassVar[str] = "facebook"
    contract_media: ClassVar[str] = "text"
    PAGE_ID: ClassVar[str] = "1061234567890"
    PAGE_TOKEN: ClassVar[str] = "EAAPpage-octocafe"
    OTHER_PAGE_ID: ClassVar[str] = "1069999999999"
    OTHER_PAGE_TOKEN: ClassVar[str] = "EAAPpage-other"
    USER_ID: ClassVar[str] = "10229876543210"
    USER_TOKEN: ClassVar[str] = "EAABuser-alice"
    APP_SECRET: ClassVar[str] = "fake-app-secret"

    def __init__(
        self, *, delay: float = 0.0, clock: Any = time.time, processing_polls: int = 2
    ) -> None:
        self.processing_polls = processing_polls
        self.fail_processing = False
        self.require_proof = False
        self.call_limit: int | None = None
        self.regain_minutes = 5
        self.max_photo_bytes = 4 * 1024 * 1024
        self.pages = {
            self.PAGE_ID: Page(self.PAGE_ID, "Octo Cafe", "octocafe"),
            self.OTHER_PAGE_ID: Page(self.OTHER_PAGE_ID, "Other Page", ""),
        }
        self.tokens = {
            self.PAGE_TOKEN: Principal(self.PAGE_TOKEN, "page", self.PAGE_ID, "Octo Cafe"),
            self.OTHER_PAGE_TOKEN: Principal(
                self.OTHER_PAGE_TOKEN, "page", self.OTHER_PAGE_ID, "Other Page"
            ),
            self.USER_TOKEN: Principal(self.USER_TOKEN, "user", self.USER_ID, "Alice Example"),
        }
        self.photos: dict[str, Photo] = {}
        self.videos: dict[str, Video] = {}
        self.nodes: dict[str, dict[str, Any]] = {}  # post id -> post
        self.received: list[dict[str, Any]] = []
        self.versions: list[str] = []
        self._seq = 122168909000000000
        #: Pages the user lets the app use in the login dialog (None: all they run)
        self.granted_pages: set[str] | None = None
        #: scopes granted to the user tokens Facebook Login issued
        self.permissions: dict[str, frozenset[str]] = {}
        super().__init__(delay=delay, clock=clock)
        # the app's secret also signs appsecret_proof
        self.oauth = MetaOAuth(
            clock=lambda: self.clock(),
            known_scopes=SCOPES,
            code_lifetime=600,
            client_secret=self.APP_SECRET,
        )

    # -- harness ----------------------------------------------------------------
    async def __aenter__(self) -> Fake:
        await self.start()
        return self

    def credentials(self) -> dict[str, Any]:
        return {"page_id": self.PAGE_ID, "page_access_token": self.PAGE_TOKEN}

    def platform_config(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "upload_url": self.url,
            "poll_interval": 0.01,
            "poll_timeout": 5.0,
            "authorize_url": self.url + "/v25.0/dialog/oauth",
            "client_id": self.oauth.client_id,
            "client_secret": self.oauth.client_secret,
        }

    def expire(self, token: str | None = None) -> None:
        self.tokens[token or self.PAGE_TOKEN].expired = True

    def revoke(self) -> None:
        """The user removes the app: every token Facebook Login issued stops working."""
        for principal in self.tokens.values():
            if principal.issued:
                principal.revoked = True

    def _issue(self, kind: str, node: str, name: str, **extra: Any) -> Principal:
        prefix = "EAAP" if kind == "page" else "EAAB"
        principal = Principal(f"{prefix}{secrets.token_hex(16)}", kind, node, name, **extra)
        self.tokens[principal.token] = principal
        return principal

    def _next_id(self) -> str:
        self._seq += 1
        return str(self._seq)

    def setup_routes(self, router: web.UrlDispatcher) -> None:
        # before the catch-all: these take no access token
        router.add_get("/{version}/dialog/oauth", self._dialog)
        # Meta's examples GET it; OAuth clients POST a form (RFC 6749 4.1.3): both work
        router.add_get("/{version}/oauth/access_token", self._access_token)
        router.add_post("/{version}/oauth/access_token", self._access_token)
        router.add_route("*", "/{version}/{path:.*}", self._dispatch)

    # -- Facebook Login ------------------------------------------------------------
    async def _dialog(self, request: web.Request) -> web.Response:
        if not VERSION.match(request.match_info["version"]):
            return self.oauth.page("Unknown path components")
        return self.oauth.authorize(dict(request.query))

    async def _access_token(self, request: web.Request) -> web.Response:
        trace = f"A{len(self.requests):09d}"
        try:
            if not VERSION.match(request.match_info["version"]):
                raise GraphError(400, 2500, "Unknown path components")
            params = dict(request.query)
            if request.method == "POST":
                params.update({k: str(v) for k, v in (await request.post()).items()})
            data = self._token_grant(params)
        except GraphError as exc:
            return web.json_response(exc.body(trace), status=exc.status)
        return web.json_response(data)

    def _token_grant(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("grant_type") == "fb_exchange_token":
            if params.get("client_id") != self.oauth.client_id:
                raise GraphError(400, 101, "Error validating application. Invalid application ID.")
            if params.get("client_secret") != self.oauth.client_secret:
                raise GraphError(400, 1, "Error validating client secret.")
            short = self.tokens.get(params.get("fb_exchange_token", ""))
            if short is None or short.kind != "user":
                raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
            self._alive(short)  # an expired token cannot be exchanged
            user = self._issue(
                "user",
                short.id,
                short.name,
                expires_at=self.clock() + LONG_LIVED,
                scopes=short.scopes,
                issued=True,
                declined=short.declined,
            )
            return {
                "access_token": user.token,
                "token_type": "bearer",
                "expires_in": int(LONG_LIVED) - 56,
            }
        if "grant_type" in params and params["grant_type"] != "authorization_code":
            raise GraphError(400, 100, "(#100) Unsupported grant_type")
        redeemed = self.oauth.redeem(params)
        if isinstance(redeemed, Refusal):
            if redeemed.kind == "secret":
                raise GraphError(400, 1, redeemed.message)
            if redeemed.kind == "client":
                raise GraphError(400, 101, "Error validating application. Invalid application ID.")
            raise GraphError(400, 100, redeemed.message, subcode=CODE_SUBCODES.get(redeemed.kind))
        user = self._issue(
            "user",
            self.USER_ID,
            "Alice Example",
            expires_at=self.clock() + SHORT_LIVED,
            scopes=redeemed.scopes,
            issued=True,
            short=True,
            declined=redeemed.asked - redeemed.scopes,
        )
        return {"access_token": user.token, "token_type": "bearer", "expires_in": int(SHORT_LIVED)}

    def _alive(self, who: Principal) -> None:
        if who.revoked:
            raise GraphError(
                400,
                190,
                "Error validating access token: The user has not authorized application "
                f"{self.oauth.client_id}.",
                subcode=458,
            )
        if who.expired or (who.expires_at is not None and who.expires_at <= self.clock()):
            raise self._expired()

    def _accounts(self, request: web.Request, params: dict[str, Any], who: Principal) -> Any:
        """GET /me/accounts: the Pages the user granted, each with a Page token."""
        if who.kind != "user":
            raise GraphError(
                400, 100, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)"
            )
        if who.scopes is not None and "pages_show_list" not in who.scopes:
            raise GraphError(
                403, 10, "(#10) This endpoint requires the 'pages_show_list' permission."
            )
        pages = [
            p
            for p in self.pages.values()
            if self.granted_pages is None or p.id in self.granted_pages
        ]
        try:
            limit = min(100, int(params.get("limit") or 25))
            start = int(params.get("after") or 0)
        except ValueError as exc:
            raise GraphError(400, 100, "(#100) Invalid limit or cursor") from exc
        chunk = pages[start : start + limit]
        rows = []
        for page in chunk:
            token = self._issue(
                "page",
                page.id,
                page.name,
                # a Page token from a long-lived user token has no expiry
                expires_at=None if not who.short else who.expires_at,
                scopes=who.scopes,
                issued=who.issued,
            )
            node = {
                "id": page.id,
                "name": page.name,
                "username": page.username,
                "access_token": token.token,
                "category": "Cafe",
                "tasks": list(page.tasks),
            }
            rows.append(self._fields(params, node, "id,name,access_token,category,tasks"))
        result: dict[str, Any] = {"data": rows}
        if chunk:
            after = start + len(chunk)
            result["paging"] = {"cursors": {"before": str(start), "after": str(after)}}
            if after < len(pages):
                result["paging"]["next"] = f"{self.url}{request.path}?after={after}&limit={limit}"
        return result

    def _permissions(self, who: Principal) -> Any:
        if who.kind != "user":
            raise GraphError(
                400,
                100,
                "(#100) Tried accessing nonexisting field (permissions) on node type (Page)",
            )
        granted = who.scopes if who.scopes is not None else SCOPES
        rows = [{"permission": p, "status": "granted"} for p in sorted(granted)]
        rows += [{"permission": p, "status": "declined"} for p in sorted(who.declined)]
        return {"data": rows}

    # -- plumbing -------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        ctype = request.content_type
        if body and ctype == "application/json":
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise GraphError(400, 100, "(#100) Invalid JSON body") from exc
            if not isinstance(data, dict):
                raise GraphError(400, 100, "(#100) Invalid JSON body")
            params.update(data)
        elif body and ctype == "application/x-www-form-urlencoded":
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        elif body:
            raise GraphError(400, 100, f"(#100) Unsupported content type {ctype}")
        return params

    def _principal(self, request: web.Request, params: dict[str, Any]) -> Principal:
        token = params.pop("access_token", None)
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            token = value.strip()
        if not token:
            raise GraphError(400, 104, "An access token is required to request this resource.")
        principal = self.tokens.get(str(token))
        if principal is None:
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        self._alive(principal)
        proof = params.pop("appsecret_proof", None)
        if self.require_proof or proof is not None:
            wanted = hmac.new(
                self.APP_SECRET.encode(), principal.token.encode(), hashlib.sha256
            ).hexdigest()
            if proof is None:
                raise GraphError(
                    400,
                    100,
                    "API calls from the server require an appsecret_proof argument",
                    kind="GraphMethodException",
                )
            if not hmac.compare_digest(str(proof), wanted):
                raise GraphError(
                    400,
                    100,
                    "Invalid appsecret_proof provided in the API argument",
                    kind="GraphMethodException",
                )
        return principal

    @staticmethod
    def _expired() -> GraphError:
        return GraphError(
            400,
            190,
            "Error validating access token: Session has expired on Monday, 05-Jan-26 "
            "04:00:00 PST. The current time is Monday, 05-Jan-26 05:00:00 PST.",
            subcode=463,
            headers={"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'},
        )

    def _usage(self, principal: Principal | None, throttled: bool = False) -> dict[str, str]:
        page = self.pages.get(principal.id) if principal and principal.kind == "page" else None
        calls = page.calls if page else 0
        percent = min(100, calls * 100 // self.call_limit) if self.call_limit else min(99, calls)
        headers = {
            "X-App-Usage": json.dumps({"call_count": percent, "total_cputime": 1, "total_time": 1})
        }
        if page is not None:
            headers["X-Business-Use-Case-Usage"] = json.dumps(
                {
                    page.id: [
                        {
                            "type": "pages",
                            "call_count": 100 if throttled else percent,
                            "total_cputime": 1,
                            "total_time": 1,
                            "estimated_time_to_regain_access": self.regain_minutes
                            if throttled
                            else 0,
                        }
                    ]
                }
            )
        return headers

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        principal: Principal | None = None
        trace = f"A{len(self.requests):09d}"
        try:
            version = request.match_info["version"]
            if not VERSION.match(version):
                raise GraphError(400, 2500, "Unknown path components: /" + version)
            self.versions.append(version)
            params = await self._params(request)
            principal = self._principal(request, params)
            if principal.kind == "page":
                page = self.pages[principal.id]
                page.calls += 1
                if self.call_limit is not None and page.calls > self.call_limit:
                    raise GraphError(
                        400,
                        32,
                        "(#32) Page request limit reached",
                        headers=self._usage(principal, throttled=True),
                    )
            parts = [p for p in request.match_info["path"].split("/") if p]
            data = await self._route(request, request.method, parts, params, principal)
        except GraphError as exc:
            headers = {**self._usage(principal), **exc.headers}
            return web.json_response(exc.body(trace), status=exc.status, headers=headers)
        return web.json_response(data, headers={**self._usage(principal), "x-fb-trace-id": trace})

    async def _route(
        self,
        request: web.Request,
        method: str,
        parts: list[str],
        params: dict[str, Any],
        who: Principal,
    ) -> Any:
        if method == "GET" and len(parts) == 1:
            return self._get_node("me" if parts[0] == "me" else parts[0], params, who)
        if method == "GET" and parts == ["me", "accounts"]:
            return self._accounts(request, params, who)
        if method == "GET" and parts == ["me", "permissions"]:
            return self._permissions(who)
        if len(parts) == 2 and parts[0] in self.pages:
            page = self.pages[parts[0]]
            if method == "GET" and parts[1] in ("posts", "feed", "videos"):
                self._owner(page, who, reading=True)
                return self._list(request, page, parts[1], params)
            if method == "POST" and parts[1] in ("feed", "photos", "videos"):
                self._owner(page, who)
                return await self._create(request, page, parts[1], params)
        raise GraphError(
            400,
            100,
            f"Unsupported {method.lower()} request. Object with ID '{parts[0] if parts else ''}' "
            "does not exist, cannot be loaded due to missing permissions, or does not support "
            "this operation.",
            subcode=33,
            kind="GraphMethodException",
        )

    @staticmethod
    def _owner(page: Page, who: Principal, *, reading: bool = False) -> None:
        needs = frozenset({"pages_read_engagement"}) if reading else PUBLISH_SCOPES
        allowed = who.scopes is None or needs <= who.scopes
        if not reading and who.issued and "CREATE_CONTENT" not in page.tasks:
            allowed = False  # the user may not create content on this Page
        if who.kind == "page" and who.id == page.id and allowed:
            return
        if reading:
            raise GraphError(
                400,
                10,
                "(#10) This endpoint requires the 'pages_read_engagement' permission or the "
                "'Page Public Content Access' feature.",
            )
        raise GraphError(403, 200, PAGE_ONLY)

    # -- reads ---------------------------------------------------------------------
    @staticmethod
    def _fields(
        params: dict[str, Any], node: dict[str, Any], default: str = "id"
    ) -> dict[str, Any]:
        wanted = [f.strip() for f in str(params.get("fields") or default).split(",") if f.strip()]
        return {name: node[name] for name in wanted if node.get(name) not in (None, "")} | {
            "id": node["id"]
        }

    def _get_node(self, node_id: str, params: dict[str, Any], who: Principal) -> dict[str, Any]:
        if node_id == "me":
            if who.kind == "page":
                node_id = who.id
            else:
                return self._fields(params, {"id": who.id, "name": who.name}, "id,name")
        by_name = {p.username: p.id for p in self.pages.values() if p.username}
        node_id = by_name.get(node_id, node_id)  # a Page's vanity name works as its id
        if node_id in self.pages:
            page = self.pages[node_id]
            link = f"https://www.facebook.com/{page.username or page.id}"
            node = {"id": page.id, "name": page.name, "username": page.username, "link": link}
            return self._fields(params, node, "id,name")
        if node_id in self.nodes:
            return self._fields(params, self.nodes[node_id])
        if node_id in self.photos:
            photo = self.photos[node_id]
            return self._fields(
                params, {"id": photo.id, "name": photo.caption, "alt_text_custom": photo.alt_text}
            )
        if node_id in self.videos:
            return self._fields(params, self._video_node(self.videos[node_id], params))
        raise GraphError(
            400,
            100,
            f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            subcode=33,
            kind="GraphMethodException",
        )

    def _video_node(self, video: Video, params: dict[str, Any]) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": video.id,
            "description": video.description,
            "created_time": graph_time(video.created),
        }
        if "status" not in str(params.get("fields") or ""):
            if video.post_id:
                node["post_id"] = video.post_id
            return node
        phase: dict[str, Any]
        if video.polls_left > 0:
            video.polls_left -= 1
            phase = {"status": "in_progress"}
            state = "processing"
        elif video.failing:
            phase = {
                "status": "error",
                "errors": [{"code": 1363008, "message": "The video could not be decoded"}],
            }
            state = "error"
        else:
            phase = {"status": "complete"}
            state = "ready"
            if video.post_id is None:
                video.post_id = self._add_post(
                    self.pages[video.page_id],
                    {"message": video.description, "video": video.file_url, "video_id": video.id},
                )
        node["status"] = {
            "video_status": state,
            "uploading_phase": {"status": "complete"},
            "processing_phase": phase,
            "publishing_phase": {"status": "complete" if state == "ready" else "not_started"},
        }
        if video.post_id:
            node["post_id"] = video.post_id
        return node

    def _list(
        self, request: web.Request, page: Page, edge: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        if edge == "videos":
            rows = [
                self._video_node(v, {})
                for v in sorted(self.videos.values(), key=lambda v: -v.created)
                if v.page_id == page.id and self.listed(v.created)
            ]
        else:
            rows = [dict(p) for p in reversed(page.timeline) if self.listed(p["_created"])]
        since = params.get("since")
        if since is not None:
            try:
                floor = float(since)
            except ValueError as exc:
                raise GraphError(400, 100, "(#100) since must be a unix timestamp") from exc
            rows = (
                [r for r in rows if r["_created"] >= floor]
                if edge != "videos"
                else [r for r in rows if self.videos[r["id"]].created >= floor]
            )
        try:
            limit = min(100, int(params.get("limit") or 25))
            start = int(params.get("after") or 0)
        except ValueError as exc:
            raise GraphError(400, 100, "(#100) Invalid limit or cursor") from exc
        chunk = rows[start : start + limit]
        data = [self._fields(params, r, "id,created_time,message") for r in chunk]
        result: dict[str, Any] = {"data": data}
        if chunk:
            result["paging"] = {"cursors": {"before": str(start), "after": str(start + len(chunk))}}
            if start + len(chunk) < len(rows):
                result["paging"]["next"] = (
                    f"{self.url}{request.path}?after={start + len(chunk)}&limit={limit}"
                )
        return result

    # -- writes --------------------------------------------------------------------
    def _add_post(self, page: Page, post: dict[str, Any]) -> str:
        post_id = f"{page.id}_{self._next_id()}"
        now = self.clock()
        record = {
            "id": post_id,
            "created_time": graph_time(now),
            "_created": now,
            "permalink_url": f"https://www.facebook.com/{page.username or page.id}/posts/{post_id.split('_')[1]}",
            **post,
        }
        record.setdefault("message", "")
        self.nodes[post_id] = record
        page.timeline.append(record)
        self.posts.append(record)
        return post_id

    async def _create(
        self, request: web.Request, page: Page, edge: str, params: dict[str, Any]
    ) -> Any:
        self.received.append({"edge": edge, **params})
        published = boolean(params, "published", True)
        creates_post = edge != "photos" or published
        failure = self.take_failure() if creates_post else None
        if failure is not None and failure.kind != "drop":
            raise self._injected(failure, page)
        if creates_post:
            await self.slow_down()
        if edge == "feed":
            result = await self._create_feed(page, params, published)
        elif edge == "photos":
            result = await self._create_photo(page, params, published)
        else:
            result = await self._create_video(page, params)
        if failure is not None:  # "drop": created, then the answer is lost
            await self.drop_connection(request)
        return result

    def _injected(self, failure: Any, page: Page) -> GraphError:
        if failure.kind == "auth":
            return self._expired()
        if failure.kind == "rate_limit":
            minutes = max(1, math.ceil(failure.retry_after / 60))
            usage = {
                page.id: [
                    {
                        "type": "pages",
                        "call_count": 100,
                        "total_cputime": 4,
                        "total_time": 5,
                        "estimated_time_to_regain_access": minutes,
                    }
                ]
            }
            return GraphError(
                400,
                80001,
                "(#80001) There have been too many calls to this Page account. Wait a bit and "
                "try again.",
                headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
            )
        if failure.kind == "unavailable":
            return GraphError(
                500,
                2,
                "An unexpected error has occurred. Please retry your request later.",
                transient=True,
            )
        if failure.kind == "reject":
            return GraphError(
                400,
                368,
                failure.extra.get(
                    "message",
                    "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
                ),
                subcode=1346003,
            )
        if failure.kind == "error":
            extra = failure.extra
            return GraphError(
                int(extra.get("status", 400)),
                int(extra["code"]),
                str(extra.get("message", f"(#{extra['code']}) Injected error")),
                subcode=extra.get("subcode"),
                transient=bool(extra.get("transient", False)),
                headers=dict(extra.get("headers") or {}),
            )
        raise AssertionError(f"unknown failure kind {failure.kind}")

    async def _fetch(self, url: str) -> tuple[int, str, bytes] | None:
        """GET a public URL the way Facebook's fetcher does (None: unreachable)."""
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp,
            ):
                return resp.status, resp.content_type, await resp.read()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    def _attached(self, page: Page, params: dict[str, Any]) -> list[Photo]:
        raw: list[Any] = []
        if "attached_media" in params:
            value = params["attached_media"]
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    raise GraphError(
                        400, 100, "(#100) param attached_media must be an array"
                    ) from exc
            if not isinstance(value, list):
                raise GraphError(400, 100, "(#100) param attached_media must be an array")
            raw = value
        indexed = sorted(
            (int(m.group(1)), v)
            for k, v in params.items()
            if (m := re.fullmatch(r"attached_media\[(\d+)\]", k))
        )
        raw += [v for _, v in indexed]
        photos: list[Photo] = []
        for index, item in enumerate(raw):
            name = f"attached_media[{index}]"
            if isinstance(item, str):
                try:
                    item = json.loads(item)
                except ValueError as exc:
                    raise GraphError(
                        400, 100, f"(#100) param {name} must be a JSON object"
                    ) from exc
            fbid = str(item.get("media_fbid", "")) if isinstance(item, dict) else ""
            photo = self.photos.get(fbid)
            if photo is None or photo.page_id != page.id:
                raise GraphError(400, 100, f"(#100) param {name} has an invalid media_fbid")
            if photo.published or photo.attached_to is not None:
                raise GraphError(400, 100, "These photos were already posted.", subcode=1366051)
            photos.append(photo)
        return photos

    async def _create_feed(self, page: Page, params: dict[str, Any], published: bool) -> Any:
        message = str(params.get("message") or "")
        link = str(params.get("link") or "")
        photos = self._attached(page, params)
        if not message and not link and not photos:
            raise GraphError(400, 100, "(#100) Missing message or attachment")
        if len(message) > 63206:
            raise GraphError(400, 100, "(#100) Param message must be at most 63206 characters long")
        if message and page.timeline and page.timeline[-1]["message"] == message:
            raise GraphError(400, 506, "(#506) Duplicate status message")
        if link:
            fetched = await self._fetch(link)
            if fetched is None or fetched[0] != 200:
                raise GraphError(
                    400,
                    100,
                    "(#100) Error posting link: the link could not be fetched",
                    subcode=1609005,
                )
        if not published:
            return {"id": f"{page.id}_{self._next_id()}"}
        post: dict[str, Any] = {"message": message}
        if link:
            post["link"] = link
        if photos:
            post["photos"] = [{"id": p.id, "url": p.url, "alt_text": p.alt_text} for p in photos]
        post_id = self._add_post(page, post)
        for photo in photos:
            photo.attached_to = post_id
        return {"id": post_id}

    async def _create_photo(self, page: Page, params: dict[str, Any], published: bool) -> Any:
        url = str(params.get("url") or "")
        if not url:
            raise GraphError(400, 324, "(#324) Requires upload file")
        if not re.match(r"https?://", url):
            raise GraphError(400, 100, "(#100) url should represent a valid URL")
        fetched = await self._fetch(url)
        if fetched is None or fetched[0] != 200 or not is_image(fetched[2]):
            raise GraphError(400, 324, "(#324) Missing or invalid image file")
        if len(fetched[2]) > self.max_photo_bytes:
            raise GraphError(
                400,
                100,
                "Photos should be smaller than 4 MB and saved as JPG, PNG, GIF, TIFF, HEIF or "
                "WebP files.",
                subcode=1366046,
            )
        caption = str(params.get("caption") or params.get("message") or "")
        alt = params.get("alt_text_custom")
        photo = Photo(self._next_id(), page.id, url, str(alt) if alt else None, published, caption)
        self.photos[photo.id] = photo
        if not published:
            return {"id": photo.id}
        post = {
            "message": caption,
            "photos": [{"id": photo.id, "url": url, "alt_text": photo.alt_text}],
        }
        post_id = self._add_post(page, post)
        photo.attached_to = post_id
        return {"id": photo.id, "post_id": post_id}

    async def _create_video(self, page: Page, params: dict[str, Any]) -> Any:
        file_url = str(params.get("file_url") or "")
        if not file_url:
            raise GraphError(
                400, 100, "(#100) No file was uploaded: file_url or source is required"
            )
        fetched = await self._fetch(file_url)
        if fetched is None or fetched[0] != 200:
            raise GraphError(400, 389, "(#389) Unable to fetch video file from URL.")
        description = str(params.get("description") or "")
        video = Video(
            self._next_id(),
            page.id,
            file_url,
            description,
            self.clock(),
            self.processing_polls,
            self.fail_processing or fetched[2][4:8] != b"ftyp",
        )
        self.videos[video.id] = video
        return {"id": video.id}
