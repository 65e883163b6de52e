"""Fake YouTube Data API v3 (resumable videos.insert) and Google OAuth token endpoint.

Enforces, per the YouTube Data API v3 reference (developers.google.com/youtube/v3/docs) and
Google's OAuth 2.0 docs:
- `POST /token` (form, grant_type=refresh_token): one-hour Bearer tokens; a revoked refresh
  token answers 400 invalid_grant, a wrong client 401 invalid_client. Google does not rotate.
- Every API call needs a live Bearer token, else 401 `authError` in Google's error body
  `{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}`.
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

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_QUERY = re.compile(r"^bytes \*/(\d+)$")
PRIVACY = {"public", "unlisted", "private"}
CATEGORIES = {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28"}
_ID_CHARS = string.ascii_letters + string.digits + "-_"


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
        self.refresh_token = "1//0gFakeRefreshToken"
        self.refresh_revoked = False
        self.refresh_count = 0
        self.access_tokens: dict[str, float] = {}
        self.access_token = self._issue()
        self.channel: dict[str, Any] | None = {
            "id": "UCfakeChannel0123456789",
            "title": "Octo Channel",
            "customUrl": "@octochannel",
        }
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

    def setup_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/token", self.token)
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
        }

    # -- controls -----------------------------------------------------------
    def expire_access_tokens(self) -> None:
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0

    def _issue(self) -> str:
        token = f"ya29.{secrets.token_urlsafe(24)}"
        self.access_tokens[token] = self.clock() + 3599
        return token

    # -- helpers ------------------------------------------------------------
    def _auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        if not token or self.access_tokens.get(token, 0.0) <= self.clock():
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
    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (
            form.get("client_id") != self.CLIENT_ID
            or form.get("client_secret") != self.CLIENT_SECRET
        ):
            return web.json_response(
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
                status=401,
            )
        if form.get("grant_type") != "refresh_token":
            return web.json_response(
                {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"},
                status=400,
            )
        if self.refresh_revoked or form.get("refresh_token") != self.refresh_token:
            return web.json_response(
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
                status=400,
            )
        self.refresh_count += 1
        self.access_token = self._issue()
        return web.json_response(
            {
                "access_token": self.access_token,
                "expires_in": 3599,
                "scope": "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly",
                "token_type": "Bearer",
            }
        )

    # -- API -------------------------------------------------------------------
    async def channels(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        if request.query.get("part") != "snippet" or request.query.get("mine") != "true":
            return google_error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: mine, id, forUsername.",
                domain="youtube.parameter",
            )
        items = []
        if self.channel is not None:
            ch = self.channel
            items = [
                {
                    "kind": "youtube#channel",
                    "id": ch["id"],
                    "snippet": {
                        "title": ch["title"],
                        "customUrl": ch["customUrl"],
                        "description": "",
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
            "snippet": {**snippet, "channelId": self.channel["id"] if self.channel else ""},
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
