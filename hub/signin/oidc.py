"""OpenID Connect for staff sign-in, without I/O: the provider's metadata, the authorisation
request (code flow, PKCE S256, ``state`` and ``nonce``), the ID token's validation and the
mapping of its claims to a hub role and areas.

Every refusal is an :class:`SsoRefused` with a short ``reason`` (a code, never a claim's
value), which the caller may log: nothing here puts personal data in a message.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.common.urls import add_params_to_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import (  # type: ignore[import-untyped]
    create_s256_code_challenge,
)
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

__all__ = [
    "FORBIDDEN_ALGORITHMS",
    "Grant",
    "IdToken",
    "KeySet",
    "LoginRequest",
    "ProviderMetadata",
    "SsoRefused",
    "UnknownSigningKey",
    "authorisation_url",
    "grant_for",
    "new_login_request",
    "parse_discovery",
    "parse_jwks",
    "shows_mfa",
    "user_name_from",
    "validate_id_token",
]

FORBIDDEN_ALGORITHMS: Final = frozenset({"none", "HS256", "HS384", "HS512"})
MAX_TOKEN_BYTES: Final = 16_384
_NAME: Final = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
_ROLES: Final = ("admin", "coordinator", "dpo")


class SsoRefused(Exception):
    """A sign-in refused; ``reason`` is a short code safe to log and show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownSigningKey(SsoRefused):
    """The ID token names a key the cached key set lacks: fetch the key set again, once."""

    def __init__(self) -> None:
        super().__init__("unknown-signing-key")


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What the hub uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """One sign-in attempt's secrets, kept by the hub until the provider sends the browser
    back: ``state`` (against a forged callback), ``nonce`` (binds the ID token to this
    attempt) and the PKCE ``code_verifier`` (binds the code to this attempt)."""

    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class IdToken:
    """A validated ID token: its issuer and subject (the person, at that provider) and the
    rest of its claims."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Grant:
    """What the role map grants one person: a hub role, and a coordinator's areas."""

    role: str
    areas: frozenset[str]


def _https_or_loopback(url: object) -> bool:
    if not isinstance(url, str) or len(url) > 2000:
        return False
    parts = urlsplit(url)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and loopback)
    )


