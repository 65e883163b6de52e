"""A strict fake Mastodon instance (upstream 4.x behaviour, as documented and in its source).

Routes: GET /api/v2/instance, /api/v1/instance, /api/v1/accounts/verify_credentials,
/api/v1/accounts/:id/statuses; POST /api/v2/media; GET/PUT /api/v1/media/:id;
POST /api/v1/statuses (JSON or form-encoded); GET /api/v1/statuses/:id; OAuth:
POST /api/v1/apps, GET /.well-known/oauth-authorization-server, GET /oauth/authorize,
POST /oauth/token (Doorkeeper: apps registered through the API, each with its exact
redirect URIs and scopes; client_id + client_secret in the form; codes single use for
10 minutes; PKCE S256 checked on a `modern` (4.3+) server, ignored on an older one,
which also has no discovery document and no `profile` scope; tokens never expire).

What it enforces, with Mastodon's status codes and `{"error": ...}` bodies:
- a Bearer token on every route, even the instance endpoints that upstream serves
  publicly (401 "The access token is invalid"; revoked
  tokens: "The access token was revoked") and OAuth scopes per route (403
  "This action is outside the authorized scopes");
- media: multipart `file` sniffed by content (images 200 at once, video 202 then
  `processing_polls` answers 206 on GET /api/v1/media/:id, then 200, or 422 when
  `fail_processing` is set); alt text (`description`) length; ownership;
- statuses: Idempotency-Key per token for one hour (a repeat returns the original
  status and creates nothing), media ownership / already attached / at most
  `max_media_attachments` / no video with other media / unprocessed media (422
  "Cannot attach files that have not finished processing. Try again in a moment!"),
  blank text, and the length rule (StatusLengthValidator, counted by `_lengths.py`, not by
  Octopost's code, with Ruby 3.4's Unicode 15.0 graphemes) against `max_characters`;
  `language` kept as Mastodon keeps it (a supported locale, else its language subtag,
  else none: unknown languages are dropped, never refused);
- X-RateLimit-Limit/-Remaining/-Reset (ISO 8601) on every answer; 429
  {"error": "Too many requests"} once a token spends `rate_limit` requests in
  `rate_window` seconds (upstream: 300 per 300 s; the default here is 100,000 so
  end-to-end tests and benchmarks never trip it by accident).

Controls (attributes, change them at any time):
  delay                  seconds POST /api/v1/statuses waits before creating
  fail_next(kind)        "auth" | "rate_limit" | "unavailable" | "reject" (error=...) | "drop"
  max_characters         the instance's status limit (also reported by /api/v2/instance)
  max_media_attachments, characters_reserved_per_url, description_limit
  processing_polls       206 answers per video (or async image) before it is ready
  fail_processing        media processing fails (poll answers 422)
  async_images           images answer 202 and process like video
  not_ready_creates      the next N status creates with media answer the not-ready 422
  rate_limit, rate_window
  revoke(token), revoke_all(), tokens[token].scopes
  modern                 4.3+ (discovery, PKCE, `profile`); False: an older server
  oauth                  the authorize page's controls (deny, grant; tests/fakes/_oauth.py)
Records: requests (every request), posts (created statuses), received (every
status create's decoded parameters, accepted or not), media (uploads by id).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes._base import FakePlatform
from tests.fakes._lengths import mastodon_length
from tests.fakes._oauth import AuthorizationServer, Code

ALL_SCOPES = frozenset(
    {"profile", "read:accounts", "read:statuses", "write:statuses", "write:media"}
)
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"
IDEMPOTENCY_TTL = 3600.0
VISIBILITIES = ("public", "unlisted", "private", "direct")
#: LanguagesHelper::SUPPORTED_LOCALES (ISO 639-1, the ISO 639-3 codes it adds, regional forms)
_LOCALES = """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    ast chr ckb cnr csb gsw jbo kab kmr ldn lfn moh nds pdc sco sma smj szl tai tok zba zgh
    es-AR es-MX pt-BR pt-PT sr-Latn zh-CN zh-HK zh-TW"""
LOCALES = frozenset(_LOCALES.split())
UNAVAILABLE_PAGE = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head>"
    "<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)


@dataclass
class FakeAccount:
    id: str
    username: str
    display_name: str


@dataclass
class Token:
    value: str
    account: FakeAccount
    scopes: set[str] = field(default_factory=lambda: set(ALL_SCOPES))
    revoked: bool = False


@dataclass
class FakeMedia:
    id: str
    owner: str
    type: str
    content_type: str
    size: int
    description: str | None
    polls_left: int
    failed: bool = False
    status_id: str | None = None
    thumbnail: bool = False


def iso(ts: float, micro: bool = False) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sniff(data: bytes) -> str | None:
    """The media type by content, as Mastodon's upload validation does."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if data.startswith(b"\x1aE\xdf\xa3"):
        return "video/webm"
    return None


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """name -> (filename, content type, bytes) of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str | None, str, bytes]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        fields[name] = (
            part.get_filename(),
            part.get_content_type(),
            payload if isinstance(payload, bytes) else b"",
        )
    return fields


def render_html(text: str) -> str:
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br />')}</p>" for p in paragraphs)


class Fake(FakePlatform):
    platform: ClassVar[str] = "mastodon"
    contract_media: ClassVar[str] = "text"
    TOKEN: ClassVar[str] = "mastodon-token-alice"
    OTHER_TOKEN: ClassVar[str] = "mastodon-token-bob"

    def __init__(
        self,
        *,
        delay: float = 0.0,
        clock: Any = time.time,
        max_characters: int = 500,
        max_media_attachments: int = 4,
        characters_reserved_per_url: int = 23,
        description_limit: int = 1500,
        processing_polls: int = 2,
        domain: str = "mastodon.example",
        rate_limit: int = 100_000,
        rate_window: float = 300.0,
    ) -> None:
        self.max_characters = max_characters
        self.max_media_attachments = max_media_attachments
        self.characters_reserved_per_url = characters_reserved_per_url
        self.description_limit = description_limit
        self.processing_polls = processing_polls
        self.fail_processing = False
        self.async_images = False
        self.not_ready_creates = 0
        self.domain = domain
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        alice = FakeAccount("109000000000000001", "alice", "Alice")
        bob = FakeAccount("109000000000000002", "bob", "Bob")
        self.accounts = {a.id: a for a in (alice, bob)}
        self.tokens = {
            self.TOKEN: Token(self.TOKEN, alice),
            self.OTHER_TOKEN: Token(self.OTHER_TOKEN, bob),
        }
        self.media: dict[str, FakeMedia] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self._idempotency: dict[tuple[str, str], tuple[float, str]] = {}
        self._key_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._buckets: dict[str, tuple[float, int]] = {}
        self._seq = 0
        #: 4.3+: PKCE (S256) and the `profile` scope, announced by discovery; False:
        #: an older server (no discovery document, PKCE parameters ignored)
        self.modern = True
        #: apps registered through POST /api/v1/apps: client_id -> its record
        self.apps: dict[str, dict[str, Any]] = {}
        super().__init__(delay=delay, clock=clock)
        # Doorkeeper: codes live 10 minutes; every client is registered through the API
        self.oauth = AuthorizationServer(
            client_id="", known_scopes=ALL_SCOPES, user=alice, clock=self.clock, code_ttl=600
        )

    # -- harness ------------------------------------------------------------
    def credentials(self) -> dict[str, Any]:
        return {"instance_url": self.url, "access_token": self.TOKEN}

    def revoke(self, token: str | None = None) -> None:
        self.tokens[token or self.TOKEN].revoked = True

    def setup_routes(self, router: web.UrlDispatcher) -> None:
        self.app.middlewares.append(self._rate_limits)
        router.add_get("/api/v2/instance", self.instance_v2)
        router.add_get("/api/v1/instance", self.instance_v1)
        router.add_get("/api/v1/accounts/verify_credentials", self.verify_credentials)
        router.add_get("/api/v1/accounts/{id}/statuses", self.account_statuses)
        router.add_post("/api/v2/media", self.upload_media)
        router.add_get("/api/v1/media/{id}", self.show_media)
        router.add_put("/api/v1/media/{id}", self.update_media)
        router.add_post("/api/v1/statuses", self.create_status)
        router.add_get("/api/v1/statuses/{id}", self.show_status)
        router.add_post("/api/v1/apps", self.create_app)
        router.add_get("/.well-known/oauth-authorization-server", self.discovery)
        router.add_get("/oauth/authorize", self.oauth_authorize)
        router.add_post("/oauth/token", self.oauth_token)

    # -- plumbing -----------------------------------------------------------
    def _next_id(self) -> str:
        # Snowflake-like, as Mastodon's ids: milliseconds << 16 plus a sequence.
        self._seq += 1
        return str((int(self.clock() * 1000) << 16) + self._seq)

    @staticmethod
    def error(status: int, message: str) -> web.Response:
        return web.json_response({"error": message}, status=status)

    @web.middleware
    async def _rate_limits(self, request: web.Request, handler: Any) -> web.StreamResponse:
        who = request.headers.get("Authorization", "") or (request.remote or "anonymous")
        now = self.clock()
        start, used = self._buckets.get(who, (now, 0))
        if now - start >= self.rate_window:
            start, used = now, 0
        used += 1
        self._buckets[who] = (start, used)
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - used)),
            "X-RateLimit-Reset": iso(start + self.rate_window, micro=True),
        }
        if used > self.rate_limit:
            response: web.StreamResponse = self.error(429, "Too many requests")
        else:
            try:
                response = await handler(request)
            except web.HTTPNotFound:
                response = self.error(404, "Record not found")
            except web.HTTPMethodNotAllowed:
                response = self.error(405, "Method not allowed")
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    def authorize(self, request: web.Request, *scopes: str) -> Token | web.Response:
        """The token, or the answer Doorkeeper gives (401 unknown/revoked, 403 scope)."""
        header = request.headers.get("Authorization", "")
        value = header[7:].strip() if header.startswith("Bearer ") else ""
        token = self.tokens.get(value)
        if token is None:
            return self.error(401, "The access token is invalid")
        if token.revoked:
            return self.error(401, "The access token was revoked")
        # a top-level scope ("write") covers its children ("write:media")
        if scopes and not any(s in token.scopes or s.split(":")[0] in token.scopes for s in scopes):
            return self.error(403, "This action is outside the authorized scopes")
        return token

    # -- OAuth (Doorkeeper) ---------------------------------------------------
    async def create_app(self, request: web.Request) -> web.Response:
        """POST /api/v1/apps: JSON or form; redirect_uris one URI or several, one a line."""
        if request.content_type == "application/json":
            data = await request.json()
        else:
            data = dict(await request.post())
        name = str(data.get("client_name") or "")
        raw = data.get("redirect_uris") or ""
        uris = raw if isinstance(raw, list) else str(raw).split()
        scopes = frozenset(str(data.get("scopes") or "read").split())
        if not name or not uris:
            return web.json_response(
                {"error": "Validation failed: Name can't be blank, Redirect URI can't be blank"},
                status=422,
            )
        known = ALL_SCOPES if self.modern else ALL_SCOPES - {"profile"}
        if not scopes <= known:
            return web.json_response({"error": "Validation failed: Scopes are invalid"}, status=422)
        client_id = f"app-{len(self.apps) + 1}-{secrets.token_urlsafe(8)}"
        record = {
            "id": str(len(self.apps) + 1),
            "name": name,
            "redirect_uri": "\n".join(uris),
            "redirect_uris": uris,
            "scopes": sorted(scopes),
            "client_id": client_id,
            "client_secret": secrets.token_urlsafe(24),
        }
        self.apps[client_id] = record
        self.oauth.clients[client_id] = (set(uris), scopes)
        return web.json_response(record)

    async def discovery(self, request: web.Request) -> web.Response:
        if not self.modern:
            return self.error(404, "Record not found")
        return web.json_response(
            {
                "issuer": self.url + "/",
                "authorization_endpoint": self.url + "/oauth/authorize",
                "token_endpoint": self.url + "/oauth/token",
                "scopes_supported": sorted(ALL_SCOPES | {"read", "write"}),
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
            }
        )

    async def oauth_authorize(self, request: web.Request) -> web.Response:
        self.oauth.pkce = "S256" if self.modern else None
        return await self.oauth.authorize(request)

    async def oauth_token(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl((await request.read()).decode(), keep_blank_values=True))
        if form.get("grant_type") != "authorization_code":
            return web.json_response(
                {"error": "unsupported_grant_type", "error_description": "..."}, status=400
            )
        app = self.apps.get(form.get("client_id", ""))
        if app is None or form.get("client_secret") != app["client_secret"]:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed due to unknown "
                    "client, no client authentication included, or unsupported "
                    "authentication method.",
                },
                status=401,
            )
        code = self.oauth.redeem(form)
        if not isinstance(code, Code):
            return web.json_response(code[1], status=code[0])
        value = f"mastodon-oauth-{secrets.token_urlsafe(16)}"
        self.tokens[value] = Token(value, code.user, scopes=set(code.scopes))
        return web.json_response(
            {
                "access_token": value,
                "token_type": "Bearer",
                "scope": " ".join(sorted(code.scopes)),
                "created_at": int(self.clock()),
            }
        )

    def revoke_all(self) -> None:
        """The user revoked every app's access (Preferences > Account > Authorized apps)."""
        for token in self.tokens.values():
            token.revoked = True

    def media_json(self, media: FakeMedia) -> dict[str, Any]:
        ready = media.polls_left <= 0 and not media.failed
        ext = media.content_type.split("/")[1]
        base = f"https://files.{self.domain}/media_attachments/files/{media.id}"
        return {
            "id": media.id,
            "type": media.type,
            "url": f"{base}/original/file.{ext}" if ready else None,
            "preview_url": f"{base}/small/file.jpg",
            "remote_url": None,
            "text_url": None,
            "meta": {},
            "description": media.description,
            "blurhash": None,
        }

    def status_json(self, status: dict[str, Any]) -> dict[str, Any]:
        account = self.accounts[status["account_id"]]
        return {
            "id": status["id"],
            "created_at": iso(status["created_at"]),
            "in_reply_to_id": status.get("in_reply_to_id"),
            "sensitive": status["sensitive"],
            "spoiler_text": status["spoiler_text"],
            "visibility": status["visibility"],
            "language": status["language"],
            "uri": f"https://{self.domain}/users/{account.username}/statuses/{status['id']}",
            "url": f"https://{self.domain}/@{account.username}/{status['id']}",
            "content": render_html(status["text"]),
            "media_attachments": [self.media_json(self.media[m]) for m in status["media_ids"]],
            "account": self.account_json(account),
        }

    def account_json(self, account: FakeAccount) -> dict[str, Any]:
        return {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.display_name,
            "url": f"https://{self.domain}/@{account.username}",
            "avatar": f"https://files.{self.domain}/accounts/avatars/{account.id}.png",
        }

    # -- instance and accounts ----------------------------------------------
    def configuration(self) -> dict[str, Any]:
        return {
            "statuses": {
                "max_characters": self.max_characters,
                "max_media_attachments": self.max_media_attachments,
                "characters_reserved_per_url": self.characters_reserved_per_url,
            },
            "media_attachments": {
                "supported_mime_types": [
                    "image/jpeg",
                    "image/png",
                    "image/gif",
                    "image/webp",
                    "video/mp4",
                    "video/webm",
                ],
                "description_limit": self.description_limit,
                "image_size_limit": 16_777_216,
                "image_matrix_limit": 33_177_600,
                "video_size_limit": 103_809_024,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8_294_400,
            },
        }

    async def instance_v2(self, request: web.Request) -> web.Response:
        auth = self.authorize(request)
        if isinstance(auth, web.Response):
            return auth
        return web.json_response(
            {
                "domain": self.domain,
                "title": "Fake Mastodon",
                "version": "4.5.0",
                "configuration": self.configuration(),
            }
        )

    async def instance_v1(self, request: web.Request) -> web.Response:
        auth = self.authorize(request)
        if isinstance(auth, web.Response):
            return auth
        return web.json_response(
            {
                "uri": self.domain,
                "title": "Fake Mastodon",
                "version": "4.5.0",
                "configuration": self.configuration(),
            }
        )

    async def verify_credentials(self, request: web.Request) -> web.Response:
        auth = self.authorize(request, "profile", "read:accounts")
        if isinstance(auth, web.Response):
            return auth
        return web.json_response(self.account_json(auth.account))

    async def account_statuses(self, request: web.Request) -> web.Response:
        auth = self.authorize(request, "read:statuses")
        if isinstance(auth, web.Response):
            return auth
        account_id = request.match_info["id"]
        if account_id not in self.accounts:
            return self.error(404, "Record not found")
        try:
            limit = min(40, max(1, int(request.query.get("limit", "20"))))
        except ValueError:
            limit = 20
        mine = [
            s
            for s in self.statuses.values()
            if s["account_id"] == account_id and self.listed(s["created_at"])
        ]
        mine.sort(key=lambda s: int(s["id"]), reverse=True)
        return web.json_response([self.status_json(s) for s in mine[:limit]])

    # -- media ----------------------------------------------------------------
    async def upload_media(self, request: web.Request) -> web.Response:
        auth = self.authorize(request, "write:media")
        if isinstance(auth, web.Response):
            return auth
        if not request.content_type.startswith("multipart/form-data"):
            return self.error(422, "Validation failed: File can't be blank")
        fields = parse_multipart(request.headers["Content-Type"], await request.read())
        if "file" not in fields or not fields["file"][2]:
            return self.error(422, "Validation failed: File can't be blank")
        _, _, data = fields["file"]
        content_type = sniff(data)
        if content_type is None:
            return self.error(
                422, "Validation failed: File content type is invalid, File is invalid"
            )
        description = fields["description"][2].decode() if "description" in fields else None
        if description is not None and len(description) > self.description_limit:
            return self.error(
                422,
                f"Validation failed: Description is too long (maximum is {self.description_limit} characters)",
            )
        kind = "video" if content_type.startswith("video/") else "image"
        synchronous = kind == "image" and not self.async_images
        media = FakeMedia(
            id=self._next_id(),
            owner=auth.account.id,
            type=kind,
            content_type=content_type,
            size=len(data),
            description=description or None,
            polls_left=0 if synchronous else self.processing_polls,
            failed=self.fail_processing,
            thumbnail="thumbnail" in fields,
        )
        self.media[media.id] = media
        return web.json_response(self.media_json(media), status=200 if synchronous else 202)

    def _own_media(self, request: web.Request, token: Token) -> FakeMedia | None:
        media = self.media.get(request.match_info["id"])
        return media if media is not None and media.owner == token.account.id else None

    async def show_media(self, request: web.Request) -> web.Response:
        auth = self.authorize(request, "write:media")
        if isinstance(auth, web.Response):
            return auth
        media = self._own_media(request, auth)
        if media is None:
            return self.error(404, "Record not found")
        if media.polls_left > 0:
            media.polls_left -= 1
            return web.json_response(self.media_json(media), status=206)
        if media.failed:
            return self.error(422, "Error processing thumbnail for uploaded media")
        return web.json_response(self.media_json(media))

    async def update_media(self, request: web.Request) -> web.Response:
        auth = self.authorize(request, "write:media")
        if isinstance(auth, web.Response):
            return auth
        media = self._own_media(request, auth)
        if media is None or media.status_id is not None:
            return self.error(404, "Record not found")
        params = self._params(request, await request.read())
        if isinstance(params.get("description"), str):
            media.description = params["description"]
        return web.json_response(self.media_json(media))

    # -- statuses -------------------------------------------------------------
    @staticmethod
    def _params(request: web.Request, body: bytes) -> dict[str, Any]:
        """Rails-style params from a JSON or form-encoded body (`media_ids[]=` lists)."""
        if request.content_type == "application/json":
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                return {"_malformed": True}
            return data if isinstance(data, dict) else {"_malformed": True}
        params: dict[str, Any] = {}
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            if name.endswith("[]"):
                params.setdefault(name[:-2], []).append(value)
            else:
                params[name] = value
        return params

    async def create_status(self, request: web.Request) -> web.StreamResponse:
        auth = self.authorize(request, "write:statuses")
        failure = self.take_failure()
        if failure is not None and failure.kind != "drop":
            return self._fail(failure)
        if isinstance(auth, web.Response):
            return auth
        params = self._params(request, await request.read())
        self.received.append(params)
        if params.get("_malformed"):
            return self.error(400, "Error occurred while parsing request parameters.")
        await self.slow_down()
        key = request.headers.get("Idempotency-Key")
        if key:
            lock = self._key_locks.setdefault((auth.value, key), asyncio.Lock())
            async with lock:
                response = await self._create_once(auth, key, params)
        else:
            response = await self._create_once(auth, None, params)
        if failure is not None and response.status == 200:  # "drop": created, answer lost
            return await self.drop_connection(request)
        return response

    def _fail(self, failure: Any) -> web.Response:
        if failure.kind == "auth":
            return self.error(401, "The access token is invalid")
        if failure.kind == "rate_limit":
            response = self.error(429, "Too many requests")
            response.headers["X-RateLimit-Remaining"] = "0"
            response.headers["X-RateLimit-Reset"] = iso(self.clock() + failure.retry_after, True)
            return response
        if failure.kind == "unavailable":
            return web.Response(status=503, text=UNAVAILABLE_PAGE, content_type="text/html")
        if failure.kind == "reject":
            message = failure.extra.get(
                "error",
                f"Validation failed: Text character limit of {self.max_characters} exceeded",
            )
            return self.error(422, message)
        raise ValueError(f"unknown failure kind {failure.kind!r}")

    async def _create_once(
        self, token: Token, key: str | None, params: dict[str, Any]
    ) -> web.Response:
        now = self.clock()
        if key:
            seen = self._idempotency.get((token.value, key))
            if seen is not None and now - seen[0] < IDEMPOTENCY_TTL:
                return web.json_response(self.status_json(self.statuses[seen[1]]))
        problem = self._validate(token, params)
        if problem is not None:
            return self.error(422, problem)
        parent = params.get("in_reply_to_id") or None
        if parent is not None and parent not in self.statuses:
            return self.error(404, "Record not found")  # a missing or invisible parent
        media_ids = self._media_ids(params)
        text = params.get("status") or ""
        status = {
            "id": self._next_id(),
            "account_id": token.account.id,
            "created_at": now,
            "text": text,
            "spoiler_text": params.get("spoiler_text") or "",
            "visibility": params.get("visibility") or "public",
            "language": _language(params.get("language")),
            "sensitive": str(params.get("sensitive", "false")).lower() in ("true", "1"),
            "media_ids": media_ids,
            "idempotency_key": key,
            "in_reply_to_id": parent,
        }
        for media_id in media_ids:
            self.media[media_id].status_id = status["id"]
        self.statuses[status["id"]] = status
        self.posts.append(
            {
                "id": status["id"],
                "text": text,
                "media": [
                    {
                        "id": m,
                        "type": self.media[m].type,
                        "description": self.media[m].description,
                        "thumbnail": self.media[m].thumbnail,
                    }
                    for m in media_ids
                ],
                "visibility": status["visibility"],
                "language": status["language"],
                "sensitive": status["sensitive"],
                "idempotency_key": key,
                "in_reply_to_id": parent,
                "account": token.account.username,
                "url": f"https://{self.domain}/@{token.account.username}/{status['id']}",
            }
        )
        if key:
            self._idempotency[(token.value, key)] = (now, status["id"])
        return web.json_response(self.status_json(status))

    @staticmethod
    def _media_ids(params: dict[str, Any]) -> list[str]:
        raw = params.get("media_ids") or []
        return [str(m) for m in (raw if isinstance(raw, list) else [raw])]

    def _validate(self, token: Token, params: dict[str, Any]) -> str | None:
        """PostStatusService#validate_media! then the Status model validations."""
        ids = self._media_ids(params)
        if len(ids) > self.max_media_attachments:
            return f"Cannot attach more than {self.max_media_attachments} files"
        found = [
            self.media[m]
            for m in ids
            if m in self.media
            and self.media[m].owner == token.account.id
            and self.media[m].status_id is None
        ]
        missing = [m for m in ids if m not in {f.id for f in found}]
        if missing:
            return f"Media {', '.join(missing)} not found or already attached to another post"
        if len(found) > 1 and any(m.type == "video" for m in found):
            return "Cannot attach a video to a post that already contains images"
        if any(m.polls_left > 0 or m.failed for m in found):
            return NOT_READY
        if found and self.not_ready_creates > 0:
            self.not_ready_creates -= 1
            return NOT_READY
        text = params.get("status") or ""
        spoiler = params.get("spoiler_text") or ""
        visibility = params.get("visibility")
        if visibility and visibility not in VISIBILITIES:
            return f"'{visibility}' is not a valid visibility"
        if not isinstance(text, str) or not isinstance(spoiler, str):
            return "Validation failed: Text can't be blank"
        # ActiveRecord runs every validation and joins the messages.
        errors = []
        if not text.strip() and not found:
            errors.append("Text can't be blank")
        if mastodon_length(text, spoiler, self.characters_reserved_per_url) > self.max_characters:
            errors.append(f"Text character limit of {self.max_characters} exceeded")
        return f"Validation failed: {', '.join(errors)}" if errors else None

    async def show_status(self, request: web.Request) -> web.Response:
        auth = self.authorize(request, "read:statuses")
        if isinstance(auth, web.Response):
            return auth
        status = self.statuses.get(request.match_info["id"])
        if status is None:
            return self.error(404, "Record not found")
        return web.json_response(self.status_json(status))


def _language(value: Any) -> str | None:
    """LanguagesHelper#valid_locale_or_nil: the tag if supported, else its language if that
    is, else nothing (the account's default applies); never an error."""
    if not isinstance(value, str) or not value:
        return None
    if value in LOCALES:
        return value
    primary = re.split(r"[_-]", value, maxsplit=1)[0]
    return primary if primary in LOCALES else None
