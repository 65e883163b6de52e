"""A strict fake Threads API (graph.threads.net): containers, status polls, publish.

The shared Meta container core is in `_meta_graph.py` (auth, refresh, media
fetching, state machine, quota, throttling, error envelopes). Threads rules here:
`media_type` TEXT | IMAGE | VIDEO | CAROUSEL with its required field, only known
parameters, `alt_text` on images/videos (<= 1000), text <= 500 as Meta describes
it (emoji code points count their UTF-8 bytes), at most 5 distinct links
(string code THREADS_API__LINK_LIMIT_EXCEEDED), JPEG/PNG images, 250 posts a day.
OAuth: scopes `threads_basic` (required) ... `threads_manage_insights`, publishing
needs `threads_content_publish`; the code exchange answers `{access_token, user_id}`
with the user id as a number (as Meta sometimes does), errors in the Graph envelope;
`th_exchange_token` for the long-lived token.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import regex
from aiohttp import web

from tests.fakes._meta_graph import Container, MetaGraphFake, Token
from tests.fakes._meta_oauth import Refusal

KNOWN = frozenset(
    {
        "media_type",
        "text",
        "image_url",
        "video_url",
        "is_carousel_item",
        "children",
        "alt_text",
        "reply_control",
        "reply_to_id",
        "link_attachment",
        "topic_tag",
        "quote_post_id",
    }
)
#: Threads' scopes (developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions)
SCOPES = frozenset(
    {
        "threads_basic",
        "threads_content_publish",
        "threads_manage_replies",
        "threads_read_replies",
        "threads_manage_insights",
    }
)
#: Graph subcodes of a refused code exchange (the ones Facebook Login documents)
CODE_SUBCODES = {"used": 36009, "expired": 36007, "redirect_uri": 36008}
REPLY_CONTROL = frozenset(
    {
        "everyone",
        "accounts_you_follow",
        "mentioned_only",
        "parent_post_author_only",
        "followers_only",
    }
)
_BYTES = regex.compile(
    r"[\p{Extended_Pictographic}\p{Regional_Indicator}\p{Emoji_Modifier}\u200d\ufe0f\u20e3\U000e0020-\U000e007f]"
)
_LINK = re.compile(r"(?i)(?<![\w@/.-])(?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[^\s]*)?")


def meta_length(text: str) -> int:
    return sum(len(ch.encode()) if _BYTES.match(ch) else 1 for ch in text)


def links(text: str) -> set[str]:
    found = set()
    for match in _LINK.findall(text):
        bare = re.sub(r"(?i)^https?://", "", match).rstrip(".,;:!?)")
        host, _, path = bare.partition("/")
        found.add(host.lower() + ("/" + path if path else "").rstrip("/"))
    return found


class Fake(MetaGraphFake):
    platform = "threads"
    contract_media = "text"
    version = "v1.0"
    create_edge = "threads"
    publish_edge = "threads_publish"
    quota_edge = "threads_publishing_limit"
    status_key = "status"
    error_key = "error_message"
    text_field = "text"
    refresh_grant = "th_refresh_token"
    usage_type = "threads"
    max_carousel = 20
    default_quota = 250
    user_id = "25012345678901234"
    token_prefix = "THAA"
    image_types: ClassVar[frozenset[str]] = frozenset({"image/jpeg", "image/png"})
    known_scopes = SCOPES
    required_scopes = frozenset({"threads_basic"})
    publish_scope = "threads_content_publish"
    exchange_grant = "th_exchange_token"

    def code_answer(self, token: Token) -> dict[str, Any]:
        return {"access_token": token.value, "user_id": int(self.user_id)}

    def code_refusal(self, refusal: Refusal) -> web.Response:
        if refusal.kind == "secret":
            return self.error(400, refusal.message, 1)
        if refusal.kind == "client":
            return self.error(400, refusal.message, 101)
        return self.error(400, refusal.message, 100, CODE_SUBCODES.get(refusal.kind))

    def build_container(self, p: dict[str, str]) -> Container | web.Response:
        for name in p:
            if name not in KNOWN and name != "fields":
                return self.error(400, f"(#100) Param {name} is not a valid parameter", 100)
        media_type = p.get("media_type", "")
        if not media_type:
            return self.missing_param("media_type")
        if media_type not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return self.error(
                400, "(#100) Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}", 100
            )
        item = p.get("is_carousel_item", "false") == "true"
        text = p.get("text", "")
        required = {
            "TEXT": "text",
            "IMAGE": "image_url",
            "VIDEO": "video_url",
            "CAROUSEL": "children",
        }[media_type]
        if not p.get(required):
            return self.missing_param(required)
        if item and media_type not in ("IMAGE", "VIDEO"):
            return self.error(400, "(#100) Only images and videos can be carousel items", 100)
        if "alt_text" in p:
            if media_type not in ("IMAGE", "VIDEO"):
                return self.error(
                    400, "(#100) alt_text is only supported for images and videos", 100
                )
            if len(p["alt_text"]) > 1000:
                return self.error(
                    400, "(#100) Param alt_text must be at most 1000 characters long", 100
                )
        if "reply_control" in p and p["reply_control"] not in REPLY_CONTROL:
            return self.error(400, "(#100) Param reply_control is invalid", 100)
        if "reply_to_id" in p and not any(post["id"] == p["reply_to_id"] for post in self.posts):
            # the parent must be a published post (a container id or an unknown id is refused)
            return self.error(
                400, f"(#100) Param reply_to_id must be a valid media id: {p['reply_to_id']}", 100
            )
        if meta_length(text) > 500:
            return self.error(400, "(#100) Param text must be at most 500 characters long.", 100)
        if (
            len(
                links(text)
                | ({p["link_attachment"].lower()} if p.get("link_attachment") else set())
            )
            > 5
        ):
            return self.error(
                400,
                "The post contains more than 5 links.",
                "THREADS_API__LINK_LIMIT_EXCEEDED",
                kind="THApiException",
                error_user_title="Too many links",
                error_user_msg="Posts can contain at most 5 links.",
            )
        children = (
            [c for c in p.get("children", "").split(",") if c] if media_type == "CAROUSEL" else []
        )
        return Container(self.next_id(), media_type, dict(p), self.clock(), item, children)

    def image_error(self, problem: str) -> dict[str, Any]:
        if problem.startswith("unsupported"):
            return {
                "message": f"The image format is not supported ({problem})",
                "type": "OAuthException",
                "code": 100,
                "error_subcode": 2207005,
                "fbtrace_id": "Aimg",
            }
        return {
            "message": f"The media could not be fetched from this URI: {problem}",
            "type": "OAuthException",
            "code": 100,
            "error_subcode": 2207052,
            "fbtrace_id": "Afetch",
        }

    def video_error(self) -> str:
        return "FAILED_DOWNLOADING_VIDEO"

    def reject_body(self) -> dict[str, Any]:
        return {
            "message": "The user is restricted from publishing",
            "type": "OAuthException",
            "code": 100,
            "error_subcode": 4279013,
            "error_user_title": "Account restricted",
            "error_user_msg": "This Threads profile is restricted from publishing right now.",
            "fbtrace_id": "Areject",
        }

    def quota_error(self) -> dict[str, Any]:
        return {
            "message": "(#4) The profile has reached its 24 hour publishing limit",
            "type": "OAuthException",
            "code": 4,
            "fbtrace_id": "Aquota",
        }

    def me_fields(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "username": self.username,
            "name": self.display_name,
            "threads_profile_picture_url": "https://scontent.example/p.jpg",
            "threads_biography": "hi",
        }

    def permalink(self, shortcode: str, container: Container) -> str:
        return f"https://www.threads.net/@{self.username}/post/{shortcode}"

    # -- replies (developers.facebook.com/documentation/threads/retrieve-and-manage-replies)
    def setup_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/{version}/{media_id}/replies", self.replies)
        super().setup_routes(router)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: the parents whose replies were listed
        self.reply_lookups: list[str] = []

    def listed(self) -> list[dict[str, Any]]:
        """`/{user}/threads` lists the user's posts, not their replies (those are under
        `/{user}/replies` and each parent's `/{media}/replies`)."""
        return [p for p in self.posts if "reply_to_id" not in p["params"]]

    async def replies(self, request: web.Request) -> web.Response:
        """The top-level replies under a post, newest first unless `reverse=false`; reading
        them takes `threads_read_replies`."""
        params = await self.params(request)
        failure = self.check_version(request) or self.authenticate(
            request, params, scope="threads_read_replies"
        )
        if failure is not None:
            return failure
        parent = request.match_info["media_id"]
        if not any(p["id"] == parent for p in self.posts):
            return self.error(
                400, f"(#100) Unsupported get request. Object '{parent}' does not exist", 100
            )
        self.reply_lookups.append(parent)
        under = [p for p in self.posts if p["params"].get("reply_to_id") == parent]
        under.sort(key=lambda p: p["created_at"], reverse=params.get("reverse", "true") != "false")
        return self.ok({"data": [self.fields(params, p) for p in under], "paging": {}})
