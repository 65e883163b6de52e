"""OAuth 2.0 authorization codes for the fakes (RFC 6749 section 4.1, PKCE RFC 7636).

A fake whose platform connects with an authorization code owns one `Authorizer` and
routes its authorize endpoint to `authorize()`; its token endpoint calls `redeem()` and
answers the platform's own token shape. What every such authorization server enforces
lives here once:

- The client: an unknown `client_id` and a `redirect_uri` that is not registered are
  answered on the authorization server's own error page, never by a redirect (RFC 6749
  4.1.2.1: redirecting there would make an open redirector).
- Registered redirect URIs match exactly; a registered `http://127.0.0.1:*/path` takes any
  port (TikTok's desktop apps); `loopback_any_port` lets any loopback URI in (Google's
  desktop clients: "the loopback IP address with any port").
- Every other problem redirects back with `error=` and the `state` unchanged:
  `unsupported_response_type`, `invalid_scope` (unknown scopes), `invalid_request` (a
  missing PKCE challenge where the client type needs one, a method other than S256),
  `access_denied` when the test user denies (`decision = "deny"`).
- The test user approves without a page to click: the answer is the 302 to
  `redirect_uri?code=..&state=..`, so a test (or a browser) following redirects lands on
  the callback at once. `grant_only` plays a user who unticks scopes: the grant holds
  the asked scopes that are in it.
- Codes are single-use and expire (`code_lifetime`, 10 minutes as RFC 6749 advises);
  a second use is refused and revokes what the first one issued (RFC 6749 4.1.2); the
  token request must repeat the code's `redirect_uri` exactly and carry the
  `code_verifier` whose S256 hash is the challenge (hex-encoded for TikTok's desktop kit).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

#: RFC 7636 4.1: 43-128 characters of [A-Z a-z 0-9 - . _ ~]
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def s256(verifier: str, encoding: str = "base64url") -> str:
    """The S256 challenge of `verifier` (RFC 7636 4.2), base64url or hex encoded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    if encoding == "hex":
        return digest.hex()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Grant:
    """What the test user approved, bound to one code."""

    code: str
    redirect_uri: str
    scopes: tuple[str, ...]
    asked: tuple[str, ...]
    challenge: str | None
    expires_at: float
    #: the rest of the authorize query (e.g. Google's access_type, prompt)
    params: dict[str, str]
    used: bool = False
    #: tokens issued from this code, revoked if the code is presented again
    issued: list[str] = field(default_factory=list)


