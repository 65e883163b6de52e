"""An OAuth 2.0 authorization server for the fakes: the authorize page and the
authorization-code half of the token endpoint, as strict as the real platforms.

A fake owns one `AuthorizationServer` (`self.oauth`) and wires it in:
- `GET <authorize path>` -> `self.oauth.authorize(request)`: checks response_type=code,
  the client id, the redirect URI (exact match with one registered in
  `redirect_uris`), the scopes (each known), the state (required) and, when
  `pkce="S256"`, a code_challenge with method S256. It approves at once as
  `user` (no human) and redirects to `redirect_uri?code=...&state=...`, or, when
  `deny` is set, `?error=access_denied&state=...`. `grant` narrows the scopes the
  test user ticks (granted vs asked). A bad request does NOT redirect (as the real
  pages do): it answers 400 with the reason, so a test sees it.
- the token endpoint's `grant_type=authorization_code` -> `self.oauth.redeem(form)`:
  the code exists, is unused (single use: a second try answers invalid_grant), is not
  older than `code_ttl` by the fake's clock, was issued for this client and exactly this
  redirect_uri, and its code_verifier's S256 matches the challenge. It returns the
  `Code` (user and granted scopes), or an error `(status, body)` to send back.

Where platforms differ (TikTok, Google):
- `challenge_encoding="hex"`: the challenge is the verifier's SHA-256 in hex (TikTok's
  desktop apps), not RFC 7636's base64url; `pkce="optional"`: a challenge is checked when
  sent, none is needed (Google).
- A registered `http://127.0.0.1:*/path` takes any port (TikTok's desktop apps);
  `loopback_any_port`: any `http://127.0.0.1|[::1]|localhost:<port>/...` redirect is
  the app's (Google's desktop clients, RFC 8252 7.3).
- `redirect_extra(code)`: more parameters on a successful redirect (TikTok's `scopes`).
- `on_replay(code)`: a code presented twice revokes what its first use issued (RFC 6749
  4.1.2; the fake lists the tokens in `code.issued`).
Every code keeps its authorize query (`code.params`: Google's access_type, prompt).

Client authentication (Basic or form secret) stays the fake's own: platforms differ.
Never imports octopost.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web


@dataclass
class Code:
    value: str
    user: Any
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str | None
    issued_at: float
    used: bool = False
    #: the authorize request's query
    params: dict[str, str] = field(default_factory=dict)
    #: tokens the fake issued for this code (what a replay revokes)
    issued: list[str] = field(default_factory=list)


def s256(verifier: str, encoding: str = "base64url") -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    if encoding == "hex":
        return digest.hex()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass
class AuthorizationServer:
    client_id: str
    #: every scope the platform knows (asking for another one is an error)
    known_scopes: frozenset[str]
    user: Any
    clock: Callable[[], float] = time.time
    #: "S256": PKCE required; "optional": checked when sent; None: the platform takes
    #: none (a challenge is ignored)
    pkce: str | None = "S256"
    challenge_encoding: str = "base64url"
    loopback_any_port: bool = False
    redirect_extra: Callable[[Code], Mapping[str, str]] | None = None
    on_replay: Callable[[Code], None] | None = None
    scope_separator: str = " "
    client_id_param: str = "client_id"
    #: seconds a code can be redeemed (X: about 30)
    code_ttl: float = 30.0
    #: redirect URIs registered for the app (exact match, as the real consoles)
    redirect_uris: set[str] = field(default_factory=set)
    #: more apps (client id -> (redirect URIs, scopes)): apps registered through the
    #: platform's API (Mastodon's POST /api/v1/apps)
    clients: dict[str, tuple[set[str], frozenset[str]]] = field(default_factory=dict)
    #: the test user presses "Cancel"
    deny: bool = False
    #: the `error` a denial redirects with (LinkedIn: user_cancelled_authorize)
    deny_error: str = "access_denied"
    #: the scopes the test user leaves ticked (None: all asked)
    grant: frozenset[str] | None = None
    codes: dict[str, Code] = field(default_factory=dict)
    #: every authorize request's query, in order
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    def _refuse(self, message: str) -> web.Response:
        return web.Response(status=400, text=f"OAuth error: {message}")

    def redirect_ok(self, uri: str, registered: set[str] | None = None) -> bool:
        """Registered exactly, or by a `:*` port wildcard, or any loopback port."""
        registered = self.redirect_uris if registered is None else registered
        if uri in registered:
            return True
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            return False
        if port is None or parts.query or parts.fragment:
            return False
        if self.loopback_any_port and parts.scheme == "http" and parts.hostname in _LOOPBACK:
            return True
        for pattern in registered:
            if ":*" in pattern:
                want = urlsplit(pattern.replace(":*", ":0", 1))
                same = (parts.scheme, parts.hostname, parts.path)
                if same == (want.scheme, want.hostname, want.path):
                    return True
        return False

    async def authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        if query.get("response_type") != "code":
            return self._refuse("response_type must be code")
        client = query.get(self.client_id_param, "")
        if client == self.client_id and self.client_id:
            registered, allowed = self.redirect_uris, self.known_scopes
        elif client in self.clients:
            registered, allowed = self.clients[client]
        else:
            return self._refuse(f"unknown {self.client_id_param}")
        redirect = query.get("redirect_uri", "")
        if not self.redirect_ok(redirect, registered):
            return self._refuse(f"redirect_uri {redirect!r} is not registered for this app")
        state = query.get("state")
        if not state:
            return self._refuse("state is required")
        asked = frozenset(s for s in query.get("scope", "").split(self.scope_separator) if s)
        if not asked or not asked <= allowed:
            return self._refuse(f"scopes not allowed for this app: {sorted(asked - allowed)}")
        challenge = query.get("code_challenge")
        if self.pkce == "S256" or (self.pkce == "optional" and challenge):
            if not challenge or query.get("code_challenge_method") != "S256":
                return self._refuse("code_challenge with code_challenge_method=S256 required")
        else:
            challenge = None
        joiner = "&" if "?" in redirect else "?"
        if self.deny:
            params = {
                "error": self.deny_error,
                "error_description": "The user denied the request",
                "state": state,
            }
            raise web.HTTPFound(redirect + joiner + urlencode(params))
        code = secrets.token_urlsafe(24)
        granted = asked if self.grant is None else asked & self.grant
        issued = Code(
            code, self.user, client, redirect, granted, challenge, self.clock(), params=query
        )
        self.codes[code] = issued
        extra = dict(self.redirect_extra(issued)) if self.redirect_extra else {}
        raise web.HTTPFound(redirect + joiner + urlencode({"code": code, **extra, "state": state}))

    def redeem(self, form: dict[str, str]) -> Code | tuple[int, dict[str, str]]:
        """The code of an authorization_code token request, or (status, error body)."""

        def bad(description: str, error: str = "invalid_grant") -> tuple[int, dict[str, str]]:
            return 400, {"error": error, "error_description": description}

        code = self.codes.get(form.get("code", ""))
        if code is None:
            return bad("Invalid authorization code")
        if code.used:
            if self.on_replay is not None:
                self.on_replay(code)  # RFC 6749 4.1.2: what the first use issued dies
            return bad("Authorization code was already used")
        code.used = True  # single use, even when the rest of the request is wrong
        if self.clock() - code.issued_at > self.code_ttl:
            return bad("Authorization code expired")
        if form.get("redirect_uri") != code.redirect_uri:
            return bad("redirect_uri does not match the authorization request")
        client = form.get(self.client_id_param)
        if client is not None and client != code.client_id:
            return bad("code was issued to another client", "invalid_client")
        if code.challenge is not None:
            verifier = form.get("code_verifier", "")
            if not verifier or s256(verifier, self.challenge_encoding) != code.challenge:
                return bad("code_verifier does not match the code_challenge")
        return code
