"""A strict fake Instagram API with Instagram Login (graph.instagram.com).

The shared Meta container core is in `_meta_graph.py` (auth, refresh, media
fetching, state machine, quota, throttling, error envelopes). Instagram rules
here: media required (no text-only containers); an image container has
`image_url` and no media_type; single videos are REELS (media_type=VIDEO only as
a carousel item); carousels 2-10 (2207028); no caption on carousel items;
`alt_text` only on images (<= 1000); caption <= 2,200, <= 30 hashtags (2207010),
<= 20 @mentions (2207040); JPEG only (2207005); 50 posts a day (9/2207042);
only known parameters.
OAuth (Instagram Login; the fake serves www.instagram.com's authorize page and
api.instagram.com's code exchange too): `instagram_business_basic` required, the
retired `business_*` names refused, publishing needs
`instagram_business_content_publish`; the redirect ends in `#_`; the code exchange
answers Meta's documented `{"data": [{access_token, user_id, permissions}]}` or, with
`flat_token`, the flat object many integrations read; its user id is the app-scoped
one (the professional account id comes from /me); its errors are the flat
`{error_type, code, error_message}` of api.instagram.com; `ig_exchange_token` for the
long-lived token.
"""

from __future__ import annotations

from typing import Any, ClassVar

import regex
from aiohttp import web

from tests.fakes._meta_graph import Container, MetaGraphFake, Token
from tests.fakes._meta_oauth import Refusal

KNOWN = frozenset(
    {
        "media_type",
        "image_url",
        "video_url",
        "is_carousel_item",
        "caption",
        "alt_text",
        "children",
        "share_to_feed",
        "cover_url",
        "thumb_offset",
        "location_id",
        "user_tags",
        "collaborators",
        "audio_name",
    }
)
#: Instagram Login scopes (the `business_*` names were retired 2025-01-27)
SCOPES = frozenset(
    {
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_comments",
        "instagram_business_manage_messages",
        "instagram_business_manage_insights",
    }
)
APP_SCOPED_ID = "2468013579"
_TAG = regex.compile(r"#(\w+)")
_MENTION = regex.compile(r"@([A-Za-z0-9._]+)")


