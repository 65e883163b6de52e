"""Meta's OAuth authorization step, shared by the Threads, Instagram and Facebook fakes.

Each fake serves its authorize page and token endpoints with its own paths and error
bodies; what they share is here (`MetaOAuth`): the registered app, the test user on
the consent page, and the authorization codes. Enforced as Meta does:

- the authorize page needs the app's `client_id`, `response_type=code` and a
  `redirect_uri` equal, character for character, to one of the app's registered
  "Valid OAuth Redirect URIs" (otherwise an error page, never a redirect: Meta does
  not send anyone to an unregistered address); only scopes Meta knows, and the
  platform's required ones;
- the test user approves at once (no human): a 302 to `redirect_uri` with `code` and
  the `state` exactly as sent; unticked scopes (`decline`) are not granted; `deny`
  redirects with `error=access_denied&error_reason=user_denied`;
- a code redeems once, within `code_lifetime` seconds, for the app that asked, with
  the same `redirect_uri` and the right `client_secret`; a second use fails.

Codes and the scopes granted with them are recorded (`codes`, `authorizations`), so
tests can check what was asked and what the user let through.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from aiohttp import web

CLIENT_ID = "990011223344556"
CLIENT_SECRET = "fake-client-secret-0a1b2c"


@dataclass
class Code:
    value: str
    client_id: str
    redirect_uri: str
    #: granted scopes (what was asked, less what the user unticked)
    scopes: frozenset[str]
    expires_at: float
    asked: frozenset[str] = frozenset()
    used: bool = False


@dataclass
class Refusal:
    """Why a code did not redeem: the fake turns it into its platform's error body."""

    kind: str  # client | secret | redirect_uri | used | expired | unknown | grant
    message: str


@dataclass
class MetaOAuth:
    clock: Callable[[], float]
    #: every scope the platform knows (others: "Invalid Scopes")
    known_scopes: frozenset[str]
    #: scopes the authorize page refuses to go without
    required_scopes: frozenset[str] = frozenset()
    #: how long a code redeems (Meta: an hour for Threads/Instagram, less for Facebook)
    code_lifetime: float = 3600.0
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    #: the app's registered "Valid OAuth Redirect URIs" (tests add their callback)
    redirect_uris: set[str] = field(default_factory=set)
    #: appended to the redirect (Instagram adds "#_")
    fragment: str = ""
    #: what the test user does next: approve (default) or deny
    deny: bool = False
    #: scopes the test user unticks on the consent page
    decline: set[str] = field(default_factory=set)
    codes: dict[str, Code] = field(default_factory=dict)
    #: (asked, granted) scopes of every approval
    authorizations: list[tuple[frozenset[str], frozenset[str]]] = field(default_factory=list)

    @staticmethod
    def scopes(raw: str) -> frozenset[str]:
        """`scope` as sent: Meta documents commas; spaces are accepted too."""
        return frozenset(s.strip() for s in raw.replace(" ", ",").split(",") if s.strip())

    def page(self, message: str) -> web.Response:
        """Meta's error page: shown in the browser, nobody is redirected."""
        body = f"<!DOCTYPE html><title>Error</title><h1>Error</h1><p>{message}</p>"
        return web.Response(status=400, text=body, content_type="text/html")

    def authorize(self, query: dict[str, str]) -> web.Response:
        """The authorize page, answered as the test user would."""
        if query.get("client_id") != self.client_id:
            return self.page("Invalid App ID: the app is not registered.")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri or redirect_uri not in self.redirect_uris:
            return self.page(
                "URL Blocked: This redirect failed because the redirect URI is not whitelisted "
                "in the app's Client OAuth Settings."
            )
        if query.get("response_type", "code") != "code":
            return self.page("Invalid response_type: only code is supported.")
        asked = self.scopes(query.get("scope", ""))
        unknown = sorted(asked - self.known_scopes)
        if unknown:
            return self.page("Invalid Scopes: " + ", ".join(unknown))
        missing = sorted(self.required_scopes - asked)
        if missing:
            return self.page("Missing required scopes: " + ", ".join(missing))
        state = {"state": query["state"]} if "state" in query else {}
        if self.deny:
            self.deny = False
            return self.redirect(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_reason": "user_denied",
                    "error_description": "Permissions error",
                    **state,
                },
            )
        granted = frozenset(asked - self.decline) | (asked & self.required_scopes)
        self.authorizations.append((asked, granted))
        code = Code(
            "AQ" + secrets.token_urlsafe(24),
            self.client_id,
            redirect_uri,
            granted,
            self.clock() + self.code_lifetime,
            asked,
        )
        self.codes[code.value] = code
        return self.redirect(redirect_uri, {"code": code.value, **state}, self.fragment)

    @staticmethod
    def redirect(uri: str, params: dict[str, str], fragment: str = "") -> web.Response:
        joiner = "&" if urlsplit(uri).query else "?"
        return web.Response(
            status=302, headers={"Location": f"{uri}{joiner}{urlencode(params)}{fragment}"}
        )

    def redeem(self, params: dict[str, str]) -> Code | Refusal:
        """Spend a code (`client_id`, `client_secret`, `redirect_uri`, `code`)."""
        if params.get("client_id") != self.client_id:
            return Refusal("client", "Invalid platform app")
        if params.get("client_secret") != self.client_secret:
            return Refusal("secret", "Error validating client secret.")
        code = self.codes.get(params.get("code", ""))
        if code is None:
            return Refusal("unknown", "Invalid verification code format.")
        if code.used:
            return Refusal("used", "This authorization code has been used.")
        if code.expires_at <= self.clock():
            return Refusal("expired", "This authorization code has expired.")
        if params.get("redirect_uri") != code.redirect_uri:
            return Refusal(
                "redirect_uri",
                "Error validating verification code. Please make sure your redirect_uri is "
                "identical to the one you used in the OAuth dialog request",
            )
        code.used = True
        return code
