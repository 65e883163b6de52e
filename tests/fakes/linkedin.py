"""Fake LinkedIn: OAuth (authorize page, code exchange, refresh), OpenID userinfo, Posts API,
Images API, Videos API.

Checks what the real API checks (as far as LinkedIn's Posts, Images and Videos API docs on
learn.microsoft.com and public reports say): Bearer token, `LinkedIn-Version` (missing -> 400 VERSION_MISSING, inactive ->
426 NONEXISTENT_VERSION), `X-Restli-Protocol-Version: 2.0.0`, the post schema, that the token's
member may post as the author, media upload states, the 3,000 limit, duplicates (422
DUPLICATE_POST naming the first post) and the little-text trap: an unescaped reserved
character that starts no valid element silently cuts the stored text (still 201).

Stricter than LinkedIn where LinkedIn's answer is unknown (labelled "fake:" below): a missing
Restli header and URNs not percent-encoded in paths/queries are refused.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
from typing import Any

from aiohttp import web

from tests.fakes._base import FakePlatform
from tests.fakes._oauth import AuthorizationServer, Code

PERSON = "urn:li:person:"
ORGANIZATION = "urn:li:organization:"
RESERVED = frozenset("\\|{}@[]()<>#*_~")
MAX_COMMENTARY = 3000
MAX_ALT_TEXT = 4086

_MENTION = re.compile(
    r"@\[((?:\\.|[^\\\[\]])*)\]\((urn:li:(?:person|organization):[A-Za-z0-9_-]+)\)"
)
_HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\?[#\uff03]\|([^\W_]+)\}")
_HASHTAG = re.compile(r"#[^\W_]+")
_UNESCAPE = re.compile(r"\\(.)")


def render_little(commentary: str) -> tuple[str, bool]:
    """The text LinkedIn shows for `commentary`, and whether it was cut short.

    little text: `\\x` escapes a reserved character; `@[Name](urn)` is a mention,
    `#tag` and `{hashtag|#|tag}` are hashtags. Any other reserved character ends
    the visible text there (LinkedIn still answers 201).
    """
    out: list[str] = []
    i, n = 0, len(commentary)
    while i < n:
        ch = commentary[i]
        if ch == "\\":
            if i + 1 < n and commentary[i + 1] in RESERVED:
                out.append(commentary[i + 1])
                i += 2
                continue
            return "".join(out), True
        if ch not in RESERVED:
            out.append(ch)
            i += 1
            continue
        if mention := _MENTION.match(commentary, i):
            out.append(_UNESCAPE.sub(r"\1", mention.group(1)))
            i = mention.end()
        elif template := _HASHTAG_TEMPLATE.match(commentary, i):
            out.append("#" + template.group(1))
            i = template.end()
        elif hashtag := _HASHTAG.match(commentary, i):
            out.append(hashtag.group())
            i = hashtag.end()
        else:
            return "".join(out), True
    return "".join(out), False


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Answer(Exception):
    """Raised by checks to answer the request at once."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    return Answer(web.json_response(body, status=status, headers=headers))


def invalid(path: str, description: str, code: str, status: int = 422) -> Answer:
    """A Rest.li validation error, shaped like LinkedIn's."""
    return answer(
        status,
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": f"ERROR :: /{path} :: {description}\n",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": description,
                        "input": {"inputPath": {"fieldPath": f"/{path}"}},
                        "code": code,
                    }
                ]
            },
            "status": status,
        },
    )


def access_denied(what: str) -> Answer:
    return answer(
        403,
        {
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": f"Not enough permissions to access: {what}",
        },
    )


