"""Fake TikTok Content Posting API (open.tiktokapis.com) on 127.0.0.1.

Enforces what the real API does, per TikTok's Content Posting API docs
(developers.tiktok.com/doc/content-posting-api-reference-direct-post) and Login Kit
(developers.tiktok.com/doc/login-kit-web, login-kit-desktop, oauth-user-access-token-management):
- Connecting: `GET /v2/auth/authorize/` (www.tiktok.com on the real platform) with
  `client_key`, comma-separated `scope`, `redirect_uri`, `state` (tests/fakes/_oauth.py
  holds the rules every authorization server here shares). The app's type decides PKCE:
  a desktop app (`client_type = "desktop"`, the default: the only type TikTok lets redirect
  to http://127.0.0.1 or localhost, any port when registered as `:*`) must send an S256
  `code_challenge`, which TikTok's desktop kit hex-encodes (its example does
  `SHA256(verifier).toString(Hex)`; base64url answers "Code verifier or code challenge is
  invalid"); a web app (https redirect URIs only) sends none. The approval redirect carries
  `code`, the granted `scopes` and `state`.
- `POST /v2/oauth/token/` (form): `authorization_code` (client_key, client_secret, code,
  redirect_uri, code_verifier for desktop apps) and `refresh_token` grants; rotating
  single-use refresh tokens (a reused one answers `invalid_grant`) that expire after
  `refresh_lifetime`; OAuth errors in their own shape, with HTTP 200.
- `POST /v2/oauth/revoke/` (form: client_key, client_secret, token): the whole grant dies.
- Bearer access tokens with expiry and the grant's scopes: `user.info.basic` for user/info
  (`user.info.profile` for its `username`), `video.publish` to post directly,
  `video.upload` for the inbox; a missing scope answers 401 `scope_not_authorized`.
- The envelope `{"data": {...}, "error": {"code", "message", "log_id"}}` on every answer,
  errors included (some with HTTP 200: creator_info's spam errors, `creator_error`).
- creator_info privacy options; init refuses other levels (403 privacy_level_option_mismatch),
  titles over 2,200 UTF-16 units and chunk plans that break the rules (5-64 MB chunks,
  total_chunk_count = floor(size / chunk), last chunk <= 128 MB, single chunk under 5 MB).
- The upload URL: Content-Type, Content-Range continuity (416), chunk sizes (400), expiry
  after an hour (403); 206 until the last chunk, then 201.
- PULL_FROM_URL: only verified URL prefixes (403 url_ownership_unverified); the fake downloads
  the URL itself (the tests' MediaServer).
- status/fetch: PROCESSING_UPLOAD / PROCESSING_DOWNLOAD for `processing_polls` polls, then
  PUBLISH_COMPLETE (public id only for posts not SELF_ONLY) or FAILED with `fail_reason`.
- Per-token rate limits per minute (init 6, creator_info 20, status 30) -> 429 rate_limit_exceeded.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections import defaultdict, deque
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from tests.fakes._base import FakePlatform
from tests.fakes._oauth import AuthorizationServer, Code

MB = 1_000_000
PUBLIC_OPTIONS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
PRIVATE_OPTIONS = ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/webm"}
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")

MESSAGES = {
    "access_token_invalid": "The access token is invalid or not found in the request.",
    "rate_limit_exceeded": "API rate limit was exceeded, please try again later.",
    "invalid_params": "The request parameters are invalid.",
    "privacy_level_option_mismatch": "The privacy level is not in the creator's options.",
    "spam_risk_too_many_posts": "The daily post cap from the API has been reached for the current user.",
    "spam_risk_user_banned_from_posting": "The user is banned from making new posts.",
    "url_ownership_unverified": "The domain or URL prefix of the media URL is not verified.",
    "invalid_publish_id": "The publish_id does not exist.",
    "internal_error": "Something went wrong. Please try again later.",
    "invalid_file_upload": "The file does not meet the upload requirements.",
    "scope_not_authorized": "The user did not authorize the scope required for completing this request.",
}
#: the scopes the fake's app may ask for (approved in its developer portal)
SCOPES = ("user.info.basic", "user.info.profile", "video.publish", "video.upload")
#: user/info fields and the scope each needs (the API reference's field table)
FIELD_SCOPES = {
    "open_id": "user.info.basic",
    "union_id": "user.info.basic",
    "avatar_url": "user.info.basic",
    "display_name": "user.info.basic",
    "username": "user.info.profile",
}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Fake(FakePlatform):
    platform: ClassVar[str] = "tiktok"
    contract_media: ClassVar[str] = "video"

    CLIENT_KEY = "awfakeclientkey"
    CLIENT_SECRET = "fake-client-secret"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token_lifetime = 86_400
        #: 365 days (the long-standing doc); 180 under the 2026 rules (`refresh_lifetime`)
        self.refresh_lifetime = 31_536_000
        self.access_tokens: dict[str, float] = {}  # token -> expires at (fake clock)
        self.refresh_tokens: dict[str, str] = {}  # token -> "live" | "used" | "revoked"
        self.refresh_expiry: dict[str, float] = {}
        #: every token -> its grant; a grant's scopes, and whether it was revoked
        self.token_grant: dict[str, str] = {}
        self.grants: dict[str, dict[str, Any]] = {}
        self.refresh_count = 0
        self.revoked: list[str] = []  # tokens presented to /v2/oauth/revoke/
        self.oauth = AuthorizationServer(
            client_id=self.CLIENT_KEY,
            known_scopes=frozenset(SCOPES),
            user="the test user",
            clock=self.clock,
            scope_separator=",",
            client_id_param="client_key",
            code_ttl=600,
            challenge_encoding="hex",
            redirect_extra=lambda code: {"scopes": ",".join(sorted(code.scopes))},
            on_replay=lambda code: self._revoke_tokens(code.issued),
        )
        self.client_type = "desktop"
        self.open_id = "-000fakeopenid"
        self.username = "octo.demo"
        self.nickname = "Octo"
        self.privacy_options = list(PUBLIC_OPTIONS)
        self.comment_disabled = False
        self.duet_disabled = False
        self.stitch_disabled = True
        self.max_duration = 300
        #: creator_info answers this error code with HTTP 200 (e.g. spam_risk_too_many_posts)
        self.creator_error: str | None = None
        #: status polls answered PROCESSING_* after the bytes arrived
        self.processing_polls = 1
        #: the next completed publish ends FAILED with this reason (then resets)
        self.fail_reason: str | None = None
        self.verified_prefixes = ["http://127.0.0.1:"]
        #: answer this chunk number (1-based) of the next upload with 503 once
        self.fail_chunk: int | None = None
        self.rate_limits = {"init": 6, "creator_info": 20, "status": 30}
        #: TikTok documents no reset header on 429; the fake sends Retry-After unless False
        self.send_retry_after = True
        self.publishes: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, str] = {}  # upload_id -> publish_id
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._next_id = 7_311_234_567_890_123_456
        self.access_token, self.refresh_token = self._issue(self._new_grant(SCOPES))

    @property
    def client_type(self) -> str:
        return self._client_type

    @client_type.setter
    def client_type(self, kind: str) -> None:
        """ "desktop": loopback redirects, PKCE required; "web": https redirects, no PKCE."""
        if kind not in ("desktop", "web"):
            raise ValueError(kind)
        self._client_type = kind
        self.oauth.pkce = "S256" if kind == "desktop" else None
        # what the README says to register for a desktop app: the server's callback and
        # the command line's listener, on any port
        self.oauth.redirect_uris = (
            {"http://127.0.0.1:*/v1/oauth/callback/tiktok", "http://127.0.0.1:*/callback"}
            if kind == "desktop"
            else set()
        )

    def register_redirect_uri(self, uri: str) -> None:
        """As the developer portal does: web apps take https only, desktop apps loopback
        hosts with a port (`:*` for any)."""
        parts = urlsplit(uri.replace(":*", ":0"))
        if self.client_type == "web" and parts.scheme != "https":
            raise ValueError("web apps need https redirect URIs")
        if self.client_type == "desktop" and (
            parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None
        ):
            raise ValueError("desktop apps redirect to localhost or 127.0.0.1 with a port")
        self.oauth.redirect_uris.add(uri)

    # -- setup ---------------------------------------------------------------
    def setup_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v2/auth/authorize/", self.authorize)
        router.add_post("/v2/oauth/token/", self.token)
        router.add_post("/v2/oauth/revoke/", self.revoke)
        router.add_get("/v2/user/info/", self.user_info)
        router.add_post("/v2/post/publish/creator_info/query/", self.creator_info)
        router.add_post("/v2/post/publish/video/init/", self.video_init)
        router.add_post("/v2/post/publish/content/init/", self.content_init)
        router.add_post("/v2/post/publish/status/fetch/", self.status_fetch)
        router.add_put("/upload/video/", self.upload)

    def credentials(self) -> dict[str, Any]:
        return {
            "client_key": self.CLIENT_KEY,
            "client_secret": self.CLIENT_SECRET,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.clock() + self.token_lifetime,
            "open_id": self.open_id,
        }

    def platform_config(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "auth_url": self.url,
            "authorize_url": self.url + "/v2/auth/authorize/",
            "client_id": self.CLIENT_KEY,
            "client_secret": self.CLIENT_SECRET,
            "poll_interval": 0.01,
            "poll_timeout": 5.0,
        }

    # -- controls ------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (as after 24 h)."""
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0

    def revoke_all(self) -> None:
        """The user removes the app in TikTok's settings: every grant dies."""
        for grant in self.grants.values():
            grant["revoked"] = True

    def _new_grant(self, scopes: Any) -> str:
        grant_id = secrets.token_hex(6)
        self.grants[grant_id] = {"scopes": frozenset(scopes), "revoked": False}
        return grant_id

    def _issue(self, grant_id: str) -> tuple[str, str]:
        access, refresh = f"act.{secrets.token_hex(12)}", f"rft.{secrets.token_hex(12)}"
        self.access_tokens[access] = self.clock() + self.token_lifetime
        self.refresh_tokens[refresh] = "live"
        self.refresh_expiry[refresh] = self.clock() + self.refresh_lifetime
        self.token_grant[access] = self.token_grant[refresh] = grant_id
        return access, refresh

    def _revoke_tokens(self, tokens: list[str]) -> None:
        for token in tokens:
            grant = self.grants.get(self.token_grant.get(token, ""))
            if grant is not None:
                grant["revoked"] = True

    def _live(self, token: str) -> dict[str, Any] | None:
        """The grant of a live token (None: unknown, or its grant was revoked)."""
        grant = self.grants.get(self.token_grant.get(token, ""))
        return grant if grant is not None and not grant["revoked"] else None

    # -- helpers ---------------------------------------------------------------
    @staticmethod
    def envelope(
        data: dict[str, Any] | None = None,
        code: str = "ok",
        message: str | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        error = {
            "code": code,
            "message": "" if code == "ok" else (message or MESSAGES.get(code, code)),
            "log_id": secrets.token_hex(8),
        }
        return web.json_response(
            {"data": data or {}, "error": error}, status=status, headers=headers
        )

    def _auth(self, request: web.Request, *scopes: str) -> str | web.Response:
        """The caller's live token, holding one of `scopes` (when given)."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        grant = self._live(token)
        if not token or grant is None or self.access_tokens.get(token, 0.0) <= self.clock():
            return self.envelope(code="access_token_invalid", status=401)
        if scopes and not grant["scopes"] & set(scopes):
            return self.envelope(
                code="scope_not_authorized",
                message=f"The user did not authorize the scope {' or '.join(scopes)}.",
                status=401,
            )
        return token

    def _limited(self, token: str, endpoint: str) -> web.Response | None:
        window = self._windows[(token, endpoint)]
        now = self.clock()
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.rate_limits[endpoint]:
            wait = int(window[0] + 60 - now) + 1 if window else 60
            headers = {"Retry-After": str(wait)} if self.send_retry_after else None
            return self.envelope(code="rate_limit_exceeded", status=429, headers=headers)
        window.append(now)
        return None

    async def _json(self, request: web.Request) -> dict[str, Any] | web.Response:
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return self.envelope(
                code="invalid_params", message="Content-Type must be application/json", status=400
            )
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return self.envelope(
                code="invalid_params", message="The request body is not valid JSON.", status=400
            )
        if not isinstance(body, dict):
            return self.envelope(code="invalid_params", status=400)
        return body

    def _failure(self, request: web.Request) -> web.Response | str | None:
        failure = self.take_failure()
        if failure is None:
            return None
        status = failure.extra.get("status")
        if failure.kind == "auth":
            return self.envelope(code="access_token_invalid", status=status or 401)
        if failure.kind == "rate_limit":
            return self.envelope(
                code="rate_limit_exceeded",
                status=status or 429,
                headers={"Retry-After": str(failure.retry_after)},
            )
        if failure.kind == "unavailable":
            return self.envelope(code="internal_error", status=status or 500)
        if failure.kind == "reject":
            return self.envelope(
                code=failure.extra.get("code", "spam_risk_too_many_posts"), status=status or 403
            )
        if failure.kind == "drop":
            return "drop_init" if failure.extra.get("at") == "init" else "drop"
        raise AssertionError(f"unknown failure kind {failure.kind}")

    def _check_post_info(self, info: Any, photo: bool) -> web.Response | None:
        if not isinstance(info, dict):
            return self.envelope(code="invalid_params", message="post_info is required", status=400)
        privacy = info.get("privacy_level")
        if privacy not in self.privacy_options:
            return self.envelope(code="privacy_level_option_mismatch", status=403)
        if photo:
            if (
                utf16_len(str(info.get("title", ""))) > 90
                or utf16_len(str(info.get("description", ""))) > 4000
            ):
                return self.envelope(
                    code="invalid_params", message="title or description is too long", status=400
                )
        elif utf16_len(str(info.get("title", ""))) > 2200:
            return self.envelope(
                code="invalid_params", message="The title is too long.", status=400
            )
        return None

    def _verified(self, url: Any) -> bool:
        return isinstance(url, str) and any(url.startswith(p) for p in self.verified_prefixes)

    async def _download(self, url: str) -> bytes | None:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, allow_redirects=False) as resp,
            ):
                return await resp.read() if resp.status == 200 else None
        except aiohttp.ClientError:
            return None

    def _new_publish(
        self, kind: str, source: str, info: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        prefix = (
            "p_pub_url"
            if kind == "photo"
            else ("v_pub_file" if source == "FILE_UPLOAD" else "v_pub_url")
        )
        publish_id = f"{prefix}~v2-1.{secrets.randbelow(10**18)}"
        pub = {
            "publish_id": publish_id,
            "kind": kind,
            "source": source,
            "post_info": info,
            "state": "uploading" if source == "FILE_UPLOAD" else "processing",
            "created": self.clock(),
            "received": 0,
            "data": bytearray(),
            "polls_left": self.processing_polls,
            "fail_reason": None,
            "post": None,
            **extra,
        }
        self.publishes[publish_id] = pub
        return pub

    def _complete(self, pub: dict[str, Any], media: dict[str, Any]) -> None:
        """All media arrived: the publish will end FAILED (fail_reason) or as a post."""
        pub["state"] = "processing"
        pub["polls_left"] = self.processing_polls
        if self.fail_reason is not None:
            pub["fail_reason"], self.fail_reason = self.fail_reason, None
            return
        self._next_id += 1
        info = pub["post_info"]
        post = {
            "id": str(self._next_id),
            "publish_id": pub["publish_id"],
            "text": info.get("title") if pub["kind"] == "video" else info.get("description"),
            "privacy_level": info.get("privacy_level"),
            "post_info": info,
            "kind": pub["kind"],
            "source": pub["source"],
            **media,
        }
        pub["post"] = post
        self.posts.append(post)

    # -- OAuth -----------------------------------------------------------------
    @staticmethod
    def oauth_error(error: str, description: str) -> web.Response:
        # OAuth errors come in their own shape; TikTok's example shows no HTTP status, the
        # fake answers 200 so the adapter must read the body
        return web.json_response(
            {"error": error, "error_description": description, "log_id": secrets.token_hex(8)}
        )

    async def authorize(self, request: web.Request) -> web.Response:
        return await self.oauth.authorize(request)

    def _client_ok(self, form: Any) -> bool:
        return bool(
            form.get("client_key") == self.CLIENT_KEY
            and form.get("client_secret") == self.CLIENT_SECRET
        )

    def _token_answer(self, grant_id: str) -> web.Response:
        self.access_token, self.refresh_token = self._issue(grant_id)
        return web.json_response(
            {
                "access_token": self.access_token,
                "expires_in": self.token_lifetime,
                "open_id": self.open_id,
                "refresh_expires_in": self.refresh_lifetime,
                "refresh_token": self.refresh_token,
                "scope": ",".join(sorted(self.grants[grant_id]["scopes"])),
                "token_type": "Bearer",
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not self._client_ok(form):
            return self.oauth_error("invalid_client", "Client key or secret is invalid.")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            approved = self.oauth.redeem({k: str(v) for k, v in form.items()})
            if not isinstance(approved, Code):
                return self.oauth_error(approved[1]["error"], approved[1]["error_description"])
            grant_id = self._new_grant(approved.scopes)
            answer = self._token_answer(grant_id)
            approved.issued += [self.access_token, self.refresh_token]
            return answer
        if grant_type != "refresh_token":
            return self.oauth_error("invalid_request", "The request parameters are malformed.")
        old = str(form.get("refresh_token", ""))
        if (
            self.refresh_tokens.get(old) != "live"
            or self._live(old) is None
            or self.refresh_expiry.get(old, 0.0) <= self.clock()
        ):
            return self.oauth_error("invalid_grant", "Refresh token is invalid or expired.")
        self.refresh_tokens[old] = "used"  # rotation: the old refresh token dies
        self.refresh_count += 1
        return self._token_answer(self.token_grant[old])

    async def revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not self._client_ok(form):
            return self.oauth_error("invalid_client", "Client key or secret is invalid.")
        token = str(form.get("token") or "")
        if not token:
            return self.oauth_error("invalid_request", "The request parameters are malformed.")
        self.revoked.append(token)
        self._revoke_tokens([token])  # an unknown token is no error (RFC 7009 2.2)
        return web.json_response({})

    # -- API -------------------------------------------------------------------
    async def user_info(self, request: web.Request) -> web.Response:
        fields = [f for f in request.query.get("fields", "").split(",") if f]
        token = self._auth(request, "user.info.basic")
        if isinstance(token, web.Response):
            return token
        grant = self._live(token) or {}
        for name in fields:
            if FIELD_SCOPES.get(name, "user.info.basic") not in grant["scopes"]:
                return self.envelope(
                    code="scope_not_authorized",
                    message=f"The field {name} needs the scope {FIELD_SCOPES[name]}.",
                    status=401,
                )
        user = {
            "open_id": self.open_id,
            "union_id": "fake-union",
            "display_name": self.nickname,
            "avatar_url": "https://p16.tiktokcdn.com/fake.jpeg",
            "username": self.username,
        }
        if not fields or any(f not in user for f in fields):
            return self.envelope(code="invalid_params", message="fields is invalid", status=400)
        return self.envelope({"user": {f: user[f] for f in fields}})

    async def creator_info(self, request: web.Request) -> web.Response:
        token = self._auth(request, "video.publish")
        if isinstance(token, web.Response):
            return token
        if (limited := self._limited(token, "creator_info")) is not None:
            return limited
        if self.creator_error:
            return self.envelope(code=self.creator_error, status=200)  # sic: errors with HTTP 200
        return self.envelope(
            {
                "creator_avatar_url": "https://p16.tiktokcdn.com/fake.jpeg",
                "creator_username": self.username,
                "creator_nickname": self.nickname,
                "privacy_level_options": self.privacy_options,
                "comment_disabled": self.comment_disabled,
                "duet_disabled": self.duet_disabled,
                "stitch_disabled": self.stitch_disabled,
                "max_video_post_duration_sec": self.max_duration,
            }
        )

    async def _start_init(
        self, request: web.Request, *scopes: str
    ) -> web.Response | tuple[Any, Any, dict[str, Any]]:
        """What both init endpoints check first: auth, injected failures, rate limit, JSON body."""
        token = self._auth(request, *scopes)
        if isinstance(token, web.Response):
            return token
        await self.slow_down()
        failure = self._failure(request)
        if isinstance(failure, web.Response):
            return failure
        if (limited := self._limited(token, "init")) is not None:
            return limited
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        return token, failure, body

    async def video_init(self, request: web.Request) -> web.StreamResponse:
        started = await self._start_init(request, "video.publish")
        if isinstance(started, web.Response):
            return started
        token, failure, body = started
        info = body.get("post_info")
        if (bad := self._check_post_info(info, photo=False)) is not None:
            return bad
        assert isinstance(info, dict)
        source_info = body.get("source_info") or {}
        source = source_info.get("source")
        if source == "FILE_UPLOAD":
            size, chunk, count = (
                source_info.get(k) for k in ("video_size", "chunk_size", "total_chunk_count")
            )
            if (problem := self.chunk_problem(size, chunk, count)) is not None:
                return self.envelope(code="invalid_params", message=problem, status=400)
            pub = self._new_publish(
                "video",
                "FILE_UPLOAD",
                info,
                size=size,
                chunk=chunk,
                count=count,
                upload_token=secrets.token_hex(8),
                drop_on_complete=failure == "drop",
            )
            upload_id = secrets.token_hex(6)
            self.uploads[upload_id] = pub["publish_id"]
            if failure == "drop_init":
                return await self.drop_connection(request)
            upload_url = (
                f"{self.url}/upload/video/?upload_id={upload_id}&upload_token={pub['upload_token']}"
            )
            return self.envelope({"publish_id": pub["publish_id"], "upload_url": upload_url})
        if source == "PULL_FROM_URL":
            url = source_info.get("video_url")
            if not self._verified(url):
                return self.envelope(code="url_ownership_unverified", status=403)
            pub = self._new_publish("video", "PULL_FROM_URL", info)
            data = await self._download(str(url))
            if data is None:
                pub["state"], pub["fail_reason"] = "processing", "video_pull_failed"
            else:
                self._complete(
                    pub,
                    {
                        "video_bytes": len(data),
                        "video_sha256": hashlib.sha256(data).hexdigest(),
                        "video_url": url,
                    },
                )
            if failure in ("drop", "drop_init"):
                return await self.drop_connection(request)
            return self.envelope({"publish_id": pub["publish_id"]})
        return self.envelope(
            code="invalid_params", message="source_info.source is invalid", status=400
        )

    @staticmethod
    def chunk_problem(size: Any, chunk: Any, count: Any) -> str | None:
        """The media transfer guide's chunk rules; None when the plan is valid."""
        if not all(isinstance(v, int) and v > 0 for v in (size, chunk, count)):
            return "video_size, chunk_size and total_chunk_count must be positive integers"
        if size < 5 * MB:
            return (
                None
                if chunk == size and count == 1
                else "videos under 5 MB must be one chunk of video_size"
            )
        if chunk > size:
            return "chunk_size must not exceed video_size"
        if not 5 * MB <= chunk <= 64 * MB:
            return "chunk_size must be between 5 MB and 64 MB"
        if count != size // chunk or not 1 <= count <= 1000:
            return "total_chunk_count must be floor(video_size / chunk_size), 1 to 1000"
        if size - (count - 1) * chunk > 128 * MB:
            return "the last chunk must not exceed 128 MB"
        return None

    async def content_init(self, request: web.Request) -> web.StreamResponse:
        started = await self._start_init(request, "video.publish", "video.upload")
        if isinstance(started, web.Response):
            return started
        token, failure, body = started
        mode_scope = {"DIRECT_POST": "video.publish", "MEDIA_UPLOAD": "video.upload"}
        if body.get("media_type") != "PHOTO" or body.get("post_mode") not in mode_scope:
            return self.envelope(
                code="invalid_params", message="media_type or post_mode is invalid", status=400
            )
        if mode_scope[body["post_mode"]] not in (self._live(token) or {})["scopes"]:
            return self.envelope(
                code="scope_not_authorized",
                message=f"post_mode {body['post_mode']} needs {mode_scope[body['post_mode']]}.",
                status=401,
            )
        info = body.get("post_info")
        if (bad := self._check_post_info(info, photo=True)) is not None:
            return bad
        assert isinstance(info, dict)
        source_info = body.get("source_info") or {}
        images = source_info.get("photo_images")
        if (
            source_info.get("source") != "PULL_FROM_URL"
            or not isinstance(images, list)
            or not 1 <= len(images) <= 35
        ):
            return self.envelope(
                code="invalid_params",
                message="photo_images must be 1 to 35 URLs pulled from a URL",
                status=400,
            )
        cover = source_info.get("photo_cover_index", 0)
        if not isinstance(cover, int) or not 0 <= cover < len(images):
            return self.envelope(
                code="invalid_params", message="photo_cover_index is out of range", status=400
            )
        if not all(self._verified(u) for u in images):
            return self.envelope(code="url_ownership_unverified", status=403)
        pub = self._new_publish("photo", "PULL_FROM_URL", info)
        photos = [await self._download(str(u)) for u in images]
        if any(p is None for p in photos):
            pub["fail_reason"] = "photo_pull_failed"
        else:
            self._complete(pub, {"photo_urls": images, "photo_count": len(images)})
        if failure in ("drop", "drop_init"):
            return await self.drop_connection(request)
        return self.envelope({"publish_id": pub["publish_id"]})

    async def upload(self, request: web.Request) -> web.StreamResponse:
        publish_id = self.uploads.get(request.query.get("upload_id", ""))
        pub = self.publishes.get(publish_id or "")
        if pub is None:
            return self.envelope(code="invalid_params", message="Unknown upload.", status=404)
        if (
            request.query.get("upload_token") != pub["upload_token"]
            or self.clock() > pub["created"] + 3600
        ):
            return self.envelope(
                code="invalid_params", message="The upload URL has expired.", status=403
            )
        if pub["state"] != "uploading":
            return self.envelope(
                code="invalid_params", message="The upload is already complete.", status=400
            )
        if request.headers.get("Content-Type") not in VIDEO_TYPES:
            return self.envelope(
                code="invalid_file_upload",
                message="Content-Type must be video/mp4, video/quicktime or video/webm.",
                status=400,
            )
        match = _RANGE.match(request.headers.get("Content-Range", ""))
        if match is None:
            return self.envelope(
                code="invalid_params", message="Content-Range is missing or malformed.", status=400
            )
        first, last, total = (int(g) for g in match.groups())
        body = await request.read()
        size, chunk, count = pub["size"], pub["chunk"], pub["count"]
        if total != size:
            return self.envelope(
                code="invalid_params",
                message="Content-Range total does not match video_size.",
                status=400,
            )
        if first != pub["received"]:
            received = pub["received"]
            return self.envelope(
                code="invalid_params",
                message="Content-Range does not match the upload progress.",
                status=416,
                headers={
                    "Content-Range": f"bytes 0-{received - 1}/{size}"
                    if received
                    else f"bytes */{size}"
                },
            )
        index = first // chunk
        expected_last = size - 1 if index == count - 1 else first + chunk - 1
        if first % chunk or last != expected_last or len(body) != last - first + 1:
            return self.envelope(
                code="invalid_params",
                message="The chunk does not match chunk_size or its Content-Range.",
                status=400,
            )
        if self.fail_chunk is not None and index + 1 == self.fail_chunk:
            self.fail_chunk = None
            return self.envelope(code="internal_error", status=503)
        pub["data"] += body
        pub["received"] = last + 1
        if pub["received"] < size:
            return web.Response(status=206, headers={"Content-Range": f"bytes 0-{last}/{size}"})
        data = bytes(pub["data"])
        self._complete(
            pub,
            {
                "video_bytes": len(data),
                "video_sha256": hashlib.sha256(data).hexdigest(),
                "chunks": count,
            },
        )
        if pub.get("drop_on_complete"):
            return await self.drop_connection(request)
        return web.Response(status=201, headers={"Content-Range": f"bytes 0-{last}/{size}"})

    async def status_fetch(self, request: web.Request) -> web.Response:
        token = self._auth(request, "video.publish", "video.upload")
        if isinstance(token, web.Response):
            return token
        if (limited := self._limited(token, "status")) is not None:
            return limited
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        pub = self.publishes.get(str(body.get("publish_id", "")))
        if pub is None:
            return self.envelope(code="invalid_publish_id", status=400)
        processing = (
            "PROCESSING_UPLOAD" if pub["source"] == "FILE_UPLOAD" else "PROCESSING_DOWNLOAD"
        )
        if pub["state"] == "uploading":
            return self.envelope({"status": "PROCESSING_UPLOAD", "uploaded_bytes": pub["received"]})
        if pub["polls_left"] > 0:
            pub["polls_left"] -= 1
            return self.envelope({"status": processing, "uploaded_bytes": pub.get("size") or 0})
        if pub["fail_reason"]:
            return self.envelope({"status": "FAILED", "fail_reason": pub["fail_reason"]})
        post = pub["post"]
        public = [int(post["id"])] if post["privacy_level"] != "SELF_ONLY" else []
        return self.envelope(
            {
                "status": "PUBLISH_COMPLETE",
                "publicaly_available_post_id": public,
                "uploaded_bytes": pub.get("size") or 0,
            }
        )
