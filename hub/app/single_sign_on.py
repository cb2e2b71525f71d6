"""Staff sign-in through the organisation's OpenID provider (authorisation code flow with
PKCE, ``state`` and ``nonce``). Not a use-case of the table: no one is signed in yet.

The door hands in a :class:`ProviderHttp` (the HTTP client: nothing below the doors
speaks HTTP) and the browser's cookie token; this module keeps the provider's metadata and
keys cached, checks everything the provider returns and starts a web session. The role
map (``sso_role_map``) is the only source of an SSO user's role and areas, set again at
every sign-in; a deactivated user stays out.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from hub.app.runtime import Runtime
from hub.settings import Settings
from hub.signin.oidc import (
    IdToken,
    KeySet,
    ProviderMetadata,
    SsoRefused,
    UnknownSigningKey,
    authorisation_url,
    grant_for,
    new_login_request,
    parse_discovery,
    parse_jwks,
    shows_mfa,
    user_name_from,
    validate_id_token,
)
from hub.signin.sessions import new_session
from hub.signin.sso_users import PendingLogin, sign_in_subject, start_login, take_login
from hub.users import StaffUser

__all__ = ["ProviderHttp", "SingleSignOn", "SsoRefused", "SsoSignIn", "sso_enabled"]

log = logging.getLogger("hub.signin")
CACHE_SECONDS: Final = 3600.0
KEY_REFETCH_SECONDS: Final = 60.0  # an unknown key id fetches the key set at most this often


class ProviderHttp(Protocol):
    """The HTTP calls the sign-in makes to the provider (the web door supplies them)."""

    async def get_json(self, url: str) -> object:
        """GET ``url``; its JSON body (an error if not 200 and JSON)."""
        ...

    async def post_form(
        self, url: str, form: Mapping[str, str], *, basic: tuple[str, str] | None
    ) -> tuple[int, object]:
        """POST a form (HTTP Basic client authentication if ``basic``); status and JSON."""
        ...


@dataclass(frozen=True, slots=True)
class SsoSignIn:
    """A finished single sign-on: who, their session's cookie token, where to go next."""

    user: StaffUser
    session_token: str
    next_path: str | None


def sso_enabled(settings: Settings) -> bool:
    """True if single sign-on is configured."""
    return settings.sso_issuer is not None and settings.sso_client_id is not None


def _client_secret(settings: Settings) -> str | None:
    if settings.sso_client_secret is not None:
        return settings.sso_client_secret.get_secret_value()
    if settings.sso_client_secret_file is not None:
        lines = settings.sso_client_secret_file.read_text(encoding="utf-8").splitlines()
        return lines[0].strip() if lines else None
    return None


