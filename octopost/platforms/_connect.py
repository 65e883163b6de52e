"""What an OAuth platform declares so that its accounts can be connected in a browser.

A platform's package declares one `OAuthFlow` in `<id>/oauth.py` (named `FLOW`) and
its adapter class points at it (`oauth: ClassVar[OAuthFlow | None] = FLOW`). The flow
itself (state, PKCE, the callback, verifying and storing the account) is run by
`octopost/connect.py` the same way for every platform; a platform says only:

- where its pages and endpoints are (`authorize_endpoint`, `token_endpoint`, read from
  the context's settings, or its instance, so tests point them at the fakes), which scopes it asks for, whether it
  takes PKCE, how the app authenticates at the token endpoint, extra parameters;
- how the token answer becomes the account's credentials (`credentials`), the same
  dict a user would paste into POST /v1/accounts, so the adapter's `verify()` and its
  refresh machinery (`_oauth.TokenKeeper`) work on it unchanged;
- optionally, where its app comes from (`app`: Mastodon registers one per instance),
  and a choice after the grant (`choices` + `choose`: a Facebook Page, a YouTube channel).

No I/O here; the hooks get a `FlowContext` with the platform's HTTP client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec

from octopost.platforms._http import PlatformHttp
from octopost.platforms._oauth import Token
from octopost.platforms.endpoints import PlatformSettings

Credentials = dict[str, Any]


@dataclass(frozen=True, repr=False)
class App:
    """The user's app on the platform (`client_secret` empty for a public client).

    An `OAuthFlow.app` hook that discovers what a server supports may narrow the flow:
    `pkce` (None: the flow's) and `scopes` (None: the flow's) for this app."""

    client_id: str
    client_secret: str = ""
    pkce: bool | None = None
    scopes: tuple[str, ...] | None = None

    def __repr__(self) -> str:  # the secret never shows in a log line or a traceback
        return f"App(client_id={self.client_id!r})"


class AppMemory(Protocol):
    """Apps Octopost registered itself, remembered per (instance, redirect URI); stored
    encrypted by the connect service (`FlowContext.apps`)."""

    async def get(self, instance: str, redirect_uri: str) -> App | None: ...

    async def put(self, instance: str, redirect_uri: str, app: App) -> None: ...


@dataclass
class FlowContext:
    """What a flow's hooks may use: the platform's HTTP client (errors translated by
    `_http.py`), its settings, the clock, and the instance URL the user named (Mastodon)."""

    platform: str
    label: str
    http: PlatformHttp
    settings: PlatformSettings
    clock: Callable[[], float]
    apps: AppMemory
    instance_url: str | None = None
    #: the `extra_scopes` sets the user asked for at start (e.g. ("organization",))
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grant:
    """The callback's result: the token answer (decoded as `OAuthFlow.token`), the app
    and redirect URI it was issued for, and the time it arrived (epoch seconds)."""

    token: Token
    app: App
    redirect_uri: str
    now: float
    instance_url: str | None = None


class Choice(msgspec.Struct, omit_defaults=True):
    """One thing the user picks after granting access (a Page, a channel)."""

    id: str
    name: str
    username: str | None = None
    avatar_url: str | None = None


#: (context, grant) -> the account's credentials
CredentialsHook = Callable[[FlowContext, Grant], Awaitable[Credentials]]
#: (context, credentials) -> the choices offered; [] or one choice: no question asked
ChoicesHook = Callable[[FlowContext, Credentials], Awaitable[list[Choice]]]
#: (context, credentials, chosen id) -> the credentials of the chosen Page/channel
ChooseHook = Callable[[FlowContext, Credentials, str], Awaitable[Credentials]]
#: context, redirect URI -> the app to use (default: config client_id / client_secret)
AppHook = Callable[[FlowContext, str], Awaitable[App]]


def _authorize_setting(ctx: FlowContext) -> str:
    return ctx.settings.authorize_url


@dataclass(frozen=True)
class OAuthFlow:
    """One platform's OAuth 2.0 authorization-code flow, declared."""

    #: scopes asked for; each must be granted, or the connection is refused
    scopes: tuple[str, ...]
    #: the token endpoint's URL (from `ctx.settings`, or `ctx.instance_url`)
    token_endpoint: Callable[[FlowContext], str]
    #: the token answer -> the account's credentials
    credentials: CredentialsHook
    #: where a user registers the app (named in the "set client_id" error and README)
    register_url: str
    #: the authorization page's URL (default: the `authorize_url` setting)
    authorize_endpoint: Callable[[FlowContext], str] = _authorize_setting
    #: PKCE S256 (RFC 7636): a verifier per flow, its challenge on the authorize URL;
    #: a function of the redirect URI when the app type decides (TikTok: desktop apps,
    #: the only ones allowed loopback redirects, must; web apps send none)
    pkce: bool | Callable[[str], bool] = True
    #: how the challenge is written: RFC 7636's base64url, or hex (TikTok's desktop kit)
    pkce_encoding: Literal["base64url", "hex"] = "base64url"
    #: how the app authenticates at the token endpoint: "basic" (RFC 6749 2.3.1, when
    #: it has a secret; a public client sends client_id in the form) or "form"
    #: (client_id and client_secret in the form)
    client_auth: Literal["basic", "form"] = "form"
    #: the platform issues every app a secret and refuses a token request without it
    #: (a confidential client only), so a missing `client_secret` is a 422 at start,
    #: not a refusal at the callback after the user has signed in
    needs_secret: bool = False
    #: named sets of scopes a user may ask for on top (LinkedIn: "organization", to post
    #: as a company page); the start request's `extra` names them, hooks see `ctx.extra`
    extra_scopes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: how scopes are joined on the authorize URL
    scope_separator: str = " "
    #: more authorize parameters (e.g. access_type=offline, prompt=consent)
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    #: the name of the client id parameter (TikTok: client_key)
    client_id_param: str = "client_id"
    #: how the token answer is decoded (a Token subclass with the platform's extra fields)
    token: type[Token] = Token
    #: the platform accepts any loopback redirect URI (RFC 8252 7.3), so the command
    #: line can listen on a free port; otherwise the redirect URI must be registered
    loopback: bool = False
    #: the app to use (Mastodon: registered per instance); default: config keys
    app: AppHook | None = None
    #: the user names a server (Mastodon): `instance_url` is required at start
    needs_instance: bool = False
    #: a choice after the grant (Facebook Page, YouTube channel): both or neither
    choices: ChoicesHook | None = None
    choose: ChooseHook | None = None

    def uses_pkce(self, redirect_uri: str) -> bool:
        return self.pkce(redirect_uri) if callable(self.pkce) else self.pkce
