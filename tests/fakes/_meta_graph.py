"""Shared core of the Threads and Instagram fakes: Meta's container -> status -> publish API.

Subclasses (tests/fakes/threads.py, tests/fakes/instagram.py) say how a container
request is validated (`build_container`) and name their edges, fields and error
bodies. What this core enforces, with Graph error envelopes
(`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`):

- a token on every Graph call, as `access_token` (query or form) or
  `Authorization: Bearer|OAuth` (104 missing, 190 unknown, 190/463 expired,
  190/458 once the user removed the app: `revoke()`); creating and publishing
  need the platform's publish scope among the token's granted scopes (#10);
- OAuth (`_meta_oauth.py` holds the shared rules): the authorize page
  (`GET /oauth/authorize`), the code exchange (`POST /oauth/access_token`, a
  short-lived token of one hour carrying the granted scopes), the exchange for a
  long-lived token (`GET /access_token?grant_type=...`: the app's secret and an
  unexpired short-lived token);
- `GET /refresh_access_token?grant_type=...`: known, unexpired (190/463) and at
  least 24 h old tokens only; the old token stays valid until it expires;
- containers: the media URL is fetched (GET) while the request waits, as Meta's
  crawler does: images that cannot be fetched or have the wrong type fail the
  request; videos that cannot be fetched end in status ERROR. Then
  `processing_polls` IN_PROGRESS answers before FINISHED (or ERROR when
  `fail_processing` is set), EXPIRED 24 h after creation, PUBLISHED once published;
- carousels: 2..`max_carousel` existing, own, FINISHED `is_carousel_item` children;
- publish: `creation_id` required, own container, FINISHED only (9007/2207027
  "Media ID is not available"), a published container is refused, carousel items
  cannot be published alone, the rolling 24 h quota (`quota_total`);
- `X-App-Usage` and `X-Business-Use-Case-Usage` on every answer; throttling
  answers code 4 with `estimated_time_to_regain_access` (minutes) in the latter.

Controls: delay, fail_next(kind), processing_polls, fail_processing (an error
message; sticky until reset to None), quota_total, extra_quota_usage,
throttle_status, expire(token), revoke(), issue_token(age=..., lifetime=...,
scopes=...), expire_container(id), oauth (redirect_uris, deny, decline).
Records: requests, posts (published), containers, received (every create's
parameters), refreshes (tokens issued by refresh), exchanges (long-lived tokens
issued for short-lived ones), oauth.codes / oauth.authorizations.
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import aiohttp
from aiohttp import web

from tests.fakes._base import FakePlatform
from tests.fakes._meta_oauth import MetaOAuth, Refusal

DAY = 86400.0
LONG_LIVED = 60 * DAY
SHORT_LIVED = 3600.0


@dataclass
class Token:
    value: str
    issued_at: float
    expires_at: float
    #: granted scopes; None: a token pasted by the user, good for everything
    scopes: frozenset[str] | None = None
    #: a short-lived token from the code exchange (the one kind that can be exchanged)
    short: bool = False
    revoked: bool = False


@dataclass
class Container:
    id: str
    kind: str  # TEXT | IMAGE | VIDEO | REELS | CAROUSEL
    params: dict[str, str]
    created_at: float
    carousel_item: bool = False
    children: list[str] = field(default_factory=list)
    polls_left: int = 0
    status: str = "IN_PROGRESS"
    error: str = ""
    final: str = "FINISHED"  # what IN_PROGRESS turns into
    media_id: str = ""


class MetaGraphFake(FakePlatform):
    """Routes and state shared by the Meta container platforms."""

    version: ClassVar[str]
    create_edge: ClassVar[str]
    publish_edge: ClassVar[str]
    quota_edge: ClassVar[str]
    status_key: ClassVar[str]
    error_key: ClassVar[str]
    text_field: ClassVar[str]
    refresh_grant: ClassVar[str]
    usage_type: ClassVar[str]
    max_carousel: ClassVar[int]
    default_quota: ClassVar[int]
    user_id: ClassVar[str]
    token_prefix: ClassVar[str]
    username: ClassVar[str] = "octo_demo"
    display_name: ClassVar[str] = "Octo Demo"
    #: OAuth: every scope Meta knows for the platform, the ones it requires, the one
    #: creating and publishing need, and the `grant_type` of the long-lived exchange
    known_scopes: ClassVar[frozenset[str]]
    required_scopes: ClassVar[frozenset[str]]
    publish_scope: ClassVar[str]
    exchange_grant: ClassVar[str]
    #: what the redirect after consent appends (Instagram: "#_")
    redirect_fragment: ClassVar[str] = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokens: dict[str, Token] = {}
        self.containers: dict[str, Container] = {}
        self.received: list[dict[str, str]] = []
        self.refreshes: list[str] = []
        self.exchanges: list[str] = []
        self.oauth = MetaOAuth(
            clock=lambda: self.clock(),
            known_scopes=self.known_scopes,
            required_scopes=self.required_scopes,
            fragment=self.redirect_fragment,
        )
        self.processing_polls = 1
        self.fail_processing: str | None = None
        self.quota_total = self.default_quota
        self.extra_quota_usage = 0
        self.throttle_status = 400
        self._ids = itertools.count(17_900_000_000_000_001)
        self._session: aiohttp.ClientSession | None = None
        # What the user pastes: a long-lived token issued a month ago.
        self.token = self.issue_token(age=30 * DAY).value

    # -- subclass hooks ------------------------------------------------------------
    def build_container(self, params: dict[str, str]) -> Container | web.Response:
        raise NotImplementedError

    def reject_body(self) -> dict[str, Any]:
        raise NotImplementedError

    def quota_error(self) -> dict[str, Any]:
        raise NotImplementedError

    def image_error(self, problem: str) -> dict[str, Any]:
        """The error a container request gets when its image cannot be used."""
        raise NotImplementedError

    def video_error(self) -> str:
        """The status text of a video container whose URL could not be fetched."""
        raise NotImplementedError

    def me_fields(self) -> dict[str, Any]:
        raise NotImplementedError

    def code_answer(self, token: Token) -> dict[str, Any]:
        """The body of a successful `POST /oauth/access_token`."""
        raise NotImplementedError

    def code_refusal(self, refusal: Refusal) -> web.Response:
        """The answer of a `POST /oauth/access_token` that did not redeem."""
        raise NotImplementedError

    def permalink(self, shortcode: str, container: Container) -> str:
        raise NotImplementedError

    image_types: ClassVar[frozenset[str]] = frozenset({"image/jpeg"})

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> Self:
        self._session = aiohttp.ClientSession()
        await super().start()
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def stop(self) -> None:
        await super().stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def credentials(self) -> dict[str, Any]:
        return {"access_token": self.token}

    def platform_config(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "api_version": self.version,
            "poll_interval": 0.01,
            "poll_timeout": 5.0,
            # the authorize page (threads.net, www.instagram.com) is served here too
            "authorize_url": self.url + "/oauth/authorize",
            "client_id": self.oauth.client_id,
            "client_secret": self.oauth.client_secret,
        }

    # -- controls --------------------------------------------------------------------
    def issue_token(
        self,
        *,
        age: float = 0.0,
        lifetime: float = LONG_LIVED,
        scopes: frozenset[str] | None = None,
        short: bool = False,
    ) -> Token:
        now = self.clock()
        token = Token(
            f"{self.token_prefix}{secrets.token_hex(16)}",
            now - age,
            now - age + lifetime,
            scopes,
            short,
        )
        self.tokens[token.value] = token
        return token

    def expire(self, token: str) -> None:
        self.tokens[token].expires_at = self.clock() - 1

    def revoke(self) -> None:
        """The user removes the app: every token stops working, refreshing included."""
        for token in self.tokens.values():
            token.revoked = True

    def expire_container(self, container_id: str) -> None:
        self.containers[container_id].created_at = self.clock() - DAY - 1

    def quota_usage(self) -> int:
        since = self.clock() - DAY
        return self.extra_quota_usage + sum(1 for p in self.posts if p["created_at"] > since)

    # -- helpers ---------------------------------------------------------------------
    def next_id(self) -> str:
        return str(next(self._ids))

    def error(
        self,
        status: int,
        message: str,
        code: int | str,
        subcode: int | None = None,
        *,
        kind: str = "OAuthException",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> web.Response:
        body: dict[str, Any] = {"message": message, "type": kind, "code": code}
        if subcode is not None:
            body["error_subcode"] = subcode
        body.update(extra)
        body["fbtrace_id"] = "A" + secrets.token_hex(8)
        return web.json_response({"error": body}, status=status, headers=self.usage(headers))

    def usage(
        self, headers: dict[str, str] | None = None, regain_minutes: int = 0
    ) -> dict[str, str]:
        calls = 100 if regain_minutes else 3
        out = {
            "X-App-Usage": json.dumps({"call_count": calls, "total_cputime": 1, "total_time": 1}),
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    self.user_id: [
                        {
                            "type": self.usage_type,
                            "call_count": calls,
                            "total_cputime": 1,
                            "total_time": 1,
                            "estimated_time_to_regain_access": regain_minutes,
                        }
                    ]
                }
            ),
        }
        out.update(headers or {})
        return out

    def ok(self, data: Any) -> web.Response:
        return web.json_response(data, headers=self.usage())

    async def params(self, request: web.Request) -> dict[str, str]:
        merged = {k: v for k, v in request.query.items()}
        if request.method == "POST":
            if request.content_type == "application/json":
                body = await request.json()
                merged.update({k: str(v) for k, v in body.items()})
            else:
                form = await request.post()
                merged.update({k: str(v) for k, v in form.items()})
        return merged

    def authenticate(
        self, request: web.Request, params: dict[str, str], *, scope: str | None = None
    ) -> web.Response | None:
        value = params.pop("access_token", "")
        header = request.headers.get("Authorization", "")
        if not value and header.split(" ", 1)[0] in ("Bearer", "OAuth"):
            value = header.split(" ", 1)[1].strip()
        if not value:
            return self.error(400, "An access token is required to request this resource.", 104)
        token = self.tokens.get(value)
        if token is None:
            return self.error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        return self.usable(token, scope)

    def usable(self, token: Token, scope: str | None = None) -> web.Response | None:
        if token.revoked:
            return self.error(
                400,
                "Error validating access token: The user has not authorized application "
                f"{self.oauth.client_id}.",
                190,
                458,
            )
        if token.expires_at <= self.clock():
            return self.expired()
        if scope is not None and token.scopes is not None and scope not in token.scopes:
            return self.error(
                403, f"(#10) Application does not have permission for this action ({scope})", 10
            )
        return None

    def expired(self) -> web.Response:
        stamp = datetime.now(UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")
        return self.error(
            400,
            f"Error validating access token: Session has expired on {stamp}.",
            190,
            463,
        )

    def listed(self) -> list[dict[str, Any]]:
        """The posts the account's media listing shows."""
        return self.posts

    def own(self, uid: str) -> bool:
        return uid in (self.user_id, "me")

    def missing_param(self, name: str) -> web.Response:
        return self.error(400, f"(#100) The parameter {name} is required", 100)

    @staticmethod
    def stamp(when: float) -> str:
        return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")

    def fields(
        self, params: dict[str, str], data: dict[str, Any], always: tuple[str, ...] = ("id",)
    ) -> dict[str, Any]:
        wanted = [f for f in params.get("fields", "").split(",") if f] or list(always)
        return {k: data[k] for k in (*always, *wanted) if k in data}

    async def fetch(self, url: str) -> tuple[str | None, str]:
        """GET the media like Meta's crawler: (content type, problem)."""
        assert self._session is not None
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                await resp.read()
                if resp.status != 200:
                    return None, f"HTTP {resp.status}"
                return resp.headers.get("Content-Type", "").split(";")[0].strip(), ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, exc.__class__.__name__

    def state_of(self, container: Container) -> str:
        if container.status == "IN_PROGRESS":
            if container.polls_left > 0:
                container.polls_left -= 1
            else:
                container.status = container.final
        if (
            container.status in ("IN_PROGRESS", "FINISHED")
            and container.created_at < self.clock() - DAY
        ):
            container.status = "EXPIRED"
        return container.status

    # -- routes ------------------------------------------------------------------------
    def setup_routes(self, router: web.UrlDispatcher) -> None:
        v = "/{version}"
        router.add_get("/oauth/authorize", self.authorize)
        router.add_post("/oauth/access_token", self.redeem_code)
        router.add_get("/access_token", self.exchange)
        router.add_get("/refresh_access_token", self.refresh)
        router.add_get(v + "/me", self.me)
        router.add_get(v + "/{uid}/" + self.create_edge, self.list_media)
        router.add_post(v + "/{uid}/" + self.create_edge, self.create)
        router.add_post(v + "/{uid}/" + self.publish_edge, self.publish)
        router.add_get(v + "/{uid}/" + self.quota_edge, self.quota)
        router.add_get(v + "/{node}", self.node)

    def check_version(self, request: web.Request) -> web.Response | None:
        if request.match_info.get("version") != self.version:
            return self.error(400, "Unknown path components: " + request.path, 2500)
        return None

    async def authorize(self, request: web.Request) -> web.Response:
        return self.oauth.authorize(dict(request.query))

    async def redeem_code(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            # Meta's token endpoints take a form, not JSON
            return self.code_refusal(Refusal("unknown", "Missing client_id parameter."))
        form = {k: str(v) for k, v in (await request.post()).items()}
        if form.get("grant_type") != "authorization_code":
            return self.code_refusal(Refusal("grant", "Unsupported grant_type"))
        redeemed = self.oauth.redeem(form)
        if isinstance(redeemed, Refusal):
            return self.code_refusal(redeemed)
        token = self.issue_token(lifetime=SHORT_LIVED, scopes=redeemed.scopes, short=True)
        return web.json_response(self.code_answer(token))

    async def exchange(self, request: web.Request) -> web.Response:
        """Short-lived -> long-lived (60 days), server-side: it takes the app's secret."""
        params = dict(request.query)
        if params.get("grant_type") != self.exchange_grant:
            return self.error(400, "Unsupported grant_type", 100)
        if params.get("client_secret") != self.oauth.client_secret:
            return self.error(400, "Error validating client secret.", 1)
        token = self.tokens.get(params.get("access_token", ""))
        if token is None:
            return self.error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        refused = self.usable(token)
        if refused is not None:
            return refused  # an expired short-lived token cannot be exchanged
        if not token.short:
            return self.error(400, "(#100) Only a short-lived access token can be exchanged", 100)
        fresh = self.issue_token(scopes=token.scopes)
        self.exchanges.append(fresh.value)
        return self.ok(
            {
                "access_token": fresh.value,
                "token_type": "bearer",
                "expires_in": int(LONG_LIVED) - 56,
            }
        )

    async def refresh(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if params.get("grant_type") != self.refresh_grant:
            return self.error(400, "Unsupported grant_type", 100)
        token = self.tokens.get(params.get("access_token", ""))
        if token is None:
            return self.error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        refused = self.usable(token)
        if refused is not None:
            return refused
        now = self.clock()
        if token.short:
            return self.error(400, "(#100) A short-lived access token cannot be refreshed", 100)
        if now - token.issued_at < DAY:
            return self.error(400, "The access token is too new to be refreshed.", 100)
        fresh = self.issue_token(scopes=token.scopes)
        self.refreshes.append(fresh.value)
        return self.ok(
            {
                "access_token": fresh.value,
                "token_type": "bearer",
                "expires_in": int(LONG_LIVED) - 56,
            }
        )

    async def me(self, request: web.Request) -> web.Response:
        params = await self.params(request)
        failure = self.check_version(request) or self.authenticate(request, params)
        if failure is not None:
            return failure
        return self.ok(self.fields(params, self.me_fields()))

    async def node(self, request: web.Request) -> web.Response:
        params = await self.params(request)
        failure = self.check_version(request) or self.authenticate(request, params)
        if failure is not None:
            return failure
        node = request.match_info["node"]
        if node == self.user_id:
            return self.ok(self.fields(params, self.me_fields()))
        container = self.containers.get(node)
        if container is not None:
            data = {"id": container.id, self.status_key: self.state_of(container)}
            if container.status == "ERROR":
                data[self.error_key] = container.error
            return self.ok(self.fields(params, data))
        post = next((p for p in self.posts if p["id"] == node), None)
        if post is not None:
            return self.ok(self.fields(params, post))
        return self.error(
            400,
            f"Unsupported get request. Object with ID '{node}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            100,
            33,
            kind="GraphMethodException",
        )

    async def list_media(self, request: web.Request) -> web.Response:
        params = await self.params(request)
        failure = self.check_version(request) or self.authenticate(request, params)
        if failure is not None:
            return failure
        if not self.own(request.match_info["uid"]):
            return self.error(403, "(#10) Application does not have permission for this action", 10)
        limit = int(params.get("limit") or 25)
        newest = sorted(self.listed(), key=lambda p: p["created_at"], reverse=True)[:limit]
        return self.ok({"data": [self.fields(params, p) for p in newest], "paging": {}})

    async def quota(self, request: web.Request) -> web.Response:
        params = await self.params(request)
        # the publishing quota is read with the publish permission
        failure = self.check_version(request) or self.authenticate(
            request, params, scope=self.publish_scope
        )
        if failure is not None:
            return failure
        if not self.own(request.match_info["uid"]):
            return self.error(403, "(#10) Application does not have permission for this action", 10)
        data = {
            "quota_usage": self.quota_usage(),
            "config": {"quota_total": self.quota_total, "quota_duration": int(DAY)},
        }
        return self.ok({"data": [self.fields(params, data, always=())]})

    async def create(self, request: web.Request) -> web.Response:
        params = await self.params(request)
        failure = self.check_version(request) or self.authenticate(
            request, params, scope=self.publish_scope
        )
        if failure is not None:
            return failure
        if not self.own(request.match_info["uid"]):
            return self.error(403, "(#10) Application does not have permission for this action", 10)
        self.received.append(dict(params))
        built = self.build_container(params)
        if isinstance(built, web.Response):
            return built
        if built.kind == "CAROUSEL":
            refused = self.check_children(built)
            if refused is not None:
                return refused
        url = built.params.get("image_url") or built.params.get("video_url")
        if url:
            ctype, problem = await self.fetch(url)
            if built.params.get("image_url"):
                if problem:
                    return web.json_response(
                        {"error": self.image_error(f"could not be fetched ({problem})")},
                        status=400,
                        headers=self.usage(),
                    )
                if ctype not in self.image_types:
                    return web.json_response(
                        {"error": self.image_error(f"unsupported type {ctype}")},
                        status=400,
                        headers=self.usage(),
                    )
            elif problem:
                built.final, built.error = "ERROR", self.video_error()
        if self.fail_processing is not None:
            built.final, built.error = "ERROR", self.fail_processing
        built.polls_left = self.processing_polls
        self.containers[built.id] = built
        return self.ok({"id": built.id})

    def check_children(self, carousel: Container) -> web.Response | None:
        ids = carousel.children
        if not 2 <= len(ids) <= self.max_carousel:
            return self.error(
                400,
                f"The number of carousel items must be between 2 and {self.max_carousel}.",
                100,
                2207028,
            )
        for child_id in ids:
            child = self.containers.get(child_id)
            if child is None or not child.carousel_item:
                return self.error(400, f"(#100) Invalid children: {child_id}", 100)
            if self.state_of(child) != "FINISHED":
                return self.error(400, "Media ID is not available", 9007, 2207027)
        return None

    async def publish(self, request: web.Request) -> web.StreamResponse:
        params = await self.params(request)
        failure = self.check_version(request) or self.authenticate(
            request, params, scope=self.publish_scope
        )
        if failure is not None:
            return failure
        if not self.own(request.match_info["uid"]):
            return self.error(403, "(#10) Application does not have permission for this action", 10)
        creation_id = params.get("creation_id", "")
        if not creation_id:
            return self.missing_param("creation_id")
        container = self.containers.get(creation_id)
        if container is None or container.carousel_item:
            return self.error(400, f"(#100) Invalid parameter creation_id: {creation_id}", 100)
        injected = self.take_failure()
        if injected is not None and injected.kind != "drop":
            return self.injected(injected.kind, injected.retry_after)
        state = self.state_of(container)
        if state == "PUBLISHED":
            return self.error(400, "(#100) The media has already been published", 100)
        if state == "EXPIRED":
            return self.error(400, "The media container has expired", -2, 2207020)
        if state != "FINISHED":
            return self.error(
                400,
                "Media ID is not available",
                9007,
                2207027,
                error_user_title="Cannot publish",
                error_user_msg="The media is not ready for publishing, please wait for a moment",
            )
        if self.quota_usage() >= self.quota_total:
            return web.json_response(
                {"error": self.quota_error()}, status=400, headers=self.usage()
            )
        await self.slow_down()
        post = self.record_post(container)
        if injected is not None:  # "drop": the post exists, the answer is lost
            return await self.drop_connection(request)
        return self.ok({"id": post["id"]})

    def record_post(self, container: Container) -> dict[str, Any]:
        media_id = self.next_id()
        shortcode = "D" + secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")
        now = self.clock()
        children = [self.containers[c] for c in container.children]
        items = children or [container]
        post = {
            "id": media_id,
            "created_at": now,
            "timestamp": self.stamp(now),
            self.text_field: container.params.get(self.text_field, ""),
            "text": container.params.get(self.text_field, ""),
            "media_type": container.kind,
            "shortcode": shortcode,
            "permalink": self.permalink(shortcode, container),
            "username": self.username,
            "container": container.id,
            "media": [
                {
                    "url": c.params.get("image_url") or c.params.get("video_url"),
                    "type": c.kind,
                    "alt_text": c.params.get("alt_text"),
                }
                for c in items
                if c.kind != "TEXT"
            ],
            "params": dict(container.params),
        }
        self.posts.append(post)
        container.status, container.media_id = "PUBLISHED", media_id
        return post

    def injected(self, kind: str, retry_after: int) -> web.Response:
        if kind == "auth":
            return self.expired()
        if kind == "rate_limit":
            minutes = max(1, math.ceil(retry_after / 60))
            return web.json_response(
                {
                    "error": {
                        "message": "(#4) Application request limit reached",
                        "type": "OAuthException",
                        "code": 4,
                        "is_transient": True,
                        "fbtrace_id": "A" + secrets.token_hex(8),
                    }
                },
                status=self.throttle_status,
                headers=self.usage(regain_minutes=minutes),
            )
        if kind == "unavailable":
            return self.error(
                500,
                "An unexpected error has occurred. Please retry your request later.",
                2,
                is_transient=True,
            )
        if kind == "reject":
            return web.json_response(
                {"error": self.reject_body()}, status=400, headers=self.usage()
            )
        raise ValueError(f"unknown failure kind {kind!r}")
