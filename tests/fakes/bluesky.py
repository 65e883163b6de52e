"""Fake Bluesky: a PDS (sessions, repo writes, blobs, identity) plus the video service.

Checks what the PDS checks (per the atproto lexicons and the reference PDS, github.com/
bluesky-social/atproto `lexicons/` and `packages/pds`):
XRPC error bodies `{"error", "message"}`; Bearer access tokens (expired -> **400**
`ExpiredToken`, garbled -> 400 `InvalidToken`, missing -> 401 `AuthMissing`, a refresh token
used as access token -> 400 `InvalidToken` "Bad token scope"); `refreshSession` only with the
refresh token, which rotates (the old one keeps working for `refresh_grace` seconds);
`createSession` rate limit (30 per 5 minutes), a deleted app password refused with 401
(`revoke_app_password()`, which also revokes its refresh tokens), and sessions without
`didDoc` unless `send_did_doc` is set (the reference PDS's default); `describeServer` with
`blobUploadLimit`; `createRecord` lexicon validation (repo = the session's DID, collection,
`$type`, text <= 300 graphemes and <= 3000 bytes, createdAt, `langs` (at most 3, each a
well-formed BCP 47 tag, RFC 5646 grammar as atproto's `isValidLanguage`), facets with `uri`
values in the lexicon's `uri` format and `did` values in its `did` format, tags <= 64
graphemes and 640 bytes, embeds with blobs that were uploaded with that mime type and size,
image blobs <= 2,000,000 bytes and link-card thumbs <= 1,000,000 bytes, the lexicon's
`maxSize`s); client record keys must be TIDs and a second create under an existing key fails
as the PDS fails it (500 InternalServerError from the repo's MST); `uploadBlob` needs a
Content-Type and is capped at `blob_limit` (413; the reference PDS's default is 5 MiB,
PDS_BLOB_UPLOAD_LIMIT); `RateLimit-*` headers on writes. Video service: service-auth tokens
from `getServiceAuth` (aud/lxm/exp checked), `uploadVideo`, `getJobStatus` walking the job
states to COMPLETED with a blob (or FAILED with a failure code).

Facets may overlap, as the PDS allows (the reference SDK emits overlapping ones). Stricter
than the PDS (labelled "fake:"): facet ranges must lie inside the text and on UTF-8
character boundaries; only `app.bsky.feed.post` records can be written.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import regex
from aiohttp import web

from tests.fakes._base import FakePlatform

POST = "app.bsky.feed.post"
FACET = "app.bsky.richtext.facet"
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
VIDEO_MAX_BYTES = 100_000_000
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
#: RFC 5646 section 2.1 `Language-Tag` (with the irregular and regular grandfathered tags)
_LANG = re.compile(
    r"^(?:(?:en-GB-oed|i-(?:ami|bnn|default|enochian|hak|klingon|lux|mingo|navajo|pwn|tao|tay|tsu)"
    r"|sgn-(?:BE-FR|BE-NL|CH-DE))|(?:art-lojban|cel-gaulish|no-bok|no-nyn|zh-(?:guoyu|hakka|min"
    r"|min-nan|xiang))"
    r"|(?:(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}(?:-[A-Za-z]{3}){0,2})?|[A-Za-z]{4}|[A-Za-z]{5,8})"
    r"(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?)"
    r"|[xX](?:-[A-Za-z0-9]{1,8})+)$"
)
#: the atproto `did` format (DID syntax spec: method, then a non-empty identifier)
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
#: the lexicon `uri` format: a scheme, an optional //, then no whitespace and not empty
_URI = re.compile(r"^[A-Za-z0-9_]+:(?://)?[^\s/][^\s]*\Z")
_VIDEO_STATES = ("JOB_STATE_ENCODING", "JOB_STATE_SCANNING", "JOB_STATE_UPLOADING")


class Answer(Exception):
    """Raised by checks to answer the request at once."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def xrpc(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(
        web.json_response({"error": error, "message": message}, status=status, headers=headers)
    )


