"""Connecting an account in a browser: one OAuth 2.0 authorization-code flow for every
platform that declares one (`platforms/<id>/oauth.py`, see `platforms/_connect.py`).

- `start`: a random state (its SHA-256 is stored, never the state), bound to the API key
  that asked, the platform, the redirect URI, the PKCE verifier, the app and `return_to`;
  it expires after `STATE_TTL` seconds.
- `callback`: the state is taken out of the store in one statement (single use), then
  checked (platform, expiry, the platform's `error=`); the code is exchanged, the scopes
  granted are compared with those asked, and the account is verified and stored
  encrypted by `AccountService.connect` (the same path as pasted credentials). Any
  failure stores nothing.
- `choose`: when the platform offers a choice after the grant (a Page, a channel), the
  callback keeps the grant encrypted for `STATE_TTL` under a connection id and the
  starter picks one.

Nothing secret (state, code, verifier, tokens, client secret) is logged.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec

from octopost.accounts import AccountService, _connect_error
from octopost.config import Config
from octopost.crypto import CredentialBox
from octopost.errors import (
    ConnectError,
    FieldError,
    NotFoundError,
    ValidationError,
)
from octopost.models import AccountRecord, utcnow
from octopost.platforms import ADAPTERS, PLATFORM_IDS
from octopost.platforms._connect import App, Choice, FlowContext, Grant, OAuthFlow
from octopost.platforms._oauth import authorize_url, exchange_code, granted_scopes, pkce_pair
from octopost.platforms.base import Deps
from octopost.platforms.errors import PlatformError
from octopost.store import Store
from octopost.store.oauth import StoredFlow

log = logging.getLogger("octopost.connect")

#: seconds a started flow (and a grant waiting for a choice) stays usable
STATE_TTL = 600
CALLBACK_PATH = "/v1/oauth/callback/"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def is_loopback_uri(url: str) -> bool:
    """An http URL on this machine's loopback (RFC 8252 7.3: a native app's redirect)."""
    origin = _origin(url)
    return origin is not None and origin[0] == "http" and origin[1] in _LOOPBACK


class Started(msgspec.Struct):
    authorize_url: str
    state: str
    expires_at: datetime


@dataclass
class Finished:
    """The callback's outcome: a connected account, or choices to pick from."""

    platform: str
    return_to: str | None
    account: AccountRecord | None = None
    connection: str | None = None
    choices: list[Choice] = field(default_factory=list)
    expires_at: datetime | None = None


class _Apps:
    """`AppMemory` over the store: registered apps, encrypted."""

    def __init__(self, store: Store, box: CredentialBox, platform: str) -> None:
        self.store = store
        self.box = box
        self.platform = platform

    async def get(self, instance: str, redirect_uri: str) -> App | None:
        sealed = await self.store.oauth.app(self.platform, instance, redirect_uri)
        if sealed is None:
            return None
        data = self.box.open(sealed)
        scopes = data.get("scopes")
        return App(
            str(data["client_id"]),
            str(data.get("client_secret") or ""),
            pkce=data.get("pkce"),
            scopes=tuple(scopes) if scopes is not None else None,
        )

    async def put(self, instance: str, redirect_uri: str, app: App) -> None:
        sealed = self.box.seal(
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "pkce": app.pkce,
                "scopes": list(app.scopes) if app.scopes is not None else None,
            }
        )
        await self.store.oauth.put_app(self.platform, instance, redirect_uri, sealed, utcnow())


def missing_app_error(
    platform: str, flow: OAuthFlow, missing: tuple[str, ...] = ("client_id", "client_secret")
) -> ValidationError:
    """The 422 of a platform whose app is not configured: which keys, and where to get them."""
    label = ADAPTERS[platform].label
    keys = [f"platforms.{platform}.{name}" for name in missing]
    env = ", ".join(f"OCTOPOST_{k.replace('.', '_').upper()}" for k in keys)
    return ValidationError(
        f"Connecting {label} needs your own {label} app: register one at "
        f"{flow.register_url}, then set {' and '.join(keys)} in the config file "
        f"(or {env}) and restart Octopost. The README's 'Connecting accounts' section "
        "says which redirect URI and scopes to enter.",
        [FieldError(k, "not set") for k in keys],
    )