class Fake(MetaGraphFake):
    platform = "instagram"
    contract_media = "image"
    version = "v25.0"
    create_edge = "media"
    publish_edge = "media_publish"
    quota_edge = "content_publishing_limit"
    status_key = "status_code"
    error_key = "status"
    text_field = "caption"
    refresh_grant = "ig_refresh_token"
    usage_type = "instagram"
    max_carousel = 10
    default_quota = 50
    user_id = "17841400000000001"
    token_prefix = "IGAA"
    username = "octo.shop"
    display_name = "Octo Shop"
    image_types: ClassVar[frozenset[str]] = frozenset({"image/jpeg"})
    known_scopes = SCOPES
    required_scopes = frozenset({"instagram_business_basic"})
    publish_scope = "instagram_business_content_publish"
    exchange_grant = "ig_exchange_token"
    redirect_fragment = "#_"
    #: answer the code exchange with the flat object instead of {"data": [...]}
    flat_token = False

    def platform_config(self) -> dict[str, Any]:
        # api.instagram.com (the code exchange) is served here too
        return {**super().platform_config(), "auth_url": self.url}

    def code_answer(self, token: Token) -> dict[str, Any]:
        answer = {
            "access_token": token.value,
            "user_id": APP_SCOPED_ID,
            "permissions": ",".join(sorted(token.scopes or ())),
        }
        return answer if self.flat_token else {"data": [answer]}

    def code_refusal(self, refusal: Refusal) -> web.Response:
        return web.json_response(
            {"error_type": "OAuthException", "code": 400, "error_message": refusal.message},
            status=400,
        )

    def unsupported(self, what: str) -> web.Response:
        return self.error(400, f"The media type is not supported: {what}", 100, 2207023)

    def build_container(self, p: dict[str, str]) -> Container | web.Response:
        for name in p:
            if name not in KNOWN and name != "fields":
                return self.error(400, f"(#100) Param {name} is not a valid parameter", 100)
        media_type = p.get("media_type", "")
        item = p.get("is_carousel_item", "false") == "true"
        caption = p.get("caption", "")
        if media_type == "":
            if not p.get("image_url"):
                return self.missing_param("image_url")
            kind = "IMAGE"
        elif media_type == "REELS":
            if item:
                return self.unsupported("Reels cannot be carousel items")
            kind = "REELS"
        elif media_type == "VIDEO":
            if not item:
                return self.unsupported(
                    "VIDEO is only for carousel items; publish single videos as REELS"
                )
            kind = "VIDEO"
        elif media_type == "CAROUSEL":
            if item or not p.get("children"):
                return self.missing_param("children")
            kind = "CAROUSEL"
        else:
            return self.unsupported(media_type)
        if kind in ("REELS", "VIDEO") and not p.get("video_url"):
            return self.missing_param("video_url")
        if item and caption:
            return self.error(400, "(#100) Carousel items cannot have a caption", 100)
        if ("cover_url" in p or "share_to_feed" in p) and kind != "REELS":
            return self.error(400, "(#100) cover_url and share_to_feed are for Reels only", 100)
        if "alt_text" in p:
            if kind != "IMAGE":
                return self.error(
                    400,
                    "(#100) alt_text is supported on images only; Reels and stories are not supported",
                    100,
                )
            if len(p["alt_text"]) > 1000:
                return self.error(400, "(#100) alt_text must be at most 1000 characters", 100)
        if len(caption) > 2200 or len({t.casefold() for t in _TAG.findall(caption)}) > 30:
            return self.error(
                400,
                "The caption is too long or has too many hashtags",
                36004,
                2207010,
                error_user_msg="Captions can be 2,200 characters with up to 30 hashtags.",
            )
        if len({m.casefold() for m in _MENTION.findall(caption)}) > 20:
            return self.error(
                400,
                "Too many tags",
                100,
                2207040,
                error_user_msg="A caption can mention at most 20 accounts.",
            )
        children = [c for c in p.get("children", "").split(",") if c] if kind == "CAROUSEL" else []
        return Container(self.next_id(), kind, dict(p), self.clock(), item, children)

    def image_error(self, problem: str) -> dict[str, Any]:
        if problem.startswith("unsupported"):
            return {
                "message": "The image format is not supported",
                "type": "OAuthException",
                "code": 100,
                "error_subcode": 2207005,
                "error_user_msg": f"Only JPEG images are supported ({problem}).",
                "fbtrace_id": "Aimg",
            }
        return {
            "message": "Media download has failed. The media URI doesn't meet our requirements.",
            "type": "OAuthException",
            "code": 9004,
            "error_subcode": 2207052,
            "error_user_msg": f"The media could not be fetched from this URI ({problem}).",
            "fbtrace_id": "Afetch",
        }

    def video_error(self) -> str:
        return "Error: Media download has failed. The media URI doesn't meet our requirements. (2207052)"

    def reject_body(self) -> dict[str, Any]:
        return {
            "message": "Action is blocked",
            "type": "OAuthException",
            "code": 4,
            "error_subcode": 2207051,
            "is_transient": False,
            "error_user_title": "Action Blocked",
            "error_user_msg": "We restrict certain activity to protect our community. Tell us if you think we made a mistake.",
            "fbtrace_id": "Areject",
        }

    def quota_error(self) -> dict[str, Any]:
        return {
            "message": "Application request limit reached",
            "type": "OAuthException",
            "code": 9,
            "error_subcode": 2207042,
            "error_user_title": "Publishing limit reached",
            "error_user_msg": "You reached the maximum number of posts allowed in 24 hours.",
            "fbtrace_id": "Aquota",
        }

    def me_fields(self) -> dict[str, Any]:
        return {
            "id": APP_SCOPED_ID,
            "user_id": self.user_id,
            "username": self.username,
            "name": self.display_name,
            "account_type": "BUSINESS",
        }

    def permalink(self, shortcode: str, container: Container) -> str:
        section = "reel" if container.kind == "REELS" else "p"
        return f"https://www.instagram.com/{section}/{shortcode}/"