def invalid(message: str) -> Answer:
    return xrpc(400, "InvalidRequest", message)


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _cid(codec: int, data: bytes) -> str:
    """CIDv1, sha2-256, base32: `bafkrei...` for raw blobs, `bafyrei...` for records."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return None


def _handler(
    fn: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except Answer as answer:
            return answer.response

    return run


class Fake(FakePlatform):
    platform = "bluesky"
    contract_media = "text"

    def __init__(self, **kwargs: Any) -> None:
        self.handle = "alice.bsky.social"
        self.did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
        self.email = "alice@example.com"
        self.app_password = "abcd-efgh-ijkl-mnop"
        self.display_name = "Alice Example"
        #: other accounts' handles the PDS can resolve
        self.handles = {
            "bob.bsky.social": "did:plc:bobbobbobbobbobbobbobbob",
            "carol.test": "did:plc:carolcarolcarolcarolcaro",
        }
        #: issued tokens: token -> {"exp": epoch}; refresh also "rotated_at", "revoked"
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.access_ttl = 7200.0
        self.refresh_grace = 7200.0
        self.logins = 0
        self.login_times: list[float] = []
        self.login_limit = 30
        self.refreshes = 0
        #: the PDS's upload cap, announced by describeServer (None: not announced)
        self.blob_limit = 5 * 1024 * 1024
        self.announce_blob_limit = True
        self.image_limit = 2_000_000
        self.thumb_limit = 1_000_000
        #: whether sessions carry the DID document (the reference PDS leaves it out)
        self.send_did_doc = False
        self.app_password_revoked = False
        self.blobs: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.service_tokens: dict[str, dict[str, Any]] = {}
        self.video_enabled = True
        self.video_can_upload = True
        self.video_polls = 2
        self.video_failure: str | None = None
        self.jobs: dict[str, dict[str, Any]] = {}
        self._job_ids = itertools.count(1)
        super().__init__(**kwargs)

    # -- harness ---------------------------------------------------------------------
    def setup_routes(self, router: web.UrlDispatcher) -> None:
        routes = {
            "com.atproto.server.createSession": ("POST", self.create_session),
            "com.atproto.server.refreshSession": ("POST", self.refresh_session),
            "com.atproto.server.getSession": ("GET", self.get_session),
            "com.atproto.server.getServiceAuth": ("GET", self.get_service_auth),
            "com.atproto.server.describeServer": ("GET", self.describe_server),
            "com.atproto.identity.resolveHandle": ("GET", self.resolve_handle),
            "app.bsky.actor.getProfile": ("GET", self.get_profile),
            "com.atproto.repo.uploadBlob": ("POST", self.upload_blob),
            "com.atproto.repo.createRecord": ("POST", self.create_record),
            "com.atproto.repo.getRecord": ("GET", self.get_record),
            "app.bsky.video.getUploadLimits": ("GET", self.video_limits),
            "app.bsky.video.uploadVideo": ("POST", self.upload_video),
            "app.bsky.video.getJobStatus": ("GET", self.job_status),
        }
        for nsid, (method, fn) in routes.items():
            router.add_route(method, f"/xrpc/{nsid}", _handler(fn))
        router.add_route("*", "/xrpc/{nsid}", _handler(self.not_implemented))

    def credentials(self) -> dict[str, Any]:
        return {"identifier": self.handle, "app_password": self.app_password}

    def platform_config(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "upload_url": self.url,
            "poll_interval": 0.01,
            "poll_timeout": 5.0,
        }

    @property
    def service_did(self) -> str:
        return "did:web:" + urlsplit(self.url).netloc.replace(":", "%3A")

    # -- controls --------------------------------------------------------------------
    def expire_access(self) -> None:
        """Every access token issued so far is past its expiry."""
        for info in self.access_tokens.values():
            info["exp"] = self.clock() - 1

    def revoke_refresh(self) -> None:
        """Every refresh token issued so far is revoked (app password deleted)."""
        for info in self.refresh_tokens.values():
            info["revoked"] = True

    def revoke_app_password(self) -> None:
        """The app password was deleted: its refresh tokens die and it logs in no more."""
        self.revoke_refresh()
        self.app_password_revoked = True

    # -- tokens ----------------------------------------------------------------------
    def _jwt(self, claims: dict[str, Any]) -> str:
        header = {"typ": "at+jwt", "alg": "ES256K"}
        return f"{_b64(header)}.{_b64(claims)}.{secrets.token_urlsafe(24)}"

    def _issue(self) -> dict[str, Any]:
        now = self.clock()
        access = self._jwt(
            {
                "scope": "com.atproto.appPass",
                "sub": self.did,
                "aud": self.service_did,
                "iat": int(now),
                "exp": int(now + self.access_ttl),
            }
        )
        refresh = self._jwt(
            {
                "scope": "com.atproto.refresh",
                "sub": self.did,
                "aud": self.service_did,
                "jti": secrets.token_urlsafe(12),
                "exp": int(now + 90 * 86400),
            }
        )
        self.access_tokens[access] = {"exp": now + self.access_ttl}
        self.refresh_tokens[refresh] = {
            "exp": now + 90 * 86400,
            "rotated_at": None,
            "revoked": False,
        }
        session: dict[str, Any] = {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.handle,
            "did": self.did,
            "active": True,
        }
        if self.send_did_doc:
            session["didDoc"] = self.did_doc()
        return session

    def did_doc(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": self.did,
            "alsoKnownAs": [f"at://{self.handle}"],
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": self.url,
                }
            ],
        }

    def _bearer(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header:
            raise xrpc(401, "AuthMissing", "Authentication Required")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise xrpc(401, "AuthMissing", "Authentication Required")
        return token

    def _auth(self, request: web.Request) -> str:
        """The DID of a valid access token, or the PDS's answer."""
        token = self._bearer(request)
        if token in self.refresh_tokens:
            raise xrpc(400, "InvalidToken", "Bad token scope")
        info = self.access_tokens.get(token)
        if info is None:
            raise xrpc(400, "InvalidToken", "Token could not be verified")
        if info["exp"] <= self.clock():
            raise xrpc(400, "ExpiredToken", "Token has expired")
        return self.did

    def _service_auth(self, request: web.Request, aud: str, lxm: str) -> dict[str, Any]:
        """fake: the video service's answers to bad service tokens are not documented."""
        token = self._bearer(request)
        info = self.service_tokens.get(token)
        if info is None:
            raise xrpc(401, "AuthRequired", "Token could not be verified")
        if info["aud"] != aud:
            raise xrpc(401, "AuthRequired", "jwt audience does not match service did")
        if info["lxm"] != lxm:
            raise xrpc(401, "AuthRequired", "bad jwt lexicon method (lxm)")
        if info["exp"] <= self.clock():
            raise xrpc(401, "AuthRequired", "jwt expired")
        return info

    def _rate_headers(
        self, limit: int, remaining: int, window: int, reset: float
    ) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, remaining)),
            "RateLimit-Reset": str(int(reset)),
            "RateLimit-Policy": f"{limit};w={window}",
        }

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        if "json" not in request.headers.get("Content-Type", ""):
            raise invalid("Wrong request encoding (Content-Type): expected application/json")
        try:
            data = json.loads(await request.read())
        except ValueError as exc:
            raise invalid("Request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise invalid("Input must be an object")
        return data

    @staticmethod
    def _param(request: web.Request, name: str) -> str:
        value = request.query.get(name)
        if not value:
            raise invalid(f'Error: Params must have the property "{name}"')
        return value

    # -- sessions --------------------------------------------------------------------
    async def create_session(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        for key in ("identifier", "password"):
            if not isinstance(body.get(key), str):
                raise invalid(f'Input must have the property "{key}"')
        now = self.clock()
        self.login_times = [t for t in self.login_times if t > now - 300]
        if len(self.login_times) >= self.login_limit:
            reset = self.login_times[0] + 300
            raise xrpc(
                429,
                "RateLimitExceeded",
                "Rate Limit Exceeded",
                self._rate_headers(self.login_limit, 0, 300, reset),
            )
        self.login_times.append(now)
        self.logins += 1
        identifier = body["identifier"].strip().lower()
        if (
            identifier not in (self.handle, self.email, self.did)
            or body["password"] != self.app_password
            or self.app_password_revoked
        ):
            raise xrpc(401, "AuthenticationRequired", "Invalid identifier or password")
        return web.json_response(self._issue())

    async def refresh_session(self, request: web.Request) -> web.Response:
        token = self._bearer(request)
        if token in self.access_tokens:
            raise xrpc(400, "InvalidToken", "Bad token scope")
        info = self.refresh_tokens.get(token)
        if info is None:
            raise xrpc(400, "InvalidToken", "Token could not be verified")
        now = self.clock()
        rotated = info["rotated_at"]
        if info["revoked"] or (rotated is not None and now > rotated + self.refresh_grace):
            raise xrpc(400, "ExpiredToken", "Token has been revoked")
        if info["exp"] <= now:
            raise xrpc(400, "ExpiredToken", "Token has expired")
        info["rotated_at"] = rotated if rotated is not None else now
        self.refreshes += 1
        return web.json_response(self._issue())

    async def get_session(self, request: web.Request) -> web.Response:
        self._auth(request)
        session: dict[str, Any] = {
            "handle": self.handle,
            "did": self.did,
            "email": self.email,
            "emailConfirmed": True,
            "active": True,
        }
        if self.send_did_doc:
            session["didDoc"] = self.did_doc()
        return web.json_response(session)

    async def describe_server(self, request: web.Request) -> web.Response:
        """Public: no token needed."""
        answer: dict[str, Any] = {
            "did": self.service_did,
            "availableUserDomains": [".bsky.social"],
            "inviteCodeRequired": True,
        }
        if self.announce_blob_limit:
            answer["blobUploadLimit"] = self.blob_limit
        return web.json_response(answer)

    async def get_profile(self, request: web.Request) -> web.Response:
        self._auth(request)
        actor = self._param(request, "actor")
        if actor not in (self.did, self.handle):
            raise invalid("Profile not found")
        return web.json_response(
            {"did": self.did, "handle": self.handle, "displayName": self.display_name}
        )

    async def get_service_auth(self, request: web.Request) -> web.Response:
        did = self._auth(request)
        aud = self._param(request, "aud")
        now = self.clock()
        exp = now + 60
        if "exp" in request.query:
            try:
                exp = float(request.query["exp"])
            except ValueError as exc:
                raise invalid("exp must be an integer") from exc
            if exp <= now:
                raise xrpc(400, "BadExpiration", "expiration is in past")
            if exp - now > 3600:
                raise xrpc(
                    400,
                    "BadExpiration",
                    "cannot request a token with an expiration more than an hour in the future",
                )
        lxm = request.query.get("lxm")
        token = self._jwt({"iss": did, "aud": aud, "lxm": lxm, "exp": int(exp)})
        self.service_tokens[token] = {"iss": did, "aud": aud, "lxm": lxm, "exp": exp}
        return web.json_response({"token": token})

    async def resolve_handle(self, request: web.Request) -> web.Response:
        handle = self._param(request, "handle").lower()
        did = self.did if handle == self.handle else self.handles.get(handle)
        if did is None:
            raise xrpc(400, "HandleNotFound", "Unable to resolve handle")
        return web.json_response({"did": did})

    async def not_implemented(self, request: web.Request) -> web.Response:
        raise xrpc(501, "MethodNotImplemented", "Method Not Implemented")

    # -- repo ------------------------------------------------------------------------
    async def upload_blob(self, request: web.Request) -> web.Response:
        self._auth(request)
        declared = request.headers.get("Content-Type", "").split(";")[0].strip()
        if not declared:
            raise invalid("Request encoding (Content-Type) required but not provided")
        data = await request.read()
        if len(data) > self.blob_limit:
            raise xrpc(413, "PayloadTooLarge", "request entity too large")
        mime = _sniff(data) or declared
        cid = _cid(0x55, data)
        self.blobs[cid] = {"mimeType": mime, "size": len(data)}
        return web.json_response(
            {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}}
        )

    async def create_record(self, request: web.Request) -> web.StreamResponse:
        did = self._auth(request)
        now = self.clock()
        headers = self._rate_headers(5000, 5000 - 3 * (len(self.posts) + 1), 3600, now + 3600)
        failure = self.take_failure()
        if failure is not None and failure.kind == "auth":
            raise xrpc(400, "ExpiredToken", "Token has expired")
        if failure is not None and failure.kind == "rate_limit":
            limit = self._rate_headers(5000, 0, 3600, now + failure.retry_after)
            raise xrpc(429, "RateLimitExceeded", "Rate Limit Exceeded", limit)
        if failure is not None and failure.kind == "unavailable":
            raise xrpc(502, "UpstreamFailure", "Upstream Failure")
        if failure is not None and failure.kind == "reject":
            raise invalid(
                "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"
            )
        body = await self._json(request)
        repo, collection, rkey = body.get("repo"), body.get("collection"), body.get("rkey")
        if not isinstance(repo, str) or not isinstance(collection, str):
            raise invalid('Input must have the properties "repo" and "collection"')
        if repo not in (self.did, self.handle):
            raise invalid(f"Could not find repo: {repo}")
        if collection != POST:
            raise invalid(f"fake: only {POST} records can be written, not {collection}")
        record = body.get("record")
        if not isinstance(record, dict):
            raise invalid('Input must have the property "record"')
        if record.get("$type") != collection:
            raise invalid(f"Invalid $type: expected {collection}, got {record.get('$type')}")
        if rkey is not None and (not isinstance(rkey, str) or not _TID.match(rkey)):
            raise invalid(f"Invalid record key: {rkey}")
        self.validate_post(record)
        await self.slow_down()
        rkey = rkey or self._tid()
        if rkey in self.records:  # the repo's MST refuses the key: a plain Error, so a 500
            raise xrpc(500, "InternalServerError", "Internal Server Error")
        created = self._store(did, rkey, record)
        if failure is not None and failure.kind == "drop":
            return await self.drop_connection(request)
        if failure is not None and failure.kind == "upstream_after_commit":
            raise xrpc(502, "UpstreamFailure", "Upstream Failure")
        return web.json_response(created, headers=headers)

    def _tid(self) -> str:
        value = (int(self.clock() * 1_000_000) << 10) | secrets.randbelow(1024)
        return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))

    def _store(self, did: str, rkey: str, record: dict[str, Any]) -> dict[str, Any]:
        cid = _cid(0x71, json.dumps(record, sort_keys=True).encode())
        uri = f"at://{did}/{POST}/{rkey}"
        self.records[rkey] = {"uri": uri, "cid": cid, "value": record}
        embed = record.get("embed") or {}
        self.posts.append(
            {
                "uri": uri,
                "cid": cid,
                "rkey": rkey,
                "text": record["text"],
                "langs": record.get("langs"),
                "facets": record.get("facets") or [],
                "images": embed.get("images") or [],
                "video": embed.get("video"),
                "external": embed.get("external"),
                "reply": record.get("reply"),
                "record": record,
            }
        )
        return {
            "uri": uri,
            "cid": cid,
            "commit": {"cid": _cid(0x71, uri.encode()), "rev": self._tid()},
            "validationStatus": "valid",
        }

    async def get_record(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers:  # optional auth: a token sent must be valid
            self._auth(request)
        repo = self._param(request, "repo")
        collection = self._param(request, "collection")
        rkey = self._param(request, "rkey")
        if repo not in (self.did, self.handle):
            raise invalid(f"Could not find repo: {repo}")
        found = self.records.get(rkey) if collection == POST else None
        if found is None:
            raise xrpc(
                400,
                "RecordNotFound",
                f"Could not locate record: at://{self.did}/{collection}/{rkey}",
            )
        return web.json_response(found)

    # -- record validation -----------------------------------------------------------
    def validate_post(self, record: dict[str, Any]) -> None:
        where = f"Invalid {POST} record: Record"
        text = record.get("text")
        if not isinstance(text, str):
            raise invalid(f'{where} must have the property "text"')
        if graphemes(text) > MAX_GRAPHEMES:
            raise invalid(f"{where}/text must not be longer than {MAX_GRAPHEMES} graphemes")
        encoded = text.encode("utf-8")
        if len(encoded) > MAX_BYTES:
            raise invalid(f"{where}/text must not be longer than {MAX_BYTES} characters")
        created_at = record.get("createdAt")
        if not isinstance(created_at, str) or not _datetime(created_at):
            raise invalid(
                f"{where}/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)"
            )
        langs = record.get("langs")
        if langs is not None:
            if not isinstance(langs, list) or len(langs) > 3:
                raise invalid(f"{where}/langs must not have more than 3 elements")
            for i, lang in enumerate(langs):
                if not isinstance(lang, str) or not _LANG.match(lang):
                    raise invalid(f"{where}/langs/{i} must be a well-formed BCP 47 language tag")
        self._validate_facets(where, record.get("facets"), encoded)
        if record.get("reply") is not None:
            self._validate_reply(f"{where}/reply", record["reply"])
        embed = record.get("embed")
        if embed is not None:
            self._validate_embed(f"{where}/embed", embed)

    def _validate_reply(self, at: str, reply: Any) -> None:
        """`app.bsky.feed.post#replyRef`: root and parent strong refs (uri + cid).

        Stricter than a PDS, which takes any well-formed ref (the thread then renders
        broken): here both must name records of this repo with their current cid, and
        `root` must be the parent's own root, so a test sees a broken chain at once."""
        if not isinstance(reply, dict):
            raise invalid(f"{at} must be an object")
        refs = {}
        for name in ("root", "parent"):
            ref = reply.get(name)
            if not isinstance(ref, dict):
                raise invalid(f'{at} must have the property "{name}"')
            uri, cid = ref.get("uri"), ref.get("cid")
            if not isinstance(uri, str) or not uri.startswith("at://"):
                raise invalid(f"{at}/{name}/uri must be a valid at-uri")
            if not isinstance(cid, str) or not cid:
                raise invalid(f"{at}/{name}/cid must be a cid string")
            found = next((r for r in self.records.values() if r["uri"] == uri), None)
            if found is None or found["cid"] != cid:
                raise invalid(f"{at}/{name} does not match a record of this repo (uri and cid)")
            refs[name] = found
        parent_reply = refs["parent"]["value"].get("reply")
        expected_root = parent_reply["root"]["uri"] if parent_reply else refs["parent"]["uri"]
        if refs["root"]["uri"] != expected_root:
            raise invalid(f"{at}/root is not the root of the parent's thread")

    def _validate_facets(self, where: str, facets: Any, text: bytes) -> None:
        if facets is None:
            return
        if not isinstance(facets, list):
            raise invalid(f"{where}/facets must be an array")
        for i, facet in enumerate(facets):
            at = f"{where}/facets/{i}"
            index = facet.get("index") if isinstance(facet, dict) else None
            if not isinstance(index, dict):
                raise invalid(f'{at} must have the property "index"')
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not isinstance(start, int) or not isinstance(end, int) or start < 0 or end < 0:
                raise invalid(f"{at}/index/byteStart and byteEnd must be integers >= 0")
            if not start < end <= len(text):
                raise invalid(f"fake: {at}/index [{start}, {end}) is outside the text")
            if _splits_char(text, start) or _splits_char(text, end):
                raise invalid(f"fake: {at}/index splits a UTF-8 character")
            features = facet.get("features")
            if not isinstance(features, list) or not features:
                raise invalid(f'{at} must have the property "features"')
            for j, feature in enumerate(features):
                self._validate_feature(f"{at}/features/{j}", feature)

    @staticmethod
    def _validate_feature(at: str, feature: Any) -> None:
        kind = feature.get("$type") if isinstance(feature, dict) else None
        if kind == f"{FACET}#link":
            uri = feature.get("uri")
            if not isinstance(uri, str) or not _URI.match(uri):
                raise invalid(f"{at}/uri must be a uri")
        elif kind == f"{FACET}#mention":
            did = feature.get("did")
            if not isinstance(did, str) or not _DID.match(did):
                raise invalid(f"{at}/did must be a valid did")
        elif kind == f"{FACET}#tag":
            tag = feature.get("tag")
            if not isinstance(tag, str) or not tag:
                raise invalid(f'{at} must have the property "tag"')
            if graphemes(tag) > 64 or len(tag.encode()) > 640:
                raise invalid(f"{at}/tag must not be longer than 64 graphemes")
        else:
            raise invalid(f'{at} must be an object which includes the "$type" property')

    def _validate_embed(self, at: str, embed: Any) -> None:
        kind = embed.get("$type") if isinstance(embed, dict) else None
        if kind == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or not images:
                raise invalid(f'{at} must have the property "images"')
            if len(images) > 4:
                raise invalid(f"{at}/images must not have more than 4 elements")
            for i, image in enumerate(images):
                if not isinstance(image, dict):
                    raise invalid(f"{at}/images/{i} must be an object")
                if not isinstance(image.get("alt"), str):
                    raise invalid(f'{at}/images/{i} must have the property "alt"')
                self._validate_blob(
                    f"{at}/images/{i}/image", image.get("image"), "image/", self.image_limit
                )
                ratio = image.get("aspectRatio")
                if ratio is not None and not _aspect_ratio(ratio):
                    raise invalid(f"{at}/images/{i}/aspectRatio must have width and height >= 1")
        elif kind == "app.bsky.embed.video":
            self._validate_blob(f"{at}/video", embed.get("video"), "video/mp4", VIDEO_MAX_BYTES)
            ratio = embed.get("aspectRatio")
            if ratio is not None and not _aspect_ratio(ratio):
                raise invalid(f"{at}/aspectRatio must have width and height >= 1")
        elif kind == "app.bsky.embed.external":
            external = embed.get("external")
            if not isinstance(external, dict):
                raise invalid(f'{at} must have the property "external"')
            for key in ("uri", "title", "description"):
                if not isinstance(external.get(key), str):
                    raise invalid(f'{at}/external must have the property "{key}"')
            if "thumb" in external:
                self._validate_blob(
                    f"{at}/external/thumb", external["thumb"], "image/", self.thumb_limit
                )
        else:
            raise invalid(f'{at} must be an object which includes the "$type" property')

    def _validate_blob(self, at: str, blob: Any, accept: str, max_size: int) -> None:
        ref = blob.get("ref") if isinstance(blob, dict) else None
        link = ref.get("$link") if isinstance(ref, dict) else None
        if not isinstance(blob, dict) or blob.get("$type") != "blob" or not isinstance(link, str):
            raise invalid(f"{at} should be a blob ref")
        mime, size = blob.get("mimeType"), blob.get("size")
        if not isinstance(mime, str) or not mime.startswith(accept):
            raise invalid(f"{at} has the wrong mime type: {mime} (expected {accept}*)")
        if not isinstance(size, int) or size > max_size:
            raise invalid(f"{at} file too big (max {max_size} bytes)")
        stored = self.blobs.get(link)
        if stored is None:
            raise xrpc(400, "BlobNotFound", f"Could not find blob: {link}")
        if stored["mimeType"] != mime:
            raise xrpc(
                400,
                "InvalidMimeType",
                f"Referenced Mimetype does not match stored blob. Expected: {stored['mimeType']}, Got: {mime}",
            )
        if stored["size"] != size:
            raise xrpc(
                400,
                "InvalidSize",
                f"Referenced Size does not match stored blob. Expected: {stored['size']}, Got: {size}",
            )

    # -- video service ---------------------------------------------------------------
    def _video_available(self) -> None:
        if not self.video_enabled:
            raise xrpc(501, "MethodNotImplemented", "Method Not Implemented")

    async def video_limits(self, request: web.Request) -> web.Response:
        self._video_available()
        self._service_auth(request, self.service_did, "app.bsky.video.getUploadLimits")
        answer: dict[str, Any] = {
            "canUpload": self.video_can_upload,
            "remainingDailyVideos": 25 if self.video_can_upload else 0,
            "remainingDailyBytes": 10_000_000_000 if self.video_can_upload else 0,
        }
        if not self.video_can_upload:
            answer["message"] = "You have exceeded your daily upload limit"
        return web.json_response(answer)

    async def upload_video(self, request: web.Request) -> web.Response:
        self._video_available()
        # The token's audience is the account's own PDS: the service uploads the result there.
        token = self._service_auth(request, self.service_did, "com.atproto.repo.uploadBlob")
        did = self._param(request, "did")
        self._param(request, "name")
        if did != token["iss"]:
            raise xrpc(401, "AuthRequired", "did does not match the token issuer")
        if request.headers.get("Content-Type", "").split(";")[0].strip() != "video/mp4":
            raise invalid("fake: the body must be video/mp4")
        data = await request.read()
        if not data or _sniff(data) != "video/mp4":
            raise invalid("fake: the body is not an mp4 file")
        job_id = f"job{next(self._job_ids):04d}"
        self.jobs[job_id] = {"did": did, "polls": 0, "size": len(data), "cid": _cid(0x55, data)}
        return web.json_response({"jobId": job_id, "did": did, "state": "JOB_STATE_CREATED"})

    async def job_status(self, request: web.Request) -> web.Response:
        self._video_available()
        job_id = self._param(request, "jobId")
        job = self.jobs.get(job_id)
        if job is None:
            raise invalid("Job not found")
        job["polls"] += 1
        status: dict[str, Any] = {"jobId": job_id, "did": job["did"]}
        if job["polls"] < self.video_polls:
            status["state"] = _VIDEO_STATES[min(job["polls"] - 1, len(_VIDEO_STATES) - 1)]
            status["progress"] = 100 * job["polls"] // self.video_polls
        elif self.video_failure:
            status.update(
                state="JOB_STATE_FAILED",
                error=self.video_failure,
                message="Video failed to process",
                failureCode=self.video_failure,
            )
        else:
            self.blobs[job["cid"]] = {"mimeType": "video/mp4", "size": job["size"]}
            status.update(
                state="JOB_STATE_COMPLETED",
                progress=100,
                blob={
                    "$type": "blob",
                    "ref": {"$link": job["cid"]},
                    "mimeType": "video/mp4",
                    "size": job["size"],
                },
            )
        return web.json_response({"jobStatus": status})


def _splits_char(data: bytes, offset: int) -> bool:
    return 0 < offset < len(data) and (data[offset] & 0xC0) == 0x80


def _aspect_ratio(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("width"), int)
        and isinstance(value.get("height"), int)
        and value["width"] >= 1
        and value["height"] >= 1
    )


def _datetime(value: str) -> bool:
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