EXPIRED = {
    "status": 401,
    "serviceErrorCode": 65602,
    "code": "EXPIRED_ACCESS_TOKEN",
    "message": "The token used in the request has expired",
}
INVALID = {"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401}
EMPTY = {"serviceErrorCode": 65604, "message": "Empty oauth2_access_token", "status": 401}


class Fake(FakePlatform):
    platform = "linkedin"
    contract_media = "text"

    def __init__(self, **kwargs: Any) -> None:
        self._by_content: dict[tuple[str, str], dict[str, Any]] = {}
        self._indexed = 0
        self.sub = "782bbtaQ"
        self.name = "Alice Example"
        #: pages the member administers (may post as) / pages that exist but are not theirs
        self.admin_orgs = {"2414183": {"localizedName": "Devtestco", "vanityName": "devtestco"}}
        self.other_orgs = {"1337": {"localizedName": "Someone Else", "vanityName": "someone-else"}}
        self.client_id = "octopost-li-app"
        self.client_secret = "li-client-secret"
        self.refresh_token = "li-refresh-1"
        #: what a pasted token (and a refreshed one) may do
        self.oauth_scopes = frozenset(
            {
                "openid",
                "profile",
                "w_member_social",
                "w_organization_social",
                "r_organization_admin",
            }
        )
        self.tokens: dict[str, dict[str, Any]] = {}
        self.access_token = self._issue_token()
        self.refreshes = 0
        self.refuse_refresh = False
        #: active LinkedIn-Version range (inclusive)
        self.oldest_version = "202512"
        self.newest_version = "202611"
        #: r_member_social: reading posts back (finder, GET by URN)
        self.can_read_posts = True
        self.part_size = 4 * 1024 * 1024
        self.image_polls = 0  # GETs answering PROCESSING after an image upload
        self.video_polls = 2  # GETs answering PROCESSING after finalizeUpload
        self.video_fails = False
        self.images: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        #: tests: changes to `credentials()` (None removes a field) and `platform_config()`
        self.credential_changes: dict[str, Any] = {}
        self.config_changes: dict[str, Any] = {}
        super().__init__(**kwargs)
        self.app.middlewares.append(self._answers)
        #: www.linkedin.com/oauth/v2/authorization; codes live 30 minutes, no PKCE
        #: for web apps; a member who cancels comes back with user_cancelled_authorize
        self.oauth = AuthorizationServer(
            client_id=self.client_id,
            known_scopes=frozenset(
                {"openid", "profile", "email", "w_member_social", "r_member_social",
                 "w_organization_social", "r_organization_social", "r_organization_admin",
                 "rw_organization_admin"}
            ),
            user=self.sub,
            clock=self.clock,
            pkce=None,
            code_ttl=1800,
            deny_error="user_cancelled_authorize",
        )  # fmt: skip
        #: the app is approved for programmatic refresh tokens (a code exchange gets one)
        self.programmatic_refresh = True

    # -- harness API -------------------------------------------------------------
    def credentials(self) -> dict[str, Any]:
        creds = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            **self.credential_changes,
        }
        return {k: v for k, v in creds.items() if v is not None}

    def platform_config(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "auth_url": self.url,
            "authorize_url": self.url + "/oauth/v2/authorization",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "poll_interval": 0.01,
            "poll_timeout": 5.0,
            **self.config_changes,
        }

    def revoke_all(self) -> None:
        """The member removed the app (Settings > Data privacy > Permitted services)."""
        self.tokens.clear()
        self.refuse_refresh = True

    def expire_token(self) -> None:
        """Every access token issued so far is now expired (60 days passed)."""
        for token in self.tokens.values():
            token["expired"] = True

    @property
    def author(self) -> str:
        return PERSON + self.sub

    def setup_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/oauth/v2/accessToken", self._token)
        router.add_get("/oauth/v2/authorization", self._authorize)
        router.add_get("/v2/userinfo", self._userinfo)
        router.add_get("/rest/organizations/{id}", self._organization)
        router.add_get("/rest/organizationAcls", self._organization_acls)
        router.add_post("/rest/posts", self._create_post)
        router.add_get("/rest/posts", self._find_posts)
        router.add_get("/rest/posts/{urn}", self._get_post)
        router.add_post("/rest/images", self._images_action)
        router.add_get("/rest/images/{urn}", self._get_image)
        router.add_put("/dms-uploads/image/{id}", self._put_image)
        router.add_post("/rest/videos", self._videos_action)
        router.add_get("/rest/videos/{urn}", self._get_video)
        router.add_put("/dms-uploads/video/{id}/{part}", self._put_video_part)

    @web.middleware
    async def _answers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except Answer as done:
            return done.response

    # -- auth and versions ---------------------------------------------------------
    def _issue_token(self, scopes: frozenset[str] | None = None) -> str:
        token = f"li-access-{secrets.token_hex(6)}"
        self.tokens[token] = {
            "sub": self.sub,
            "expired": False,
            "scopes": scopes if scopes is not None else self.oauth_scopes,
        }
        return token

    def _member(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header:
            raise answer(401, EMPTY)
        token = (
            self.tokens.get(header.removeprefix("Bearer "))
            if header.startswith("Bearer ")
            else None
        )
        if token is None:
            raise answer(401, INVALID)
        if token["expired"]:
            raise answer(401, EXPIRED)
        return str(token["sub"])

    def _rest(self, request: web.Request) -> str:
        """Auth plus the two headers every /rest call needs; returns the member's id."""
        sub = self._member(request)
        version = request.headers.get("LinkedIn-Version")
        if not version:
            raise answer(
                400,
                {
                    "status": 400,
                    "code": "VERSION_MISSING",
                    "message": "A version must be present. Please specify a version by adding "
                    "the LinkedIn-Version header.",
                },
            )
        month = version[:6]
        if not re.fullmatch(r"\d{6}(\.\d{2})?", version) or not (
            self.oldest_version <= month <= self.newest_version
        ):
            shown = f"{month}01" if re.fullmatch(r"\d{6}", month) else version
            raise answer(
                426,
                {
                    "status": 426,
                    "code": "NONEXISTENT_VERSION",
                    "message": f"Requested version {shown} is not active",
                },
            )
        if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":  # fake: strict
            raise answer(
                400,
                {"status": 400, "message": "fake: send X-Restli-Protocol-Version: 2.0.0"},
            )
        return sub

    def _may_act_as(self, sub: str, urn: Any) -> bool:
        if not isinstance(urn, str):
            return False
        if urn.startswith(PERSON):
            return urn == PERSON + sub
        return urn.startswith(ORGANIZATION) and urn.removeprefix(ORGANIZATION) in self.admin_orgs

    @staticmethod
    def _urn_in_path(request: web.Request) -> str:
        raw = request.raw_path.split("?")[0].rsplit("/", 1)[-1]
        if ":" in raw:  # fake: Rest.li 2.0 keys are percent-encoded
            raise answer(
                400, {"status": 400, "message": f"fake: percent-encode the URN in the path ({raw})"}
            )
        return request.match_info["urn"]

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            raise answer(400, {"status": 400, "message": "Unable to parse request body"}) from None
        if not isinstance(body, dict):
            raise answer(400, {"status": 400, "message": "Request body must be a JSON object"})
        return body

    # -- OAuth and identity ----------------------------------------------------------
    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") not in ("refresh_token", "authorization_code"):
            raise answer(
                400, {"error": "unsupported_grant_type", "error_description": "grant_type"}
            )
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            raise answer(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        if form.get("grant_type") == "authorization_code":
            code = self.oauth.redeem({k: str(v) for k, v in form.items()})
            if not isinstance(code, Code):
                raise answer(code[0], code[1])
            self.access_token = self._issue_token(code.scopes)
            body: dict[str, Any] = {
                "access_token": self.access_token,
                "expires_in": 5183999,
                "scope": ",".join(sorted(code.scopes)),  # LinkedIn separates by commas
                "token_type": "Bearer",
                "id_token": "eyJ.fake.id-token",
            }
            if self.programmatic_refresh:
                self.refuse_refresh = False
                body |= {"refresh_token": self.refresh_token, "refresh_token_expires_in": 31536000}
            return web.json_response(body)
        if self.refuse_refresh or form.get("refresh_token") != self.refresh_token:
            raise answer(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant or refresh token is "
                    "invalid, expired or revoked",
                },
            )
        self.refreshes += 1
        self.access_token = self._issue_token()
        return web.json_response(
            {
                "access_token": self.access_token,
                "expires_in": 5183999,
                "refresh_token": self.refresh_token,  # not rotated; its 365 days do not restart
                "refresh_token_expires_in": 31000000,
                "scope": "openid,profile,w_member_social",
            }
        )

    async def _authorize(self, request: web.Request) -> web.Response:
        return await self.oauth.authorize(request)

    async def _userinfo(self, request: web.Request) -> web.Response:
        sub = self._member(request)
        return web.json_response(
            {
                "sub": sub,
                "name": self.name,
                "given_name": "Alice",
                "family_name": "Example",
                "picture": "https://media.licdn.com/dms/image/alice.jpg",
                "email": "alice@example.com",
                "email_verified": True,
                "locale": {"country": "US", "language": "en"},
            }
        )

    async def _organization_acls(self, request: web.Request) -> web.Response:
        """The roleAssignee finder: the member's page roles (r/rw_organization_admin)."""
        self._rest(request)
        header = request.headers.get("Authorization", "").removeprefix("Bearer ")
        sub = self._member(request)
        scopes = self.tokens[header]["scopes"]
        if not scopes & {"r_organization_admin", "rw_organization_admin"}:
            raise access_denied("organizationAcls.FINDER-roleAssignee.20260901")
        if request.query.get("q") != "roleAssignee":
            raise answer(400, {"status": 400, "message": "Invalid finder: q"})
        wanted = request.query.get("state")
        elements = [
            {
                "roleAssignee": PERSON + sub,
                "state": "APPROVED",
                "role": "ADMINISTRATOR",
                "organization": ORGANIZATION + org_id,
            }
            for org_id in self.admin_orgs
        ]
        elements = [e for e in elements if wanted in (None, e["state"])]
        return web.json_response({"elements": elements, "paging": {"count": len(elements)}})

    async def _organization(self, request: web.Request) -> web.Response:
        self._rest(request)
        org_id = request.match_info["id"]
        if org_id in self.admin_orgs:
            return web.json_response({"id": int(org_id), **self.admin_orgs[org_id]})
        if org_id in self.other_orgs:
            raise access_denied("organizations.GET.20260901")
        raise answer(404, {"status": 404, "message": f"Organization {org_id} not found"})

    # -- posts ---------------------------------------------------------------------------
    async def _create_post(self, request: web.Request) -> web.StreamResponse:
        failure = self.take_failure()
        await self.slow_down()
        kind = failure.kind if failure else None
        if kind == "auth":
            raise answer(401, EXPIRED)
        if kind == "rate_limit":
            assert failure is not None
            send_header = failure.extra.get("header", True)
            raise answer(
                429,
                {
                    "status": 429,
                    "serviceErrorCode": 101,
                    "code": "TOO_MANY_REQUESTS",
                    "message": "Resource level throttle MEMBER DAY limit for calls to this resource is reached.",
                },
                headers={"Retry-After": str(failure.retry_after)} if send_header else None,
            )
        if kind == "unavailable":
            raise answer(503, {"status": 503, "message": "Service Unavailable"})
        if kind == "reject":
            raise answer(
                422,
                {
                    "errorDetailType": "com.linkedin.common.error.BadRequest",
                    "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
                    "Post violates LinkedIn's Professional Community Policies",
                    "errorDetails": {
                        "inputErrors": [
                            {
                                "description": "Content is not allowed",
                                "input": {"inputPath": {"fieldPath": "/commentary"}},
                                "code": "INVALID_VALUE",
                            }
                        ]
                    },
                    "status": 422,
                },
            )
        sub = self._rest(request)
        post = self._validate_post(sub, await self._json(request))
        self.posts.append(post)
        if kind == "drop":
            return await self.drop_connection(request)
        if kind == "error_after_commit":
            raise answer(500, {"status": 500, "message": "Internal Server Error"})
        return web.Response(
            status=201, headers={"x-restli-id": post["id"], "x-linkedin-id": post["id"]}
        )

    def _earlier(self, author: str, text: str) -> dict[str, Any] | None:
        """The first post of `author` with this commentary (LinkedIn's duplicate check),
        looked up in an index kept as posts are added, not by a scan of every post."""
        for post in self.posts[self._indexed :]:
            self._by_content.setdefault((post["author"], post["text"]), post)
        self._indexed = len(self.posts)
        return self._by_content.get((author, text))

    def _validate_post(self, sub: str, body: dict[str, Any]) -> dict[str, Any]:
        allowed = {
            "author", "commentary", "visibility", "distribution", "lifecycleState",
            "isReshareDisabledByAuthor", "content", "contentLandingPage", "container",
        }  # fmt: skip
        for key in body:
            if key not in allowed:
                raise invalid(key, "unrecognized field found but not allowed", "UNRECOGNIZED_FIELD")
        for key in ("author", "visibility", "distribution", "lifecycleState"):
            if key not in body:
                raise invalid(
                    key,
                    "field is required but not found and has no default value",
                    "MISSING_REQUIRED_FIELD",
                )
        author = body["author"]
        if not isinstance(author, str) or not re.fullmatch(
            r"urn:li:(person|organization):[\w-]+", author
        ):
            raise invalid(
                "author", f"{author!r} is not a valid person or organization URN", "INVALID_URN"
            )
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            raise invalid(
                "visibility", f"{body['visibility']!r} is not an enum symbol", "INVALID_ENUM"
            )
        dist = body["distribution"]
        if not isinstance(dist, dict) or dist.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
            raise invalid(
                "distribution/feedDistribution", "field is required", "MISSING_REQUIRED_FIELD"
            )
        for key in ("targetEntities", "thirdPartyDistributionChannels"):
            if not isinstance(dist.get(key), list):
                raise invalid(
                    f"distribution/{key}",
                    "field is required but not found",
                    "MISSING_REQUIRED_FIELD",
                )
        if body["lifecycleState"] != "PUBLISHED":
            raise invalid(
                "lifecycleState", "fake: only PUBLISHED posts are supported", "INVALID_VALUE"
            )
        if not isinstance(body.get("isReshareDisabledByAuthor", False), bool):
            raise invalid("isReshareDisabledByAuthor", "expected a boolean", "INVALID_VALUE")
        commentary = body.get("commentary", "")
        if not isinstance(commentary, str):
            raise invalid("commentary", "expected a string", "INVALID_VALUE")
        if not self._may_act_as(sub, author):
            raise access_denied("partnerApiPostsExternal.CREATE.20260901")
        images, alt_texts, video = self._validate_content(author, body.get("content"))
        text, truncated = render_little(commentary)
        # fake: LinkedIn does not say which string it measures; the commentary as sent
        # (escapes included) is the longer reading, so that is what is held to 3,000
        if utf16_length(commentary) > MAX_COMMENTARY:
            raise answer(
                400,
                {
                    "errorDetailType": "com.linkedin.common.error.BadRequest",
                    "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
                    f"ShareCommentary text length ({utf16_length(commentary)} characters) exceeded the "
                    f"maximum allowed ({MAX_COMMENTARY} characters)",
                    "errorDetails": {
                        "inputErrors": [
                            {
                                "description": "Size of array cannot be higher than the maxLength",
                                "input": {"value": {"stringValue": commentary[:50]}},
                                "code": "FIELD_ARRAY_SIZE_TOO_HIGH",
                                "maxLength": MAX_COMMENTARY,
                            }
                        ]
                    },
                    "status": 400,
                },
            )
        if not text.strip() and not images and not video:
            raise invalid(
                "commentary", "a post needs commentary or content", "MISSING_REQUIRED_FIELD"
            )
        earlier = self._earlier(author, text) if text.strip() else None
        if earlier is not None:
            raise answer(
                422,
                {
                    "errorDetailType": "com.linkedin.common.error.BadRequest",
                    "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
                    f"Content is a duplicate of {earlier['id']}",
                    "errorDetails": {
                        "inputErrors": [
                            {
                                "description": "Duplicate post is detected",
                                "input": {},
                                "code": "DUPLICATE_POST",
                            }
                        ]
                    },
                    "status": 422,
                },
            )
        now = int(self.clock() * 1000)
        return {
            "id": f"urn:li:share:{7300000000000000000 + next(self._ids)}",
            "author": author,
            "commentary": commentary,
            "text": text,
            "truncated": truncated,
            "visibility": body["visibility"],
            "reshare_disabled": body.get("isReshareDisabledByAuthor", False),
            "content": body.get("content"),
            "images": images,
            "alt_texts": alt_texts,
            "video": video,
            "created_at": now,
        }

    def _validate_content(
        self, author: str, content: Any
    ) -> tuple[list[str], list[str | None], str | None]:
        if content is None:
            return [], [], None
        if (
            not isinstance(content, dict)
            or len(content) != 1
            or not ({"media", "multiImage"} & set(content))
        ):
            raise invalid(
                "content",
                "fake: content must hold exactly one of media, multiImage",
                "INVALID_VALUE",
            )
        if "media" in content:
            media = content["media"]
            if not isinstance(media, dict) or not isinstance(media.get("id"), str):
                raise invalid(
                    "content/media/id", "field is required but not found", "MISSING_REQUIRED_FIELD"
                )
            urn = media["id"]
            if urn.startswith("urn:li:video:"):
                self._usable(self.videos, urn, author, "content/media/id")
                return [], [], urn
            self._usable(self.images, urn, author, "content/media/id")
            alt = self._alt(media, "content/media/altText")
            return [urn], [alt], None
        items = (
            content["multiImage"].get("images") if isinstance(content["multiImage"], dict) else None
        )
        if not isinstance(items, list) or not 2 <= len(items) <= 20:
            raise invalid(
                "content/multiImage/images",
                "a multi-image post has 2 to 20 images",
                "INVALID_VALUE",
            )
        ids: list[str] = []
        alts: list[str | None] = []
        for n, item in enumerate(items):
            urn = item.get("id") if isinstance(item, dict) else None
            if not isinstance(urn, str) or not urn.startswith("urn:li:image:"):
                raise invalid(
                    f"content/multiImage/images/{n}/id", "expected an image URN", "INVALID_VALUE"
                )
            self._usable(self.images, urn, author, f"content/multiImage/images/{n}/id")
            ids.append(urn)
            alts.append(self._alt(item, f"content/multiImage/images/{n}/altText"))
        return ids, alts, None

    @staticmethod
    def _alt(item: dict[str, Any], path: str) -> str | None:
        alt = item.get("altText")
        if alt is not None and (not isinstance(alt, str) or len(alt) > MAX_ALT_TEXT):
            raise invalid(
                path, f"altText is a string of at most {MAX_ALT_TEXT} characters", "INVALID_VALUE"
            )
        return alt

    @staticmethod
    def _usable(store: dict[str, dict[str, Any]], urn: str, author: str, path: str) -> None:
        asset = store.get(urn)
        if asset is None:
            raise invalid(path, f"Media asset {urn} not found", "MEDIA_ASSET_NOT_FOUND")
        if asset["owner"] != author:
            raise invalid(
                path, f"Media asset {urn} is owned by another entity", "MEDIA_ASSET_OWNER_MISMATCH"
            )
        if asset["status"] != "AVAILABLE":
            code = {
                "WAITING_UPLOAD": "MEDIA_ASSET_WAITING_UPLOAD",
                "PROCESSING_FAILED": "MEDIA_ASSET_PROCESSING_FAILED",
            }.get(asset["status"], "MEDIA_ASSET_PROCESSING")
            raise invalid(path, f"Media asset {urn} is {asset['status']}", code)

    def _read_view(self, post: dict[str, Any]) -> dict[str, Any]:
        view = {
            "id": post["id"],
            "author": post["author"],
            "commentary": post["commentary"],
            "visibility": post["visibility"],
            "lifecycleState": "PUBLISHED",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "isReshareDisabledByAuthor": post["reshare_disabled"],
            "createdAt": post["created_at"],
            "publishedAt": post["created_at"],
            "lastModifiedAt": post["created_at"],
        }
        if post["content"]:
            view["content"] = post["content"]
        return view

    async def _get_post(self, request: web.Request) -> web.Response:
        self._rest(request)
        urn = self._urn_in_path(request)
        if not self.can_read_posts:
            raise access_denied("partnerApiPostsExternal.GET.20260901")
        for post in self.posts:
            if post["id"] == urn:
                return web.json_response(self._read_view(post))
        raise answer(404, {"status": 404, "message": f"Post {urn} not found"})

    async def _find_posts(self, request: web.Request) -> web.Response:
        sub = self._rest(request)
        if (
            request.headers.get("X-RestLi-Method", "").upper() != "FINDER"
            or request.query.get("q") != "author"
        ):
            raise answer(
                400, {"status": 400, "message": "Invalid query parameters passed to request"}
            )
        if ":" in request.rel_url.raw_query_string:  # fake: URNs in queries are percent-encoded
            raise answer(400, {"status": 400, "message": "fake: percent-encode the author URN"})
        author = request.query.get("author")
        if not self._may_act_as(sub, author):
            raise access_denied("partnerApiPostsExternal.FINDER-author.20260901")
        if not self.can_read_posts:
            raise access_denied("partnerApiPostsExternal.FINDER-author.20260901")
        count = int(request.query.get("count", "10"))
        mine = [
            p
            for p in reversed(self.posts)
            if p["author"] == author and self.listed(p["created_at"] / 1000)
        ][:count]
        return web.json_response(
            {
                "paging": {"start": 0, "count": count, "links": []},
                "elements": [self._read_view(p) for p in mine],
            }
        )

    # -- images ----------------------------------------------------------------------------
    def _upload_slot(self, request: web.Request, sub: str, body: dict[str, Any]) -> dict[str, Any]:
        init = body.get("initializeUploadRequest")
        if not isinstance(init, dict) or "owner" not in init:
            raise invalid(
                "initializeUploadRequest/owner",
                "field is required but not found",
                "MISSING_REQUIRED_FIELD",
            )
        if not self._may_act_as(sub, init["owner"]):
            raise access_denied("partnerApiAssets.CREATE.20260901")
        return init

    async def _images_action(self, request: web.Request) -> web.Response:
        sub = self._rest(request)
        if request.query.get("action") != "initializeUpload":
            raise answer(400, {"status": 400, "message": "Unsupported action"})
        init = self._upload_slot(request, sub, await self._json(request))
        image_id = f"D4E10AQ{next(self._ids):012d}"
        urn = f"urn:li:image:{image_id}"
        # the signature holds an encoded '/', as real signed URLs do: it must come back unchanged
        signature = f"{secrets.token_hex(6)}%2F{secrets.token_hex(6)}"
        self.images[urn] = {
            "owner": init["owner"],
            "status": "WAITING_UPLOAD",
            "sig": signature,
            "size": 0,
        }
        return web.json_response(
            {
                "value": {
                    "uploadUrlExpiresAt": int(self.clock() * 1000) + 86_400_000,
                    "uploadUrl": f"{self.url}/dms-uploads/image/{image_id}?ca=vector_feedshare&sig={signature}",
                    "image": urn,
                }
            }
        )

    async def _put_image(self, request: web.Request) -> web.Response:
        urn = f"urn:li:image:{request.match_info['id']}"
        image = self.images.get(urn)
        if image is None or f"sig={image['sig']}" not in request.rel_url.raw_query_string:
            raise answer(403, {"status": 403, "message": "Upload URL signature does not match"})
        if image["status"] != "WAITING_UPLOAD":
            raise answer(400, {"status": 400, "message": "This image was already uploaded"})
        data = await request.read()
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")):
            raise answer(400, {"status": 400, "message": "Unsupported image format"})
        image["size"] = len(data)
        image["polls_left"] = self.image_polls
        image["status"] = "PROCESSING" if self.image_polls else "AVAILABLE"
        return web.Response(status=201)

    async def _get_image(self, request: web.Request) -> web.Response:
        self._rest(request)
        urn = self._urn_in_path(request)
        image = self.images.get(urn)
        if image is None:
            raise answer(404, {"status": 404, "message": f"Image {urn} not found"})
        status = image["status"]
        if status == "PROCESSING":
            image["polls_left"] -= 1
            if image["polls_left"] <= 0:
                image["status"] = "AVAILABLE"
        return web.json_response({"id": urn, "owner": image["owner"], "status": status})

    # -- videos ----------------------------------------------------------------------------
    async def _videos_action(self, request: web.Request) -> web.Response:
        sub = self._rest(request)
        action = request.query.get("action")
        body = await self._json(request)
        if action == "initializeUpload":
            return self._video_init(request, sub, body)
        if action == "finalizeUpload":
            return self._video_finalize(body)
        raise answer(400, {"status": 400, "message": "Unsupported action"})

    def _video_init(self, request: web.Request, sub: str, body: dict[str, Any]) -> web.Response:
        init = self._upload_slot(request, sub, body)
        size = init.get("fileSizeBytes")
        if not isinstance(size, int) or size <= 0:
            raise invalid(
                "initializeUploadRequest/fileSizeBytes",
                "field is required",
                "MISSING_REQUIRED_FIELD",
            )
        for flag in ("uploadCaptions", "uploadThumbnail"):
            if not isinstance(init.get(flag, False), bool):
                raise invalid(
                    f"initializeUploadRequest/{flag}", "expected a boolean", "INVALID_VALUE"
                )
        video_id = f"C5F10AQ{next(self._ids):012d}"
        urn = f"urn:li:video:{video_id}"
        signature = secrets.token_hex(6)
        ranges = [
            (first, min(size, first + self.part_size) - 1)
            for first in range(0, size, self.part_size)
        ]
        self.videos[urn] = {
            "owner": init["owner"],
            "status": "WAITING_UPLOAD",
            "size": size,
            "ranges": ranges,
            "etags": [None] * len(ranges),
            "token": secrets.token_hex(8) if len(ranges) > 1 else "",
            "sig": signature,
        }
        return web.json_response(
            {
                "value": {
                    "uploadUrlsExpireAt": int(self.clock() * 1000) + 86_400_000,
                    "video": urn,
                    "uploadInstructions": [
                        {
                            "uploadUrl": f"{self.url}/dms-uploads/video/{video_id}/{n}?sig={signature}",
                            "firstByte": first,
                            "lastByte": last,
                        }
                        for n, (first, last) in enumerate(ranges)
                    ],
                    "uploadToken": self.videos[urn]["token"],
                    "thumbnailUploadUrl": "",
                    "captionsUploadUrl": "",
                }
            }
        )

    async def _put_video_part(self, request: web.Request) -> web.Response:
        urn = f"urn:li:video:{request.match_info['id']}"
        video = self.videos.get(urn)
        if video is None or request.query.get("sig") != video["sig"]:
            raise answer(403, {"status": 403, "message": "Upload URL signature does not match"})
        part = int(request.match_info["part"])
        first, last = video["ranges"][part]
        data = await request.read()
        if len(data) != last - first + 1:
            raise answer(
                400, {"status": 400, "message": f"Part {part} must be {last - first + 1} bytes"}
            )
        etag = f"/ambry-video/signedId/{hashlib.md5(data).hexdigest()}"  # noqa: S324
        video["etags"][part] = etag
        return web.Response(status=201, headers={"ETag": etag})

    def _video_finalize(self, body: dict[str, Any]) -> web.Response:
        final = body.get("finalizeUploadRequest")
        if not isinstance(final, dict):
            raise invalid(
                "finalizeUploadRequest", "field is required but not found", "MISSING_REQUIRED_FIELD"
            )
        video = self.videos.get(final.get("video", ""))
        if video is None:
            raise invalid(
                "finalizeUploadRequest/video",
                "Video not found",
                "MEDIA_ASSET_NOT_FOUND",
                status=400,
            )
        if video["status"] != "WAITING_UPLOAD":
            raise answer(400, {"status": 400, "message": "Upload was already finalized"})
        if final.get("uploadToken") != video["token"]:
            raise answer(400, {"status": 400, "message": "Invalid uploadToken"})
        if None in video["etags"] or final.get("uploadedPartIds") != video["etags"]:
            raise answer(
                400,
                {
                    "status": 400,
                    "message": "uploadedPartIds do not match the uploaded parts (count and order)",
                },
            )
        video["status"] = "PROCESSING"
        video["polls_left"] = self.video_polls
        return web.Response(status=200)

    async def _get_video(self, request: web.Request) -> web.Response:
        self._rest(request)
        urn = self._urn_in_path(request)
        video = self.videos.get(urn)
        if video is None:
            raise answer(404, {"status": 404, "message": f"Video {urn} not found"})
        if video["status"] == "PROCESSING":
            video["polls_left"] -= 1
            if video["polls_left"] < 0:
                video["status"] = "PROCESSING_FAILED" if self.video_fails else "AVAILABLE"
        reply: dict[str, Any] = {"id": urn, "owner": video["owner"], "status": video["status"]}
        if video["status"] == "PROCESSING_FAILED":
            reply["processingFailureReason"] = "Video format is not supported"
        return web.json_response(reply)