class Refused(Exception):
    """A token request refused: RFC 6749 5.2 `error` and its description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class Authorizer:
    def __init__(
        self,
        *,
        clock: Callable[[], float],
        client_id: str,
        scopes: Iterable[str],
        separator: str,
        id_param: str = "client_id",
        redirect_uris: Iterable[str] = (),
        loopback_any_port: bool = False,
        pkce: str = "optional",
        challenge_encoding: str = "base64url",
        code_lifetime: float = 600.0,
        revoke: Callable[[list[str]], None] = lambda tokens: None,
    ) -> None:
        self.clock = clock
        self.client_id = client_id
        self.known_scopes = set(scopes)
        self.separator = separator
        self.id_param = id_param
        self.redirect_uris = set(redirect_uris)
        self.loopback_any_port = loopback_any_port
        #: "required" (the client type must send a challenge), "optional", "none" (ignored)
        self.pkce = pkce
        self.challenge_encoding = challenge_encoding
        self.code_lifetime = code_lifetime
        self._revoke = revoke
        #: what the test user does on the consent screen: "approve" or "deny"
        self.decision = "approve"
        #: the scopes the test user leaves ticked (None: all that were asked)
        self.grant_only: set[str] | None = None
        self.codes: dict[str, Grant] = {}
        #: every authorize query, in order
        self.requests: list[dict[str, str]] = []

    # -- registration -----------------------------------------------------------
    def register(self, uri: str) -> None:
        """Register a redirect URI the way the developer portal would."""
        parts = urlsplit(uri.replace(":*", ":0"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an absolute http(s) URI: {uri}")
        if parts.query or parts.fragment:
            raise ValueError(f"redirect URIs are static (no query or fragment): {uri}")
        self.redirect_uris.add(uri)

    def redirect_ok(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        parts = urlsplit(uri)
        for registered in self.redirect_uris:
            if ":*" not in registered:
                continue
            want = urlsplit(registered.replace(":*", ":0"))
            if (
                (parts.scheme, parts.hostname, parts.path)
                == (want.scheme, want.hostname, want.path)
                and parts.port is not None
                and not parts.query
            ):
                return True
        if self.loopback_any_port and parts.scheme == "http" and not parts.fragment:
            return parts.hostname in _LOOPBACK and parts.port is not None
        return False

    # -- the authorization endpoint -------------------------------------------------
    def authorize(
        self, request: web.Request, extra: Callable[[Grant], Mapping[str, str]] | None = None
    ) -> web.Response:
        """Answer an authorization request as the signed-in test user would.

        `extra(grant)`: more parameters the platform adds to a successful redirect."""
        query = {k: v for k, v in request.query.items()}
        self.requests.append(query)
        if query.get(self.id_param) != self.client_id:
            return self.page(400, "invalid_client", f"The {self.id_param} is not known.")
        redirect = query.get("redirect_uri", "")
        if not self.redirect_ok(redirect):
            return self.page(
                400,
                "redirect_uri_mismatch",
                f"The redirect_uri {redirect!r} is not registered for this app.",
            )
        state = query.get("state")

        def back(params: Mapping[str, str]) -> web.Response:
            if state is not None:
                params = {**params, "state": state}
            glue = "&" if "?" in redirect else "?"
            return web.Response(
                status=302, headers={"Location": redirect + glue + urlencode(params)}
            )

        if query.get("response_type") != "code":
            return back({"error": "unsupported_response_type"})
        asked = tuple(s for s in query.get("scope", "").split(self.separator) if s)
        unknown = [s for s in asked if s not in self.known_scopes]
        if not asked or unknown:
            return back(
                {
                    "error": "invalid_scope",
                    "error_description": f"Unknown or missing scopes: {', '.join(unknown) or '(none)'}",
                }
            )
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method")
        if self.pkce == "none":
            challenge = None
        elif challenge is None:
            if self.pkce == "required":
                return back(
                    {
                        "error": "invalid_request",
                        "error_description": "code_challenge is required for this app type.",
                    }
                )
        elif method != "S256":
            # fake: Octopost only ever sends S256; a "plain" or missing method is refused
            return back(
                {
                    "error": "invalid_request",
                    "error_description": "code_challenge_method must be S256.",
                }
            )
        if self.decision == "deny":
            return back(
                {
                    "error": "access_denied",
                    "error_description": "The user denied the request.",
                }
            )
        granted = tuple(s for s in asked if self.grant_only is None or s in self.grant_only)
        code = secrets.token_urlsafe(24)
        grant = Grant(
            code=code,
            redirect_uri=redirect,
            scopes=granted,
            asked=asked,
            challenge=challenge,
            expires_at=self.clock() + self.code_lifetime,
            params=query,
        )
        self.codes[code] = grant
        return back({"code": code, **(extra(grant) if extra else {})})

    @staticmethod
    def page(status: int, error: str, message: str) -> web.Response:
        """The authorization server's own error page (nothing is redirected)."""
        body = (
            "<!doctype html><title>Authorization error</title>"
            f"<h1>Error {status}: {html.escape(error)}</h1><p>{html.escape(message)}</p>"
        )
        return web.Response(status=status, text=body, content_type="text/html")

    # -- the token endpoint ---------------------------------------------------------
    def redeem(self, form: Mapping[str, Any]) -> Grant:
        """The grant behind `form["code"]` (an authorization_code token request whose
        client was already checked), or `Refused`."""
        code = str(form.get("code") or "")
        grant = self.codes.get(code)
        if grant is None:
            raise Refused("invalid_grant", "The authorization code is invalid.")
        if grant.used:
            self._revoke(list(grant.issued))  # RFC 6749 4.1.2: a replay revokes the first use
            grant.issued.clear()
            raise Refused("invalid_grant", "The authorization code was already used.")
        grant.used = True  # spent by any attempt, so a verifier cannot be guessed twice
        if self.clock() > grant.expires_at:
            raise Refused("invalid_grant", "The authorization code has expired.")
        if str(form.get("redirect_uri") or "") != grant.redirect_uri:
            raise Refused("invalid_grant", "The redirect_uri does not match the authorization.")
        verifier = form.get("code_verifier")
        if grant.challenge is not None:
            if not isinstance(verifier, str) or not _VERIFIER.fullmatch(verifier):
                raise Refused("invalid_request", "The code_verifier is missing or malformed.")
            if not secrets.compare_digest(s256(verifier, self.challenge_encoding), grant.challenge):
                raise Refused("invalid_grant", "The code_verifier does not match the challenge.")
        return grant
