"""What a person types to connect each platform: credential and settings fields, and where
to get them. A literal table, like the registry; the dashboard renders it as forms and a
test keeps it in line with the README's platform table and the adapters' registry.

The dashboard sends exactly these fields as `credentials` / `settings` to the same
`AccountService.connect` the API uses, so the adapters decide what is valid.
"""

from __future__ import annotations

import msgspec


class Field(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    label: str
    required: bool = True
    #: a password-type input (never echoed back into the form)
    secret: bool = False
    #: text, url, number, bool (a yes/no/default select) or choice
    kind: str = "text"
    choices: tuple[str, ...] = ()
    hint: str = ""


class Variant(msgspec.Struct, frozen=True, kw_only=True):
    """One way to sign in (X has two: OAuth 1.0a and OAuth 2.0)."""

    label: str
    fields: tuple[Field, ...]
    #: sent as credentials["kind"] when the platform needs to tell variants apart
    kind: str = ""


class ConnectForm(msgspec.Struct, frozen=True, kw_only=True):
    variants: tuple[Variant, ...]
    settings: tuple[Field, ...] = ()
    #: where to get the credentials (the README's words)
    help: str


def _secret(name: str, label: str, **kw: object) -> Field:
    return Field(name=name, label=label, secret=True, **kw)  # type: ignore[arg-type]


_EXPIRES = Field(
    name="expires_at",
    label="Expires at",
    required=False,
    kind="number",
    hint="Unix time in seconds when the access token expires",
)

FORMS: dict[str, ConnectForm] = {
    "twitter": ConnectForm(
        variants=(
            Variant(
                label="OAuth 1.0a (access token pair)",
                kind="oauth1",
                fields=(
                    Field(name="api_key", label="API key"),
                    _secret("api_secret", "API secret"),
                    Field(name="access_token", label="Access token"),
                    _secret("access_token_secret", "Access token secret"),
                ),
            ),
            Variant(
                label="OAuth 2.0 (user token)",
                kind="oauth2",
                fields=(
                    _secret("access_token", "Access token"),
                    _secret("refresh_token", "Refresh token"),
                    Field(name="client_id", label="Client ID"),
                    _secret("client_secret", "Client secret", required=False),
                    _EXPIRES,
                ),
            ),
        ),
        settings=(
            Field(
                name="reply_settings",
                label="Who may reply",
                required=False,
                kind="choice",
                choices=("following", "mentionedUsers", "subscribers", "verified"),
            ),
        ),
        help="A developer portal app with “Read and write” permissions, then generate the "
        "access token pair (OAuth 1.0a); or OAuth 2.0 PKCE with scopes "
        "tweet.read tweet.write users.read media.write offline.access.",
    ),
    "bluesky": ConnectForm(
        variants=(
            Variant(
                label="App password",
                fields=(
                    Field(name="identifier", label="Handle, email or DID"),
                    _secret("app_password", "App password"),
                    Field(
                        name="pds_url",
                        label="PDS URL",
                        required=False,
                        kind="url",
                        hint="only for a self-hosted PDS",
                    ),
                ),
            ),
        ),
        settings=(
            Field(
                name="link_card",
                label="Link cards",
                required=False,
                kind="bool",
                hint="a card for the first link of a post without media (default: yes)",
            ),
        ),
        help="Settings → Privacy and security → App passwords.",
    ),
    "mastodon": ConnectForm(
        variants=(
            Variant(
                label="Access token",
                fields=(
                    Field(name="instance_url", label="Instance URL", kind="url"),
                    _secret("access_token", "Access token"),
                ),
            ),
        ),
        settings=(
            Field(
                name="visibility",
                label="Visibility",
                required=False,
                kind="choice",
                choices=("public", "unlisted", "private", "direct"),
            ),
            Field(name="sensitive", label="Mark media sensitive", required=False, kind="bool"),
        ),
        help="Preferences → Development → New application, scopes write:statuses "
        "write:media read:statuses and profile (or read:accounts).",
    ),
    "linkedin": ConnectForm(
        variants=(
            Variant(
                label="Access token",
                fields=(
                    _secret("access_token", "Access token"),
                    Field(
                        name="author",
                        label="Author URN",
                        required=False,
                        hint="urn:li:person:… or urn:li:organization:… (default: you)",
                    ),
                    _secret("refresh_token", "Refresh token", required=False),
                    Field(name="client_id", label="Client ID", required=False),
                    _secret("client_secret", "Client secret", required=False),
                    _EXPIRES,
                ),
            ),
        ),
        settings=(
            Field(
                name="visibility",
                label="Visibility",
                required=False,
                kind="choice",
                choices=("PUBLIC", "CONNECTIONS"),
            ),
            Field(name="disable_reshare", label="Disable reshare", required=False, kind="bool"),
        ),
        help="An app with “Sign In with LinkedIn using OpenID Connect” and “Share on LinkedIn”; "
        "token with openid profile w_member_social (company pages: Community Management API, "
        "w_organization_social).",
    ),
    "threads": ConnectForm(
        variants=(
            Variant(
                label="Long-lived token",
                fields=(
                    _secret("access_token", "Access token (long-lived)"),
                    Field(name="user_id", label="User ID", required=False),
                ),
            ),
        ),
        settings=(
            Field(
                name="reply_control",
                label="Who may reply",
                required=False,
                kind="choice",
                choices=(
                    "everyone",
                    "accounts_you_follow",
                    "mentioned_only",
                    "parent_post_author_only",
                    "followers_only",
                ),
            ),
        ),
        help="A Meta app with the Threads use case, scopes threads_basic, "
        "threads_content_publish, threads_manage_replies, threads_read_replies; "
        "generate a long-lived token in the dashboard.",
    ),
    "instagram": ConnectForm(
        variants=(
            Variant(
                label="Long-lived token (Instagram Login)",
                fields=(
                    _secret("access_token", "Access token (long-lived)"),
                    Field(name="user_id", label="User ID", required=False),
                ),
            ),
        ),
        settings=(
            Field(
                name="share_to_feed",
                label="Reels: also share to feed",
                required=False,
                kind="bool",
            ),
        ),
        help="A Meta app with “Instagram API with Instagram Login”, scopes "
        "instagram_business_basic, instagram_business_content_publish, on a Business or "
        "Creator account.",
    ),
    "facebook": ConnectForm(
        variants=(
            Variant(
                label="Page token",
                fields=(
                    Field(name="page_id", label="Page ID"),
                    _secret("page_access_token", "Page access token"),
                    _secret(
                        "app_secret",
                        "App secret",
                        required=False,
                        hint="only for apps with “Require App Secret”",
                    ),
                ),
            ),
        ),
        settings=(Field(name="link_preview", label="Link previews", required=False, kind="bool"),),
        help="A Page token from GET /me/accounts using a user token with pages_manage_posts, "
        "pages_read_engagement, pages_show_list (publish_video for video).",
    ),
    "tiktok": ConnectForm(
        variants=(
            Variant(
                label="Refresh token",
                fields=(
                    Field(name="client_key", label="Client key"),
                    _secret("client_secret", "Client secret"),
                    _secret("refresh_token", "Refresh token"),
                    _secret("access_token", "Access token", required=False),
                    _EXPIRES,
                ),
            ),
        ),
        settings=(
            Field(
                name="privacy_level",
                label="Privacy",
                required=False,
                kind="choice",
                choices=(
                    "PUBLIC_TO_EVERYONE",
                    "MUTUAL_FOLLOW_FRIENDS",
                    "FOLLOWER_OF_CREATOR",
                    "SELF_ONLY",
                ),
                hint="default: the most private level allowed",
            ),
            Field(
                name="source",
                label="Media source",
                required=False,
                kind="choice",
                choices=("FILE_UPLOAD", "PULL_FROM_URL"),
            ),
            Field(name="disable_comment", label="Disable comments", required=False, kind="bool"),
            Field(name="disable_duet", label="Disable duets", required=False, kind="bool"),
            Field(name="disable_stitch", label="Disable stitches", required=False, kind="bool"),
        ),
        help="A developers.tiktok.com app with the Content Posting API (Direct Post), scopes "
        "user.info.basic video.publish. Unaudited apps can only post SELF_ONLY. Easier: set "
        "the app's client_id and client_secret in the config and use Connect with TikTok on "
        "the accounts page.",
    ),
    "youtube": ConnectForm(
        variants=(
            Variant(
                label="OAuth client and refresh token",
                fields=(
                    Field(name="client_id", label="Client ID"),
                    _secret("client_secret", "Client secret"),
                    _secret("refresh_token", "Refresh token"),
                    Field(
                        name="channel_id",
                        label="Channel ID",
                        required=False,
                        hint="UC…: which channel, when the grant covers several",
                    ),
                ),
            ),
        ),
        settings=(
            Field(
                name="privacy",
                label="Privacy",
                required=False,
                kind="choice",
                choices=("public", "unlisted", "private"),
            ),
            Field(name="category_id", label="Category ID", required=False, hint="default 22"),
            Field(name="made_for_kids", label="Made for kids", required=False, kind="bool"),
            Field(
                name="notify_subscribers", label="Notify subscribers", required=False, kind="bool"
            ),
        ),
        help="A Google Cloud OAuth client with YouTube Data API v3 enabled, consent for "
        "youtube.upload youtube.readonly with access_type=offline. Easier: set the client's "
        "client_id and client_secret in the config and use Connect with YouTube on the "
        "accounts page.",
    ),
}
