"""One account's calls to a Meta Graph host, for Facebook, Instagram and Threads.

How the token travels is the one difference in the calls themselves (`authorize`): in
the query, as in Meta's Threads and Instagram examples (the default), or for Facebook
Page tokens in an Authorization header with an `appsecret_proof`.

Threads and Instagram (Instagram Login) tokens live 60 days and can be refreshed while
unexpired and at least 24 h old (`GET /refresh_access_token?grant_type=th_refresh_token|
ig_refresh_token`, docs: developers.facebook.com/docs/threads/get-started/long-lived-tokens,
developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token).
They are refreshed in the last `REFRESH_WINDOW` before expiry (`refresh_if_due`), and once
after an expired-token answer (`_oauth.TokenKeeper`), one refresh per account at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from octopost.platforms._graph.errors import classify as graph_classify
from octopost.platforms._graph.errors import reason
from octopost.platforms._http import Classifier, Response, chain, expired
from octopost.platforms._oauth import TokenKeeper, refresh_once
from octopost.platforms.base import Account, Deps, decode_credentials
from octopost.platforms.errors import RejectedError, UnavailableError

log = logging.getLogger("octopost.platforms")

DAY = 86400.0
#: A long-lived token lives 60 days from issue or refresh.
TOKEN_LIFETIME = 60 * DAY
#: Refresh when the token expires within this window...
REFRESH_WINDOW = 7 * DAY
#: ...and is at least this old (Meta refuses younger tokens).
MIN_REFRESH_AGE = DAY

#: credentials -> (headers, query parameters) that carry the token
Authorize = Callable[[Mapping[str, Any]], tuple[dict[str, str], dict[str, str]]]


class GraphCredentials(msgspec.Struct):
    """What a Threads/Instagram account stores. Only `access_token` is required."""

    access_token: str
    #: the Threads user id / Instagram professional account id; verify() fills it
    user_id: str = ""
    #: epoch seconds; 0 = unknown (learned by a first refresh, see refresh_if_due)
    expires_at: float = 0.0
    #: epoch seconds when the token was issued or last refreshed; 0 = unknown
    issued_at: float = 0.0


class IdAnswer(msgspec.Struct):
    id: str


class _Token(msgspec.Struct):
    access_token: str
    expires_in: float | None = None


def _no_expiry(_: Mapping[str, Any]) -> float | None:
    return None  # `refresh_if_due` keeps the 60-day token alive; a refusal refreshes once


class GraphSession:
    """One account's Graph calls; `classify` holds the platform's own rules (run first)."""

    def __init__(
        self,
        label: str,
        account: Account,
        deps: Deps,
        *,
        classify: Classifier | None = None,
        authorize: Authorize | None = None,
        refresh_grant: str | None = None,
        user_id_field: str = "id",
    ) -> None:
        self.label = label
        self.account = account
        self.deps = deps
        self.authorize = authorize or self._token_in_query
        #: `grant_type` of /refresh_access_token; None when the token cannot be refreshed
        self.refresh_grant = refresh_grant
        #: the /me field holding the id used in paths (Instagram: `user_id`, not the app-scoped `id`)
        self.user_id_field = user_id_field
        self.http = deps.bind(label, reason=reason, classify=chain(classify, graph_classify))
        self.keeper = TokenKeeper(
            account,
            deps.clock,
            self._exchange,
            expires_at=_no_expiry,
            can_refresh=lambda _: refresh_grant is not None,
        )

    def url(self, path: str, *, upload: bool = False) -> str:
        """The versioned URL of `path`, on the upload host when `upload` (Facebook video)."""
        settings = self.deps.settings
        base = settings.upload_url if upload and settings.upload_url else settings.base_url
        version = settings.api_version.strip("/")
        base = base.rstrip("/")
        return f"{base}/{version}/{path}" if version else f"{base}/{path}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        safe_to_retry: bool | None = None,
        ok: tuple[int, ...] | None = None,
        timeout: float | None = None,
        upload: bool = False,
    ) -> Response:
        """One Graph call with the account's token; after an expired-token answer, refresh
        once and repeat (Meta refused the first call, so repeating cannot duplicate it)."""

        async def attempt(creds: dict[str, Any]) -> Response:
            headers, query = self.authorize(creds)
            return await self.http.request(
                method,
                self.url(path, upload=upload),
                headers=headers or None,
                params={**(params or {}), **query} or None,
                data=dict(data) if data else None,
                safe_to_retry=safe_to_retry,
                ok=ok,
                timeout=timeout,
            )

        return await self.keeper.send(attempt)

    # -- user tokens (Threads, Instagram) -----------------------------------------------
    def credentials(self, raw: Mapping[str, Any] | None = None) -> GraphCredentials:
        creds = decode_credentials(GraphCredentials, raw or self.account.credentials, self.label)
        if not creds.access_token.strip():
            raise RejectedError(f"Invalid {self.label} credentials: access_token is empty")
        return creds

    def _token_in_query(self, raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """The token in the query, as in all of Meta's Threads and Instagram examples (Bearer
        headers are accepted too, but only third-party SDKs document them for Threads)."""
        return {}, {"access_token": self.credentials(raw).access_token.strip()}

    async def _refreshed(self, current: dict[str, Any]) -> dict[str, Any]:
        """The complete new credentials after `GET /refresh_access_token` (unversioned)."""
        creds = decode_credentials(GraphCredentials, current, self.label)
        resp = await self.http.request(
            "GET",
            f"{self.deps.settings.base_url}/refresh_access_token",
            params={"grant_type": self.refresh_grant or "", "access_token": creds.access_token},
        )
        token = resp.decode(_Token)
        now = self.deps.clock()
        return {
            **current,
            "access_token": token.access_token,
            "expires_at": now + (token.expires_in or TOKEN_LIFETIME),
            "issued_at": now,
        }

    async def _exchange(self, current: dict[str, Any]) -> dict[str, Any]:
        """After a refused call: a refresh that fails for any reason means reconnecting."""
        try:
            return await self._refreshed(current)
        except (RejectedError, UnavailableError) as exc:
            raise expired(self.label) from exc

    async def refresh_if_due(self) -> None:
        """Refresh a token that expires within REFRESH_WINDOW (and is old enough).

        A token of unknown expiry (pasted by the user) is refreshed once to learn it;
        if Meta refuses because the token is younger than 24 h, it is recorded as
        fresh (expiring 60 days from now). A refresh that fails for any reason but an
        invalid token leaves the current token in use; an invalid (expired, revoked)
        token raises `AuthExpiredError`: the user must reconnect.
        """
        if self.refresh_grant is None:
            return
        creds = self.credentials()
        now = self.deps.clock()
        if creds.expires_at and creds.expires_at - now > REFRESH_WINDOW:
            return
        if creds.issued_at and now - creds.issued_at < MIN_REFRESH_AGE:
            return

        async def refresh(current: dict[str, Any]) -> dict[str, Any]:
            try:
                return await self._refreshed(current)
            except RejectedError:
                # "too new to be refreshed" (an invalid token is an AuthExpiredError:
                # it escapes, whatever its recorded expiry)
                if decode_credentials(GraphCredentials, current, self.label).expires_at:
                    raise
                return {**current, "expires_at": now + TOKEN_LIFETIME, "issued_at": now}

        try:
            await refresh_once(self.account, dict(self.account.credentials), refresh)
        except (RejectedError, UnavailableError) as exc:
            log.warning("%s token refresh failed (%s); using the current token", self.label, exc)

    async def me(self, fields: str) -> dict[str, Any]:
        """`GET /me?fields=...` (the identity endpoint of both platforms)."""
        data = (await self.call("GET", "me", params={"fields": fields})).json()
        if not isinstance(data, dict):
            raise UnavailableError(f"{self.label} answered /me with an unexpected body")
        return data

    async def adopt_user_id(self, user_id: str) -> None:
        """Store the account's user id (verify learns it) unless it is already stored."""
        current = dict(self.account.credentials)
        if user_id and current.get("user_id") != user_id:
            await self.account.save_credentials({**current, "user_id": user_id})

    async def user_id(self) -> str:
        creds = self.credentials()
        if creds.user_id:
            return creds.user_id
        me = await self.me(self.user_id_field)
        user_id = str(me.get(self.user_id_field) or me.get("id") or "")
        if not user_id:
            raise UnavailableError(f"{self.label} did not say which account the token belongs to")
        await self.adopt_user_id(user_id)
        return user_id
