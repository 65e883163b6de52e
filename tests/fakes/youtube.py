"""Fake YouTube Data API v3 (resumable videos.insert) and Google OAuth token endpoint.

Enforces, per the YouTube Data API v3 reference (developers.google.com/youtube/v3/docs) and
Google's OAuth 2.0 docs (developers.google.com/identity/protocols/oauth2/web-server and
/native-app):
- Connecting: `GET /o/oauth2/v2/auth` (accounts.google.com on the real platform) with
  client_id, redirect_uri, response_type=code, space-separated `scope`, `state`,
  `access_type`, `prompt`, optional S256 `code_challenge` (tests/fakes/_oauth.py holds
  the rules every authorization server here shares). A desktop client (`client_type =
  "desktop"`, the default) takes any loopback redirect (`http://127.0.0.1:<any port>/...`);
  a web client only its registered URIs. The test user picks `chosen_channel` in Google's
  account chooser (a brand account's channel, or their own); the grant is for that channel.
- A refresh token only with `access_type=offline`, and on a second connect only with
  `prompt=consent` (Google sends a refresh token from the consent screen alone).
  `testing_mode`: an "External" consent screen still in Testing: refresh tokens die after
  7 days (`refresh_token_expires_in` in the answer).
- `POST /token` (form): `authorization_code` (code, client_id, client_secret,
  redirect_uri, code_verifier when a challenge was sent) and `refresh_token`; one-hour
  Bearer tokens; a revoked refresh token answers 400 invalid_grant, a wrong client 401
  invalid_client, a replayed code 400 invalid_grant. Google does not rotate.
- `POST /revoke` (form: token, an access or refresh token): the whole grant dies; an
  unknown token answers 400 invalid_token.
- Every API call needs a live Bearer token, else 401 `authError` in Google's error body
  `{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}`,
  and one of the method's scopes (upload: youtube.upload/youtube/youtube.force-ssl/
  youtubepartner; channels: youtube.readonly/youtube/youtube.force-ssl/youtubepartner),
  else 403 `insufficientPermissions`.
- `POST /upload/youtube/v3/videos?uploadType=resumable&part=...`: X-Upload-Content-Length and
  X-Upload-Content-Type, JSON metadata (title 1-100 characters without `<>`, description at
  most 5,000 UTF-8 bytes without `<>`, privacyStatus enum, categoryId, defaultLanguage and
  defaultAudioLanguage BCP-47 codes); project quota (1,600
  units per insert of 10,000 a day -> 403 quotaExceeded); a per-channel upload cap (400
  uploadLimitExceeded); answers 200 with the session URI in `Location`.
- `PUT <session>`: `Content-Range: bytes */total` status queries (308 with `Range: bytes=0-N`,
  no Range when nothing is stored; 200 + the video once complete), byte ranges that must
  continue exactly where the session stands, non-final pieces in 256 KiB multiples, totals that
  must match X-Upload-Content-Length; 308 until complete, then 201 with the video resource.
  `cut_next_upload_after = K` keeps only K bytes of the next PUT and drops the connection.
- `POST /upload/youtube/v3/thumbnails/set?videoId=`: JPEG/PNG up to 2 MB.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from typing import Any, ClassVar

from aiohttp import web

from tests.fakes._base import FakePlatform
from tests.fakes._oauth import AuthorizationServer, Code

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_QUERY = re.compile(r"^bytes \*/(\d+)$")
PRIVACY = {"public", "unlisted", "private"}
CATEGORIES = {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28"}
_ID_CHARS = string.ascii_letters + string.digits + "-_"
AUTH = "https://www.googleapis.com/auth/"
UPLOAD_SCOPES = {
    AUTH + s for s in ("youtube.upload", "youtube", "youtube.force-ssl", "youtubepartner")
}
READ_SCOPES = {
    AUTH + s for s in ("youtube.readonly", "youtube", "youtube.force-ssl", "youtubepartner")
}
SCOPES = (
    UPLOAD_SCOPES
    | READ_SCOPES
    | {AUTH + "userinfo.profile", AUTH + "userinfo.email", "openid", "profile", "email"}
)
SEED_SCOPES = (AUTH + "youtube.upload", AUTH + "youtube.readonly")
TESTING_REFRESH_LIFETIME = 7 * 86_400


#: a BCP-47 tag as YouTube's i18nLanguages ids are: language, then script/region subtags
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


def google_error(
    code: int,
    reason: str,
    message: str,
    domain: str = "youtube.video",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    body = {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            **extra,
        }
    }
    return web.json_response(body, status=code, headers=headers)


class Fake(FakePlatform):
    platform: ClassVar[str] = "youtube"
    contract_media: ClassVar[str] = "video"

    CLIENT_ID = "123456789-fake.apps.googleusercontent.com"
    CLIENT_SECRET = "GOCSPX-fake-secret"
    INSERT_COST = 1600

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refresh_count = 0
        self.access_tokens: dict[str, float] = {}
        #: every token -> its grant: {"scopes", "channel", "revoked", "refresh_expires"}
        self.token_grant: dict[str, str] = {}
        self.grants: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> grant id
        #: the user's own channel (None: a Google account without one)
        self.channel: dict[str, Any] | None = {
            "id": "UCfakeChannel0123456789",
            "title": "Octo Channel",
            "customUrl": "@octochannel",
        }
        #: channels of brand accounts the user manages, offered by Google's account chooser
        self.brand_channels: list[dict[str, Any]] = []
        #: the channel id the test user picks in the chooser (None: their own channel)
        self.chosen_channel: str | None = None
        self.testing_mode = False
        #: the user already gave this app offline access (the seed refresh token came from
        #: that): Google sends no refresh token again unless prompt=consent asks anew
        self.consented = True
        self.oauth = AuthorizationServer(
            client_id=self.CLIENT_ID,
            known_scopes=frozenset(SCOPES),
            user="the test user",
            clock=self.clock,
            pkce="optional",  # Google checks a challenge when one is sent
            code_ttl=600,
            on_replay=lambda code: self._revoke_tokens(code.issued),
        )
        self.client_type = "desktop"
        grant = self._new_grant(SEED_SCOPES, self.channel["id"])
        self.refresh_token = "1//0gFakeRefreshToken"
        self.refresh_tokens[self.refresh_token] = grant
        self.token_grant[self.refresh_token] = grant
        self.access_token = self._issue(grant)
        self.quota_limit = 10_000
        self.quota_used = 0
        self.upload_limit_reached = False
        self.thumbnails_forbidden = False
        #: keep only this many bytes of the next upload PUT, then drop the connection
        self.cut_next_upload_after: int | None = None
        #: keep this many bytes of the next PUT as if an earlier copy of the request had
        #: delivered them, then refuse the (now overlapping) request with 400
        self.overlap_next_put: int | None = None
        #: answer the next N status queries (`Content-Range: bytes */total`) with 503
        self.fail_queries = 0
        self.sessions: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.thumbnails: dict[str, bytes] = {}

    @property
    def client_type(self) -> str:
        return self._client_type

    @client_type.setter
    def client_type(self, kind: str) -> None:
        """ "desktop": any loopback redirect; "web": only registered redirect URIs."""
        if kind not in ("desktop", "web"):
            raise ValueError(kind)
        self._client_type = kind
        self.oauth.loopback_any_port = kind == "desktop"
        self.oauth.redirect_uris = set()

    @property
    def refresh_revoked(self) -> bool:
        return any(g["revoked"] for g in self.grants.values())

    @refresh_revoked.setter
    def refresh_revoked(self, revoked: bool) -> None:
        """True: the user removed the app's access in their Google account (every grant)."""
        for grant in self.grants.values():
            grant["revoked"] = revoked

    def channels_of_user(self) -> list[dict[str, Any]]:
        return ([self.channel] if self.channel else []) + self.brand_channels

    def setup_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/o/oauth2/v2/auth", self.authorize)
        router.add_post("/token", self.token)
        router.add_post("/revoke", self.revoke)
        router.add_get("/youtube/v3/channels", self.channels)
        router.add_post("/upload/youtube/v3/videos", self.insert)
        router.add_put("/upload/youtube/v3/videos", self.session_put)
        router.add_post("/upload/youtube/v3/thumbnails/set", self.thumbnail)

    def credentials(self) -> dict[str, Any]:
        return {
            "client_id": self.CLIENT_ID,
            "client_secret": self.CLIENT_SECRET,
            "refresh_token": self.refresh_token,
            "access_token": self.access_token,
            "expires_at": self.clock() + 3599,
        }

    def platform_config(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "upload_url": f"{self.url}/upload",
            "auth_url": self.url,
            "authorize_url": self.url + "/o/oauth2/v2/auth",
            "client_id": self.CLIENT_ID,
            "client_secret": self.CLIENT_SECRET,
        }

    # -- controls -----------------------------------------------------------
    def expire_access_tokens(self) -> None:
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0

    def _new_grant(self, scopes: Any, channel: str | None) -> str:
        grant_id = secrets.token_hex(6)
        self.grants[grant_id] = {
            "scopes": tuple(scopes),
            "channel": channel,
            "revoked": False,
            "refresh_expires": None,
        }
        return grant_id

    def _issue(self, grant_id: str) -> str:
        token = f"ya29.{secrets.token_urlsafe(24)}"
        self.access_tokens[token] = self.clock() + 3599
        self.token_grant[token] = grant_id
        return token

    def _revoke_tokens(self, tokens: list[str]) -> None:
        for token in tokens:
            grant = self.grants.get(self.token_grant.get(token, ""))
            if grant is not None:
                grant["revoked"] = True

    def _grant_of(self, request: web.Request) -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        grant = self.grants.get(self.token_grant.get(token, ""))
        if grant is None or grant["revoked"] or self.access_tokens.get(token, 0.0) <= self.clock():
            return None
        return grant

    # -- helpers ------------------------------------------------------------
    def _auth(self, request: web.Request, scopes: set[str] = UPLOAD_SCOPES) -> web.Response | None:
        grant = self._grant_of(request)
        if grant is not None and not set(grant["scopes"]) & scopes:
            return google_error(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                domain="global",
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'
                },
                status="PERMISSION_DENIED",
            )
        if grant is None:
            return google_error(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
                domain="global",
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
                },
                status="UNAUTHENTICATED",
            )
        return None

    def _failure(self) -> web.Response | str | None:
        failure = self.take_failure()
        if failure is None:
            return None
        if failure.kind == "auth":
            return self._auth_error()
        if failure.kind == "rate_limit":
            return google_error(
                403,
                "rateLimitExceeded",
                "The request cannot be completed because you have exceeded your rate limit.",
                domain="youtube.quota",
                headers={"Retry-After": str(failure.retry_after)},
            )
        if failure.kind == "unavailable":
            return google_error(503, "backendError", "Backend Error", domain="global")
        if failure.kind == "reject":
            reason = failure.extra.get("reason", "invalidVideoMetadata")
            return google_error(400, reason, "The request metadata is invalid.")
        if failure.kind == "drop":
            return "drop"
        raise AssertionError(f"unknown failure kind {failure.kind}")

    def _auth_error(self) -> web.Response:
        return google_error(
            401, "authError", "Invalid Credentials", domain="global", status="UNAUTHENTICATED"
        )

    # -- OAuth ----------------------------------------------------------------
    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        prompt = set(query.get("prompt", "").split())
        if query.get("access_type", "online") not in ("online", "offline") or not prompt <= {
            "none",
            "consent",
            "select_account",
        }:
            return web.Response(status=400, text="Error 400: invalid_request (access_type, prompt)")
        return await self.oauth.authorize(request)

    def _chosen(self) -> str | None:
        """The channel the test user picks in Google's account chooser."""
        ids = [c["id"] for c in self.channels_of_user()]
        if self.chosen_channel is not None:
            if self.chosen_channel not in ids:
                raise AssertionError(f"the test user has no channel {self.chosen_channel}")
            return self.chosen_channel
        return self.channel["id"] if self.channel else None  # their own Google identity

    def _client_error(self, form: Any) -> web.Response | None:
        if (
            form.get("client_id") != self.CLIENT_ID
            or form.get("client_secret") != self.CLIENT_SECRET
        ):
            return web.json_response(
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
                status=401,
            )
        return None

    def _exchange(self, form: Any) -> web.Response:
        approved = self.oauth.redeem({k: str(v) for k, v in form.items()})
        if not isinstance(approved, Code):
            status, body = approved
            if "redirect_uri" in body["error_description"]:
                body = {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
            return web.json_response(body, status=status)
        scopes = tuple(sorted(approved.scopes))
        grant_id = self._new_grant(scopes, self._chosen())
        self.access_token = self._issue(grant_id)
        answer: dict[str, Any] = {
            "access_token": self.access_token,
            "expires_in": 3599,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        prompt = approved.params.get("prompt", "").split()
        offline = approved.params.get("access_type") == "offline"
        # Google sends a refresh token from the consent screen only: the first time, or
        # when prompt=consent shows it again
        if offline and ("consent" in prompt or not self.consented):
            refresh = "1//0g" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = grant_id
            self.token_grant[refresh] = grant_id
            answer["refresh_token"] = self.refresh_token = refresh
            approved.issued.append(refresh)
            if self.testing_mode:
                self.grants[grant_id]["refresh_expires"] = self.clock() + TESTING_REFRESH_LIFETIME
                answer["refresh_token_expires_in"] = TESTING_REFRESH_LIFETIME - 1
            self.consented = True
        approved.issued.append(self.access_token)
        return web.json_response(answer)

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (refused := self._client_error(form)) is not None:
            return refused
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange(form)
        if grant_type != "refresh_token":
            return web.json_response(
                {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"},
                status=400,
            )
        grant_id = self.refresh_tokens.get(str(form.get("refresh_token", "")), "")
        grant = self.grants.get(grant_id)
        if (
            grant is None
            or grant["revoked"]
            or (grant["refresh_expires"] is not None and grant["refresh_expires"] <= self.clock())
        ):
            return web.json_response(
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
                status=400,
            )
        self.refresh_count += 1
        self.access_token = self._issue(grant_id)
        return web.json_response(
            {
                "access_token": self.access_token,
                "expires_in": 3599,
                "scope": " ".join(grant["scopes"]),
                "token_type": "Bearer",
            }
        )

    async def revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = str(form.get("token") or request.query.get("token") or "")
        grant = self.grants.get(self.token_grant.get(token, ""))
        if grant is None or grant["revoked"]:
            return web.json_response(
                {"error": "invalid_token", "error_description": "Token expired or revoked"},
                status=400,
            )
        grant["revoked"] = True  # an access token takes its refresh token with it, and back
        return web.json_response({})

    # -- API -------------------------------------------------------------------
    async def channels(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, READ_SCOPES)) is not None:
            return denied
        if request.query.get("part") != "snippet" or request.query.get("mine") != "true":
            return google_error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: mine, id, forUsername.",
                domain="youtube.parameter",
            )
        items = []
        grant = self._grant_of(request) or {}
        mine = [c for c in self.channels_of_user() if c["id"] == grant.get("channel")]
        for ch in mine:
            items += [
                {
                    "kind": "youtube#channel",
                    "id": ch["id"],
                    "snippet": {
                        "title": ch["title"],
                        "customUrl": ch["customUrl"],
                        "description": "",
                        "thumbnails": {
                            "default": {
                                "url": f"https://yt3.ggpht.com/{ch['id']}=s88",
                                "width": 88,
                                "height": 88,
                            }
                        },
                    },
                }
            ]
        return web.json_response(
            {
                "kind": "youtube#channelListResponse",
                "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
                "items": items,
            }
        )

    async def insert(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        await self.slow_down()
        failure = self._failure()
        if isinstance(failure, web.Response):
            return failure
        if request.query.get("uploadType") != "resumable":
            return google_error(
                400,
                "invalidArgument",
                "uploadType must be resumable for this fake.",
                domain="global",
            )
        parts = set(request.query.get("part", "").split(","))
        if not parts - {""}:
            return google_error(400, "required", "Required parameter: part", domain="global")
        size = request.headers.get("X-Upload-Content-Length", "")
        if not size.isdigit() or int(size) <= 0:
            return google_error(
                400,
                "invalidArgument",
                "X-Upload-Content-Length must be a positive byte count.",
                domain="global",
            )
        ctype = request.headers.get("X-Upload-Content-Type", "")
        if not (ctype.startswith("video/") or ctype == "application/octet-stream"):
            return google_error(
                400,
                "invalidArgument",
                "Media type is not supported. Valid media types: [video/*, application/octet-stream]",
                domain="global",
            )
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return google_error(400, "parseError", "The metadata must be JSON.", domain="global")
        try:
            meta = json.loads(await request.read())
        except ValueError:
            return google_error(400, "parseError", "Parse Error", domain="global")
        if not isinstance(meta, dict) or not set(meta) <= parts:
            return google_error(
                400,
                "unexpectedPart",
                "The request body has parts not named in the part parameter.",
                domain="youtube.part",
            )
        if (bad := self._check_metadata(meta)) is not None:
            return bad
        if self.quota_used + self.INSERT_COST > self.quota_limit:
            return google_error(
                403,
                "quotaExceeded",
                'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
                domain="youtube.quota",
            )
        if self.upload_limit_reached:
            return google_error(
                400,
                "uploadLimitExceeded",
                "The user has exceeded the number of videos they may upload.",
            )
        self.quota_used += self.INSERT_COST
        upload_id = secrets.token_urlsafe(18)
        self.sessions[upload_id] = {
            "meta": meta,
            "total": int(size),
            "type": ctype,
            "data": bytearray(),
            "video": None,
            "drop_on_complete": failure == "drop",
            "channel": (self._grant_of(request) or {}).get("channel"),
        }
        location = f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&part={','.join(sorted(parts))}&upload_id={upload_id}"
        return web.Response(
            status=200, headers={"Location": location, "X-GUploader-UploadID": upload_id}
        )

    def _check_metadata(self, meta: dict[str, Any]) -> web.Response | None:
        snippet = meta.get("snippet") or {}
        status = meta.get("status") or {}
        title = snippet.get("title")
        if not isinstance(title, str) or not title.strip():
            return google_error(
                400,
                "invalidTitle",
                "The request metadata specifies an invalid or empty video title.",
            )
        if len(title) > 100 or "<" in title or ">" in title:
            return google_error(
                400, "invalidTitle", "The request metadata specifies an invalid video title."
            )
        description = snippet.get("description", "")
        if (
            not isinstance(description, str)
            or len(description.encode("utf-8")) > 5000
            or "<" in description
            or ">" in description
        ):
            return google_error(
                400,
                "invalidDescription",
                "The request metadata specifies an invalid video description.",
            )
        if "categoryId" in snippet and snippet["categoryId"] not in CATEGORIES:
            return google_error(
                400,
                "invalidCategoryId",
                "The snippet.categoryId property specifies an invalid category ID.",
            )
        if status.get("privacyStatus", "public") not in PRIVACY:
            return google_error(400, "invalidVideoMetadata", "The request metadata is invalid.")
        for key in ("defaultLanguage", "defaultAudioLanguage"):
            # BCP-47 codes (the i18nLanguages list is made of them). fake: YouTube's answer
            # to a malformed one is not documented; this is its generic metadata error
            if key in snippet and not (
                isinstance(snippet[key], str) and _LANGUAGE.fullmatch(snippet[key])
            ):
                return google_error(
                    400, "invalidVideoMetadata", f"The request metadata is invalid: {key}."
                )
        return None

    async def session_put(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        session = self.sessions.get(request.query.get("upload_id", ""))
        if session is None:
            return web.Response(status=404, text="Not Found")
        total = session["total"]
        header = request.headers.get("Content-Range", "")
        body = await request.read()
        if (query := _QUERY.match(header)) is not None:
            if self.fail_queries > 0:
                self.fail_queries -= 1
                return google_error(503, "backendError", "Backend Error", domain="global")
            if int(query.group(1)) != total or body:
                return google_error(
                    400,
                    "badRequest",
                    "The status query does not match the upload's size.",
                    domain="global",
                )
            if session["video"] is not None:
                return web.json_response(session["video"], status=200)
            return self._incomplete(session)
        if session["video"] is not None:  # already complete: the same answer again
            return web.json_response(session["video"], status=200)
        if header:
            match = _RANGE.match(header)
            if match is None:
                return google_error(
                    400, "badRequest", "Failed to parse Content-Range header.", domain="global"
                )
            first, last, claimed = (int(g) for g in match.groups())
        else:
            first, last, claimed = 0, len(body) - 1, total
        if claimed != total:
            return google_error(
                400,
                "badRequest",
                "The Content-Range total does not match X-Upload-Content-Length.",
                domain="global",
            )
        if first != len(session["data"]):
            return google_error(
                400,
                "badRequest",
                "The Content-Range does not continue the bytes stored so far.",
                domain="global",
            )
        if len(body) != last - first + 1 or last >= total:
            return google_error(
                400,
                "badRequest",
                "The request body does not match its Content-Range.",
                domain="global",
            )
        if last + 1 < total and len(body) % 262_144:
            return google_error(
                400,
                "badRequest",
                "Non-final chunks must be a multiple of 256 KiB.",
                domain="global",
            )
        if self.overlap_next_put is not None:
            keep, self.overlap_next_put = self.overlap_next_put, None
            session["data"] += body[:keep]
            return google_error(
                400,
                "badRequest",
                "The Content-Range does not continue the bytes stored so far.",
                domain="global",
            )
        if self.cut_next_upload_after is not None:
            keep, self.cut_next_upload_after = self.cut_next_upload_after, None
            session["data"] += body[:keep]
            return await self.drop_connection(request)
        session["data"] += body
        if len(session["data"]) < total:
            return self._incomplete(session)
        video = self._create_video(session)
        if session["drop_on_complete"]:
            return await self.drop_connection(request)
        return web.json_response(video, status=201)

    @staticmethod
    def _incomplete(session: dict[str, Any]) -> web.Response:
        stored = len(session["data"])
        headers = {"Range": f"bytes=0-{stored - 1}"} if stored else {}
        return web.Response(status=308, headers=headers)

    def _create_video(self, session: dict[str, Any]) -> dict[str, Any]:
        video_id = "".join(secrets.choice(_ID_CHARS) for _ in range(11))
        meta = session["meta"]
        snippet, status = meta.get("snippet", {}), meta.get("status", {})
        data = bytes(session["data"])
        video = {
            "kind": "youtube#video",
            "etag": secrets.token_hex(8),
            "id": video_id,
            "snippet": {**snippet, "channelId": session["channel"] or ""},
            "status": {
                "uploadStatus": "uploaded",
                "privacyStatus": status.get("privacyStatus", "public"),
                "selfDeclaredMadeForKids": bool(status.get("selfDeclaredMadeForKids", False)),
            },
        }
        session["video"] = video
        self.videos[video_id] = video
        self.posts.append(
            {
                "id": video_id,
                "text": snippet.get("description", ""),
                "title": snippet.get("title"),
                "privacy": video["status"]["privacyStatus"],
                "category": snippet.get("categoryId"),
                "video_bytes": len(data),
                "video_sha256": hashlib.sha256(data).hexdigest(),
                "content_type": session["type"],
                "channel": session["channel"],
            }
        )
        return video

    async def thumbnail(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        video_id = request.query.get("videoId", "")
        if video_id not in self.videos:
            return google_error(
                404, "videoNotFound", "The video that you are trying to update cannot be found."
            )
        if self.thumbnails_forbidden:
            return google_error(
                403,
                "forbidden",
                "The authenticated user doesn't have permissions to upload and set custom video thumbnails.",
                domain="youtube.thumbnail",
            )
        body = await request.read()
        if request.headers.get("Content-Type") not in ("image/jpeg", "image/png") or not body:
            return google_error(
                400,
                "mediaBodyRequired",
                "The request does not include the image content.",
                domain="youtube.thumbnail",
            )
        if len(body) > 2 * 1024 * 1024:
            return google_error(
                400,
                "invalidImage",
                "The provided image content is invalid.",
                domain="youtube.thumbnail",
            )
        self.thumbnails[video_id] = body
        return web.json_response(
            {
                "kind": "youtube#thumbnailSetResponse",
                "items": [{"default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg"}}],
            }
        )