class ConnectService:
    def __init__(
        self,
        store: Store,
        box: CredentialBox,
        accounts: AccountService,
        config: Config,
        deps: Mapping[str, Deps],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.box = box
        self.accounts = accounts
        self.config = config
        self.deps = deps
        self.clock = clock

    # -- helpers ------------------------------------------------------------------------
    def flow(self, platform: str) -> OAuthFlow:
        if platform not in PLATFORM_IDS:
            raise ValidationError(
                f"Unknown platform '{platform}'",
                [FieldError("platform", f"must be one of: {', '.join(PLATFORM_IDS)}")],
            )
        flow = ADAPTERS[platform].oauth
        if flow is None:
            label = ADAPTERS[platform].label
            raise ValidationError(
                f"{label} has no OAuth flow to connect with: connect it with POST "
                "/v1/accounts and its credentials (the README says which).",
                [FieldError("platform", f"{platform} connects with pasted credentials")],
            )
        return flow

    def callback_uri(self, platform: str) -> str:
        return f"{self.config.public_url}{CALLBACK_PATH}{platform}"

    def _context(
        self, platform: str, instance_url: str | None, extra: tuple[str, ...] = ()
    ) -> FlowContext:
        deps = self.deps[platform]
        label = ADAPTERS[platform].label
        return FlowContext(
            platform=platform,
            label=label,
            http=deps.bind(label),
            settings=deps.settings,
            clock=deps.clock,
            apps=_Apps(self.store, self.box, platform),
            instance_url=instance_url,
            extra=extra,
        )

    def _redirect_uri(self, platform: str, given: str | None) -> str:
        own = self.callback_uri(platform)
        if not given or given == own:
            return own
        if is_loopback_uri(given):
            return given  # a command line listening on this machine (RFC 8252)
        why = (
            f"must be {own} (server.public_url decides its origin) or a loopback "
            "http://127.0.0.1:<port>/... address"
        )
        raise ValidationError(f"Invalid redirect_uri: {why}", [FieldError("redirect_uri", why)])

    def _return_to(self, given: str | None) -> str | None:
        if not given:
            return None
        if given.startswith("/") and not given.startswith("//"):
            return self.config.public_url + given
        if _origin(given) is not None and _origin(given) == _origin(self.config.public_url):
            return given
        why = f"must be a path or a URL on {self.config.public_url} (server.public_url)"
        raise ValidationError(f"Invalid return_to: {why}", [FieldError("return_to", why)])

    async def _app(self, platform: str, flow: OAuthFlow, ctx: FlowContext, redirect: str) -> App:
        if flow.app is not None:
            return await flow.app(ctx, redirect)
        settings = ctx.settings
        if not settings.client_id:
            raise missing_app_error(platform, flow)
        if flow.needs_secret and not settings.client_secret:
            raise missing_app_error(platform, flow, ("client_secret",))
        return App(settings.client_id, settings.client_secret)

    # -- the flow -----------------------------------------------------------------------
    async def start(
        self,
        api_key_id: str,
        platform: str,
        *,
        redirect_uri: str | None = None,
        return_to: str | None = None,
        instance_url: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> Started:
        """The authorization URL to send the browser to; the flow is remembered."""
        flow = self.flow(platform)
        unknown = [name for name in extra if name not in flow.extra_scopes]
        if unknown:
            offered = ", ".join(flow.extra_scopes) or "none"
            why = f"{ADAPTERS[platform].label} offers these: {offered}"
            raise ValidationError(
                f"Unknown extra '{unknown[0]}': {why}", [FieldError("extra", why)]
            )
        redirect = self._redirect_uri(platform, redirect_uri)
        back = self._return_to(return_to)
        if flow.needs_instance and not instance_url:
            raise ValidationError(
                f"Connecting {ADAPTERS[platform].label} needs instance_url: the server your "
                "account is on, e.g. https://mastodon.social",
                [FieldError("instance_url", "this field is required")],
            )
        ctx = self._context(platform, (instance_url or "").rstrip("/") or None, tuple(extra))
        try:
            app = await self._app(platform, flow, ctx, redirect)
        except PlatformError as exc:
            raise _connect_error(ctx.label, exc) from exc
        state = secrets.token_urlsafe(32)
        scopes = app.scopes if app.scopes is not None else flow.scopes
        scopes = (*scopes, *(s for name in extra for s in flow.extra_scopes[name]))
        params = {
            "response_type": "code",
            flow.client_id_param: app.client_id,
            "redirect_uri": redirect,
            "scope": flow.scope_separator.join(scopes),
            "state": state,
            **flow.authorize_params,
        }
        verifier = ""
        if flow.uses_pkce(redirect) if app.pkce is None else app.pkce:
            verifier, challenge = pkce_pair(flow.pkce_encoding)
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        now = self.clock().replace(microsecond=0)
        expires = now + timedelta(seconds=STATE_TTL)
        secret = {
            "verifier": verifier,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "instance_url": ctx.instance_url,
            "scopes": list(scopes),
            "extra": list(extra),
        }
        await self.store.oauth.insert(
            _hash(state),
            StoredFlow(
                kind="state",
                api_key_id=api_key_id,
                platform=platform,
                redirect_uri=redirect,
                return_to=back,
                secret=self.box.seal(secret),
                created_at=now,
                expires_at=expires,
            ),
        )
        log.info("started connecting %s (key %s)", platform, api_key_id)
        return Started(authorize_url(flow.authorize_endpoint(ctx), params), state, expires)

    async def _take_state(self, platform: str, state: str) -> StoredFlow:
        label = ADAPTERS[platform].label
        if not state:
            raise ConnectError(
                f"The {label} callback carries no state: start connecting again.",
                code="invalid_state",
            )
        stored = await self.store.oauth.take(_hash(state), "state", platform)
        if stored is None:
            other = await self.store.oauth.peek(_hash(state))
            if other is not None and other.platform != platform:
                raise ConnectError(
                    f"This state was issued for connecting "
                    f"{ADAPTERS[other.platform].label}, not {label}: nothing was stored.",
                    code="platform_mismatch",
                )
            if other is not None and other.kind == "state":
                raise ConnectError(
                    f"The API key that started connecting {label} was revoked since: "
                    "nothing was stored.",
                    code="invalid_state",
                )
            raise ConnectError(
                f"Unknown or already used state for {label}: each connection link works "
                "once. Start connecting again.",
                code="invalid_state",
            )
        if stored.expires_at <= self.clock():
            raise ConnectError(
                f"This {label} connection link expired (after {STATE_TTL // 60} minutes): "
                "start connecting again.",
                code="state_expired",
                return_to=stored.return_to,
            )
        return stored

    async def callback(self, platform: str, params: Mapping[str, str]) -> Finished:
        """The platform sent the browser back: finish the flow (see the module doc)."""
        flow = self.flow(platform)
        label = ADAPTERS[platform].label
        stored = await self._take_state(platform, params.get("state", ""))
        back = stored.return_to
        error = params.get("error")
        if error:
            said = params.get("error_description") or params.get("error_reason") or ""
            # access_denied (RFC 6749 4.1.2.1); LinkedIn says user_cancelled_login/_authorize
            denied = error in ("access_denied", "user_cancelled_login", "user_cancelled_authorize")
            message = (
                f"You did not grant Octopost access to your {label} account"
                if denied
                else f"{label} did not grant access ({error})"
            )
            raise ConnectError(
                f"{message}{': ' + said if said else ''}. Nothing was stored.",
                code="access_denied" if denied else "authorization_failed",
                return_to=back,
            )
        code = params.get("code", "")
        if not code:
            raise ConnectError(
                f"The {label} callback carries neither a code nor an error: start again.",
                code="invalid_callback",
                return_to=back,
            )
        secret = self.box.open(stored.secret)
        ctx = self._context(platform, secret.get("instance_url"), tuple(secret.get("extra") or ()))
        app = App(str(secret["client_id"]), str(secret.get("client_secret") or ""))
        try:
            creds = await self._exchange(flow, ctx, app, code, stored.redirect_uri, secret)
        except ConnectError as exc:
            exc.return_to = back
            raise
        if flow.choices is not None:
            try:
                choices = await flow.choices(ctx, creds)
            except PlatformError as exc:
                raise _connect_error(label, exc) from exc
            if len(choices) > 1:
                return await self._offer(stored, secret, creds, choices)
            if choices and flow.choose is not None:
                creds = await self._chosen(flow, ctx, creds, choices[0].id)
        record = await self.accounts.connect(platform, creds, {})
        return Finished(platform, back, account=record)

    async def _exchange(
        self,
        flow: OAuthFlow,
        ctx: FlowContext,
        app: App,
        code: str,
        redirect: str,
        secret: Mapping[str, Any],
    ) -> dict[str, Any]:
        form = {"code": code, "redirect_uri": redirect}
        basic = None
        if flow.client_auth == "basic" and app.client_secret:
            basic = (app.client_id, app.client_secret)
        else:
            form[flow.client_id_param] = app.client_id
            if app.client_secret:
                form["client_secret"] = app.client_secret
        if secret.get("verifier"):  # PKCE was used at start (the flow's, or the app's)
            form["code_verifier"] = str(secret["verifier"])
        try:
            token = await exchange_code(
                ctx.http, flow.token_endpoint(ctx), form, basic=basic, kind=flow.token
            )
        except PlatformError as exc:
            if exc.retryable:
                raise _connect_error(ctx.label, exc) from exc
            raise ConnectError(
                f"{ctx.label} refused the authorization code ({exc.detail or exc.message}). Codes work "
                "once and for a short time: start connecting again. Nothing was stored.",
                code="code_refused",
            ) from exc
        granted = granted_scopes(token)
        asked = secret.get("scopes") or flow.scopes
        missing = [s for s in asked if granted is not None and s not in granted]
        if missing:
            raise ConnectError(
                f"{ctx.label} granted access without {', '.join(missing)}, which Octopost "
                "needs to publish: connect again and allow everything asked. Nothing was "
                "stored.",
                code="scope_not_granted",
            )
        grant = Grant(token, app, redirect, ctx.clock(), ctx.instance_url)
        try:
            return await flow.credentials(ctx, grant)
        except PlatformError as exc:
            raise _connect_error(ctx.label, exc) from exc

    async def _chosen(
        self, flow: OAuthFlow, ctx: FlowContext, creds: dict[str, Any], choice: str
    ) -> dict[str, Any]:
        assert flow.choose is not None
        try:
            return await flow.choose(ctx, creds, choice)
        except PlatformError as exc:
            raise _connect_error(ctx.label, exc) from exc

    async def _offer(
        self,
        stored: StoredFlow,
        secret: Mapping[str, Any],
        creds: dict[str, Any],
        choices: list[Choice],
    ) -> Finished:
        connection = "conn_" + secrets.token_urlsafe(24)
        now = self.clock().replace(microsecond=0)
        expires = now + timedelta(seconds=STATE_TTL)
        held = {
            "credentials": creds,
            "instance_url": secret.get("instance_url"),
            "extra": secret.get("extra") or [],
            "choices": msgspec.to_builtins(choices),
        }
        await self.store.oauth.insert(
            _hash(connection),
            msgspec.structs.replace(
                stored,
                kind="choice",
                secret=self.box.seal(held),
                created_at=now,
                expires_at=expires,
            ),
        )
        return Finished(
            stored.platform,
            stored.return_to,
            connection=connection,
            choices=choices,
            expires_at=expires,
        )

    async def pending(self, api_key_id: str, connection: str) -> Finished:
        """The choices of a grant the callback kept (for a page that offers them)."""
        peeked = await self.store.oauth.peek(_hash(connection))
        if (
            peeked is None
            or peeked.kind != "choice"
            or peeked.api_key_id != api_key_id
            or peeked.expires_at <= self.clock()
        ):
            raise NotFoundError(f"No connection '{connection}' waiting for a choice")
        held = self.box.open(peeked.secret)
        choices = msgspec.convert(held.get("choices", []), list[Choice])
        return Finished(
            peeked.platform,
            peeked.return_to,
            connection=connection,
            choices=choices,
            expires_at=peeked.expires_at,
        )

    async def choose(self, api_key_id: str, connection: str, choice: str) -> AccountRecord:
        """Connect the Page/channel `choice` of a grant the callback kept."""
        peeked = await self.store.oauth.peek(_hash(connection))
        if peeked is None or peeked.kind != "choice" or peeked.api_key_id != api_key_id:
            raise NotFoundError(f"No connection '{connection}' waiting for a choice")
        held = self.box.open(peeked.secret)
        ids = [str(c["id"]) for c in held.get("choices", [])]
        if choice not in ids:
            raise ValidationError(
                f"'{choice}' is not one of the choices: {', '.join(ids)}",
                [FieldError("choice", f"must be one of: {', '.join(ids)}")],
            )
        stored = await self.store.oauth.take(_hash(connection), "choice", peeked.platform)
        if stored is None or stored.expires_at <= self.clock():
            raise NotFoundError(f"No connection '{connection}' waiting for a choice")
        flow = self.flow(stored.platform)
        ctx = self._context(
            stored.platform, held.get("instance_url"), tuple(held.get("extra") or ())
        )
        creds = await self._chosen(flow, ctx, dict(held["credentials"]), choice)
        return await self.accounts.connect(stored.platform, creds, {})