def parse_discovery(document: object, issuer: str) -> ProviderMetadata:
    """The metadata of ``issuer`` from its ``.well-known/openid-configuration`` document.

    The document must name the same issuer (OpenID Connect Discovery 1.0, section 4.3),
    offer the code flow and PKCE S256, and its endpoints must be https (http on loopback).
    """
    if not isinstance(document, dict):
        raise SsoRefused("bad-discovery")
    if document.get("issuer") != issuer:
        raise SsoRefused("discovery-issuer-mismatch")
    endpoints = [document.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")]
    if not all(_https_or_loopback(url) for url in endpoints):
        raise SsoRefused("bad-discovery")
    response_types = document.get("response_types_supported", ["code"])
    methods = document.get("code_challenge_methods_supported", ["S256"])
    if not isinstance(response_types, list) or "code" not in response_types:
        raise SsoRefused("provider-lacks-code-flow")
    if not isinstance(methods, list) or "S256" not in methods:
        raise SsoRefused("provider-lacks-pkce")
    authorization, token, jwks = (str(url) for url in endpoints)
    return ProviderMetadata(issuer, authorization, token, jwks)


def parse_jwks(document: object) -> KeySet:
    """The provider's public signing keys; private or symmetric keys are refused."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise SsoRefused("bad-jwks")
    keys = [k for k in document["keys"] if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    if any(k.get("kty") not in ("RSA", "EC", "OKP") or "d" in k for k in keys):
        raise SsoRefused("bad-jwks")
    try:
        return KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SsoRefused("bad-jwks") from exc


def new_login_request() -> LoginRequest:
    """Fresh random ``state``, ``nonce`` and PKCE verifier (43+ characters each)."""
    return LoginRequest(generate_token(43), generate_token(43), generate_token(64))


def authorisation_url(
    metadata: ProviderMetadata,
    request: LoginRequest,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: Collection[str],
) -> str:
    """Where to send the browser: the provider's authorisation endpoint with the request."""
    scope = ["openid", *(s for s in scopes if s != "openid")]
    url: str = add_params_to_uri(
        metadata.authorization_endpoint,
        [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", " ".join(scope)),
            ("state", request.state),
            ("nonce", request.nonce),
            ("code_challenge", create_s256_code_challenge(request.code_verifier)),
            ("code_challenge_method", "S256"),
        ],
    )
    return url


def validate_id_token(
    raw: object,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: Collection[str],
    leeway: int,
    now: int,
    max_age: int = 600,
) -> IdToken:
    """The ID token's claims if it is whole and meant for this sign-in attempt.

    Checks (OpenID Connect Core 1.0, 3.1.3.7): a signature by one of ``keys`` with an
    allowed algorithm (never ``none`` or HS*); ``iss`` is the issuer; ``aud`` names the
    hub's client id (and ``azp`` does, if there are other audiences); ``exp`` not passed
    and ``iat`` neither in the future nor older than ``max_age`` (``leeway`` seconds of
    skew); ``nonce`` is this attempt's; ``sub`` is present.
    """
    allowed = [a for a in algorithms if a not in FORBIDDEN_ALGORITHMS]
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_BYTES or not allowed:
        raise SsoRefused("bad-id-token")
    try:
        token = jwt.decode(raw, keys, algorithms=allowed)
    except InvalidKeyIdError as exc:
        raise UnknownSigningKey from exc
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SsoRefused("bad-signature") from exc
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise SsoRefused("expired-id-token") from exc
    except MissingClaimError as exc:
        raise SsoRefused("id-token-lacks-claims") from exc
    except JoseError as exc:
        raise SsoRefused(f"wrong-{getattr(exc, 'claim', None) or 'claim'}") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SsoRefused("wrong-aud")
    if claims["iat"] < now - max_age - leeway:
        raise SsoRefused("stale-id-token")
    given = claims.get("nonce")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), nonce.encode()):
        raise SsoRefused("wrong-nonce")
    if len(claims["sub"]) > 255:
        raise SsoRefused("bad-id-token")
    return IdToken(issuer, claims["sub"], claims)


def shows_mfa(claims: Mapping[str, Any], *, amr: Collection[str], acr: Collection[str]) -> bool:
    """True if ``amr`` holds one of the ``amr`` values or ``acr`` is one of ``acr``."""
    methods = claims.get("amr")
    if isinstance(methods, list) and any(isinstance(m, str) and m in amr for m in methods):
        return True
    level = claims.get("acr")
    return isinstance(level, str) and level in acr


def grant_for(
    claims: Mapping[str, Any], claim: str, role_map: Mapping[str, tuple[str, Collection[str]]]
) -> Grant:
    """The role and areas ``role_map`` gives the values of ``claims[claim]`` (a string or a
    list of strings). Values not in the map grant nothing; none granted: refused
    (``no-mapped-role``); values granting different roles: refused (``role-conflict``)."""
    value = claims.get(claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    granted = [role_map[v] for v in values if isinstance(v, str) and v in role_map]
    roles = {role for role, _ in granted}
    if not roles:
        raise SsoRefused("no-mapped-role")
    if len(roles) > 1:
        raise SsoRefused("role-conflict")
    (role,) = roles
    if role not in _ROLES:
        raise SsoRefused("no-mapped-role")
    areas = frozenset(a for _, found in granted for a in found) if role == "coordinator" else None
    return Grant(role, areas or frozenset())


def user_name_from(claims: Mapping[str, Any], claim: str) -> str:
    """The hub user name for a new SSO user: the claim's value, or for an e-mail address
    its local part, if it is 1-64 letters, digits, '.' or '-'."""
    value = claims.get(claim)
    if not isinstance(value, str):
        raise SsoRefused("no-user-name-claim")
    if "@" in value:
        value = value.split("@", 1)[0]
    if not _NAME.match(value):
        raise SsoRefused("unusable-user-name")
    return value