class SingleSignOn:
    """One hub process's single sign-on: settings, and the provider's cached metadata and
    keys (an hour; the keys again when a token names a key id they lack)."""

    def __init__(self, rt: Runtime) -> None:
        settings = rt.settings
        if settings.sso_issuer is None or settings.sso_client_id is None:
            raise ValueError("single sign-on is not configured")
        self._rt = rt
        self.issuer = settings.sso_issuer
        self.client_id = settings.sso_client_id
        self._metadata: tuple[float, ProviderMetadata, list[str]] | None = None
        self._keys: tuple[float, KeySet] | None = None
        self._keys_fetched = 0.0

    async def _provider(self, http: ProviderHttp) -> tuple[ProviderMetadata, list[str]]:
        if self._metadata is None or self._metadata[0] < time.monotonic():
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                document = await http.get_json(url)
            except OSError as exc:
                raise SsoRefused("provider-unreachable") from exc
            metadata = parse_discovery(document, self.issuer)
            assert isinstance(document, dict)  # parse_discovery checked
            methods = document.get("token_endpoint_auth_methods_supported")
            auth = [m for m in methods if isinstance(m, str)] if isinstance(methods, list) else []
            self._metadata = (time.monotonic() + CACHE_SECONDS, metadata, auth)
        return self._metadata[1], self._metadata[2]

    async def _key_set(
        self, http: ProviderHttp, metadata: ProviderMetadata, *, fresh: bool
    ) -> KeySet:
        now = time.monotonic()
        stale = self._keys is None or self._keys[0] < now
        if stale or (fresh and now - self._keys_fetched > KEY_REFETCH_SECONDS):
            try:
                document = await http.get_json(metadata.jwks_uri)
            except OSError as exc:
                raise SsoRefused("provider-unreachable") from exc
            self._keys = (now + CACHE_SECONDS, parse_jwks(document))
            self._keys_fetched = now
        assert self._keys is not None
        return self._keys[1]

    async def begin(
        self, http: ProviderHttp, browser_token: str, *, redirect_uri: str, next_path: str | None
    ) -> str:
        """Start an attempt for the browser holding ``browser_token``; the provider's URL
        to send it to."""
        metadata, _ = await self._provider(http)
        request = new_login_request()
        await start_login(
            self._rt.engine,
            browser_token,
            request,
            redirect_uri=redirect_uri,
            next_path=next_path,
            now=self._rt.clock(),
        )
        return authorisation_url(
            metadata,
            request,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scopes=self._rt.settings.sso_scopes,
        )

    async def finish(
        self,
        http: ProviderHttp,
        browser_token: str,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
    ) -> SsoSignIn:
        """Check the provider's answer for this browser's attempt and start a session.

        Raises :class:`SsoRefused` (its ``reason`` logged, with no personal data) for an
        answer that is not for this attempt, an ID token that does not hold, a user whose
        claims map to no role, or a deactivated user.
        """
        try:
            signed_in = await self._finish(http, browser_token, state, code, error)
        except SsoRefused as refused:
            log.info("sso sign-in refused: %s", refused.reason)
            raise
        log.info("sso sign-in: role %s", signed_in.user.role)
        return signed_in

    async def _finish(
        self,
        http: ProviderHttp,
        browser_token: str,
        state: str | None,
        code: str | None,
        error: str | None,
    ) -> SsoSignIn:
        settings, now = self._rt.settings, self._rt.clock()
        pending = await take_login(self._rt.engine, browser_token, now=now)
        if not state or not hmac.compare_digest(state.encode(), pending.request.state.encode()):
            raise SsoRefused("state-mismatch")
        if error is not None:
            raise SsoRefused("provider-refused")
        if not code or len(code) > 2000:
            raise SsoRefused("no-code")
        metadata, auth_methods = await self._provider(http)
        raw = await self._redeem(http, metadata, auth_methods, code, pending)
        try:
            token = self._validate(raw, await self._key_set(http, metadata, fresh=False), pending)
        except UnknownSigningKey:
            token = self._validate(raw, await self._key_set(http, metadata, fresh=True), pending)
        if settings.sso_require_mfa and not shows_mfa(
            token.claims, amr=settings.sso_mfa_amr, acr=settings.sso_mfa_acr
        ):
            raise SsoRefused("no-mfa")
        role_map = {k: (v.role, v.areas) for k, v in settings.sso_role_map.items()}
        grant = grant_for(token.claims, settings.sso_role_claim, role_map)
        name = user_name_from(token.claims, settings.sso_username_claim)
        user = await sign_in_subject(
            self._rt.engine, token.issuer, token.subject, name, grant, now=now
        )
        session = await new_session(self._rt.engine, user, now=now)
        return SsoSignIn(user, session, pending.next_path)

    def _validate(self, raw: object, keys: KeySet, pending: PendingLogin) -> IdToken:
        settings = self._rt.settings
        return validate_id_token(
            raw,
            keys,
            issuer=self.issuer,
            client_id=self.client_id,
            nonce=pending.request.nonce,
            algorithms=settings.sso_algorithms,
            leeway=settings.sso_leeway_seconds,
            now=int(self._rt.clock().timestamp()),
        )

    async def _redeem(
        self,
        http: ProviderHttp,
        metadata: ProviderMetadata,
        auth_methods: list[str],
        code: str,
        pending: PendingLogin,
    ) -> object:
        """The ID token the token endpoint gives for ``code`` (with the PKCE verifier)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.request.code_verifier,
            "client_id": self.client_id,
        }
        basic: tuple[str, str] | None = None
        try:  # read at each use: a new secret in the file needs no restart
            secret = _client_secret(self._rt.settings)
        except (OSError, UnicodeDecodeError) as exc:
            log.error("sso client secret file unreadable: %s", type(exc).__name__)
            raise SsoRefused("hub-misconfigured") from exc
        if secret is not None:
            if not auth_methods or "client_secret_basic" in auth_methods:
                basic = (self.client_id, secret)
            else:
                form["client_secret"] = secret
        try:
            status, body = await http.post_form(metadata.token_endpoint, form, basic=basic)
        except OSError as exc:
            raise SsoRefused("provider-unreachable") from exc
        if status != 200 or not isinstance(body, dict):
            raise SsoRefused("code-refused")
        return body.get("id_token")
