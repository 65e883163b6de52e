"""Threads and Instagram: one account's Graph calls and its long-lived token.

Tokens live 60 days and can be refreshed while unexpired and at least 24 h old
(`GET /refresh_access_token?grant_type=th_refresh_token|ig_refresh_token`, docs:
developers.facebook.com/docs/threads/get-started/long-lived-tokens,
developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token).
They are refreshed in the last `REFRESH_WINDOW` before expiry, and once after an
expired-token answer, through `Account.refresh` (one refresh per account at a time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from octopost.platforms._graph.errors import classifier, reason
from octopost.platforms._http import Classifier, Response
from octopost.platforms.base import Account, Deps, decode_credentials
from octopost.platforms.errors import AuthExpiredError, RejectedError, UnavailableError

log = logging.getLogger("octopost.platforms")

T = TypeVar("T")

DAY = 86400.0
#: A long-lived token lives 60 days from issue or refresh.
TOKEN_LIFETIME = 60 * DAY
#: Refresh when the token expires within this window...
REFRESH_WINDOW = 7 * DAY
#: ...and is at least this old (Meta refuses younger tokens).
MIN_REFRESH_AGE = DAY


class GraphCredentials(msgspec.Struct):
    """What a Threads/Instagram account stores. Only `access_token` is required."""

    access_token: str
    #: the Threads user id / Instagram professional account id; verify() fills it
    user_id: str = ""
    #: epoch seconds; 0 = unknown (learned by a first refresh, see refresh_if_due)
    expires_at: float = 0.0
    #: epoch seconds when the token was issued or last refreshed; 0 = unknown
    issued_at: float = 0.0


@dataclass(frozen=True)
class GraphApi:
    """The differences between Threads and Instagram in the shared flow."""

    label: str
    #: POST: create a container; GET: the account's posts, newest first
    create_edge: str
    publish_edge: str
    quota_edge: str
    #: container fields to read, the one holding the state, the one explaining ERROR
    status_fields: str
    status_key: str
    error_key: str
    #: the post text field in media listings ("text" / "caption")
    text_field: str
    #: `grant_type` of /refresh_access_token; None when the token cannot be refreshed
    refresh_grant: str | None
    profile_url: Callable[[str], str]
    #: the /me field holding the id used in paths (Instagram: `user_id`, not the app-scoped `id`)
    user_id_field: str = "id"


class IdAnswer(msgspec.Struct):
    id: str


class _Token(msgspec.Struct):
    access_token: str
    expires_in: float | None = None


def decode(resp: Response, kind: type[T], label: str) -> T:
    try:
        return msgspec.json.decode(resp.body, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UnavailableError(
            f"{label} sent an answer that is not what its API returns (HTTP {resp.status})",
            status=resp.status,
        ) from exc


class GraphSession:
    """One account's calls to a Meta Graph host, with its token kept fresh."""

    def __init__(self, api: GraphApi, account: Account, deps: Deps, classify: Classifier) -> None:
        self.api = api
        self.account = account
        self.deps = deps
        self.label = api.label
        self.http = deps.http.bind(
            api.label,
            reason=reason,
            classify=classifier(api.label, extra=classify, clock=deps.clock),
        )

    # -- plumbing ---------------------------------------------------------------
    def credentials(self) -> GraphCredentials:
        creds = decode_credentials(GraphCredentials, self.account.credentials, self.label)
        if not creds.access_token.strip():
            raise RejectedError(f"Invalid {self.label} credentials: access_token is empty")
        return creds

    def url(self, path: str) -> str:
        settings = self.deps.settings
        version = settings.api_version.strip("/")
        return f"{settings.base_url}/{version}/{path}" if version else f"{settings.base_url}/{path}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        safe_to_retry: bool | None = None,
    ) -> Response:
        """One Graph call with the account's token; after an expired-token answer, refresh
        once and repeat (Meta refused the first call, so repeating cannot duplicate it)."""
        stale = dict(self.account.credentials)
        try:
            return await self._send(method, path, params, data, safe_to_retry)
        except AuthExpiredError as exc:
            if self.api.refresh_grant is None:
                raise
            try:
                await self.account.refresh(stale, self._refreshed)
            except (RejectedError, UnavailableError):
                raise exc from None
            return await self._send(method, path, params, data, safe_to_retry)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        safe_to_retry: bool | None,
    ) -> Response:
        # The token goes in the query, as in all of Meta's examples (Bearer headers
        # are accepted too, but only third-party SDKs document them for Threads).
        query = {**(params or {}), "access_token": self.credentials().access_token.strip()}
        return await self.http.request(
            method,
            self.url(path),
            params=query,
            data=dict(data) if data else None,
            safe_to_retry=safe_to_retry,
        )

    # -- tokens -------------------------------------------------------------------
    async def _refreshed(self, current: dict[str, Any]) -> dict[str, Any]:
        """The complete new credentials after `GET /refresh_access_token` (unversioned)."""
        creds = decode_credentials(GraphCredentials, current, self.label)
        assert self.api.refresh_grant is not None
        resp = await self.http.request(
            "GET",
            f"{self.deps.settings.base_url}/refresh_access_token",
            params={"grant_type": self.api.refresh_grant, "access_token": creds.access_token},
        )
        token = decode(resp, _Token, self.label)
        now = self.deps.clock()
        return {
            **current,
            "access_token": token.access_token,
            "expires_at": now + (token.expires_in or TOKEN_LIFETIME),
            "issued_at": now,
        }

    async def refresh_if_due(self) -> None:
        """Refresh a token that expires within REFRESH_WINDOW (and is old enough).

        A token of unknown expiry (pasted by the user) is refreshed once to learn it;
        if Meta refuses because the token is younger than 24 h, it is recorded as
        fresh (expiring 60 days from now). A refresh that fails for any reason but an
        invalid token leaves the current token in use.
        """
        if self.api.refresh_grant is None:
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
            except (RejectedError, AuthExpiredError):
                if decode_credentials(GraphCredentials, current, self.label).expires_at:
                    raise
                return {**current, "expires_at": now + TOKEN_LIFETIME, "issued_at": now}

        try:
            await self.account.refresh(dict(self.account.credentials), refresh)
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
        me = await self.me(self.api.user_id_field)
        user_id = str(me.get(self.api.user_id_field) or me.get("id") or "")
        if not user_id:
            raise UnavailableError(f"{self.label} did not say which account the token belongs to")
        await self.adopt_user_id(user_id)
        return user_id
