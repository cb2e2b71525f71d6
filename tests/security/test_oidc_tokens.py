"""The OpenID Connect parsers of single sign-on (hub.signin.oidc) against malformed,
oversized and hostile input: the provider's discovery document and key set, ID tokens,
and the claims mapped to a role. The same checks run end to end against a real provider
in tests/web/test_sso.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from hub.settings import Settings
from hub.signin.oidc import (
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

ISSUER = "https://idp.example.org/realms/marac"
CLIENT = "marac-hub"
NONCE = "n" * 43
NOW = int(time.time())
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
PUBLIC = KeySet.import_key_set({"keys": [KEY.as_dict(private=False)]})
DISCOVERY = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/certs",
    "response_types_supported": ["code", "id_token"],
    "code_challenge_methods_supported": ["plain", "S256"],
}


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "sub": "subject-1",
        "aud": CLIENT,
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": NONCE,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any], key: Any = KEY, header: dict[str, Any] | None = None) -> str:
    return jwt.encode(header or {"alg": "RS256", "kid": "k1"}, claims, key)


def _validate(raw: object, keys: KeySet = PUBLIC) -> Any:
    return validate_id_token(
        raw,
        keys,
        issuer=ISSUER,
        client_id=CLIENT,
        nonce=NONCE,
        algorithms=("RS256", "ES256"),
        leeway=60,
        now=NOW,
    )


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_good_id_token_gives_its_issuer_subject_and_claims() -> None:
    token = _validate(_token(_claims(groups=["g"])))
    assert (token.issuer, token.subject, token.claims["groups"]) == (ISSUER, "subject-1", ["g"])


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (_claims(aud="someone-else"), "wrong-aud"),
        (_claims(aud=[CLIENT, "other"]), "wrong-aud"),  # several audiences and no azp
        (_claims(iss="https://evil.example.org"), "wrong-iss"),
        (_claims(exp=NOW - 61), "expired-id-token"),
        (_claims(iat=NOW + 3600), "wrong-iat"),
        (_claims(iat=NOW - 3600, exp=NOW + 60), "stale-id-token"),
        (_claims(nonce="another"), "wrong-nonce"),
        (_claims(nonce=None), "wrong-nonce"),
        (_claims(nonce=["n"]), "wrong-nonce"),
        (_claims(sub=None), "id-token-lacks-claims"),
        (_claims(exp=None), "id-token-lacks-claims"),
        (_claims(exp=float("nan")), "wrong-exp"),
        (_claims(sub="s" * 300), "bad-id-token"),
    ],
)
def test_an_id_token_that_does_not_hold_is_refused(claims: dict[str, Any], reason: str) -> None:
    with pytest.raises(SsoRefused) as refused:
        _validate(_token(claims))
    assert refused.value.reason == reason


def test_several_audiences_are_accepted_when_azp_is_the_hub() -> None:
    assert _validate(_token(_claims(aud=[CLIENT, "other"], azp=CLIENT))).subject == "subject-1"


def test_alg_none_hs256_with_the_public_key_and_a_foreign_key_are_refused() -> None:
    body = _b64(_claims())
    unsigned = f"{_b64({'alg': 'none'})}.{body}."
    signing_input = f"{_b64({'alg': 'HS256', 'kid': 'k1'})}.{body}"
    mac = hmac.new(KEY.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
    hs256 = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    foreign = _token(_claims(), RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    for raw in (unsigned, hs256, foreign):
        with pytest.raises(SsoRefused) as refused:
            _validate(raw)
        assert refused.value.reason == "bad-signature"


def test_an_unknown_key_id_asks_for_the_key_set_again() -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k2", "alg": "RS256"})
    with pytest.raises(UnknownSigningKey):
        _validate(_token(_claims(), other, {"alg": "RS256", "kid": "k2"}))


@pytest.mark.parametrize(
    "raw",
    [None, "", 42, "a.b.c", "x" * 20_000, "...", "\x00.\x00.\x00", ["a"], "eyJ.eyJ.eyJ"],
)
def test_garbage_is_refused_not_raised(raw: object) -> None:
    with pytest.raises(SsoRefused):
        _validate(raw)


def test_an_algorithm_list_of_only_forbidden_ones_accepts_nothing() -> None:
    with pytest.raises(SsoRefused):
        validate_id_token(
            _token(_claims()),
            PUBLIC,
            issuer=ISSUER,
            client_id=CLIENT,
            nonce=NONCE,
            algorithms=("none", "HS256"),
            leeway=0,
            now=NOW,
        )


def test_discovery_must_name_the_configured_issuer_and_offer_code_and_s256() -> None:
    metadata = parse_discovery(DISCOVERY, ISSUER)
    assert metadata.token_endpoint == f"{ISSUER}/token"
    hostile: list[tuple[object, str]] = [
        ([], "bad-discovery"),
        ("{}", "bad-discovery"),
        ({**DISCOVERY, "issuer": "https://evil.example.org"}, "discovery-issuer-mismatch"),
        ({**DISCOVERY, "token_endpoint": "http://idp.example.org/token"}, "bad-discovery"),
        ({**DISCOVERY, "jwks_uri": "file:///etc/passwd"}, "bad-discovery"),
        ({**DISCOVERY, "authorization_endpoint": 5}, "bad-discovery"),
        ({**DISCOVERY, "token_endpoint": "https://x/" + "a" * 5000}, "bad-discovery"),
        ({**DISCOVERY, "response_types_supported": ["token"]}, "provider-lacks-code-flow"),
        ({**DISCOVERY, "code_challenge_methods_supported": ["plain"]}, "provider-lacks-pkce"),
        ({**DISCOVERY, "code_challenge_methods_supported": "S256"}, "provider-lacks-pkce"),
    ]
    for document, reason in hostile:
        with pytest.raises(SsoRefused) as refused:
            parse_discovery(document, ISSUER)
        assert refused.value.reason == reason, document


def test_a_key_set_with_private_or_symmetric_keys_or_garbage_is_refused() -> None:
    assert parse_jwks({"keys": [KEY.as_dict(private=False)]}).keys
    ec = ECKey.generate_key("P-256", parameters={"kid": "e"})
    for document in (
        {"keys": [KEY.as_dict(private=True)]},
        {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
        {"keys": [ec.as_dict(private=True)]},
        {"keys": "x"},
        {"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]},
        [],
        None,
    ):
        with pytest.raises(SsoRefused) as refused:
            parse_jwks(document)
        assert refused.value.reason == "bad-jwks"


def test_the_authorisation_url_carries_pkce_s256_state_nonce_and_openid() -> None:
    request = new_login_request()
    assert len({request.state, request.nonce, request.code_verifier}) == 3
    url = authorisation_url(
        parse_discovery(DISCOVERY, ISSUER),
        request,
        client_id=CLIENT,
        redirect_uri="https://hub.example.org/sso/callback",
        scopes=("email", "groups"),
    )
    assert url.startswith(f"{ISSUER}/auth?")
    for part in (
        "code_challenge_method=S256",
        f"state={request.state}",
        f"nonce={request.nonce}",
        "scope=openid+email+groups",
        "response_type=code",
    ):
        assert part in url
    assert request.code_verifier not in url


ROLE_MAP = {
    "north": ("coordinator", ("north",)),
    "south": ("coordinator", ("south",)),
    "dpo": ("dpo", ("north",)),
    "bogus": ("superuser", ()),
}


def test_claims_map_to_one_role_and_the_union_of_a_coordinators_areas() -> None:
    grant = grant_for({"groups": ["north", "south", "x"]}, "groups", ROLE_MAP)
    assert (grant.role, grant.areas) == ("coordinator", frozenset({"north", "south"}))
    assert grant_for({"groups": "dpo"}, "groups", ROLE_MAP).areas == frozenset()
    for claims, reason in (
        ({"groups": ["x"]}, "no-mapped-role"),
        ({}, "no-mapped-role"),
        ({"groups": 5}, "no-mapped-role"),
        ({"groups": [["north"]]}, "no-mapped-role"),
        ({"groups": ["north", "dpo"]}, "role-conflict"),
        ({"groups": ["bogus"]}, "no-mapped-role"),
    ):
        with pytest.raises(SsoRefused) as refused:
            grant_for(claims, "groups", ROLE_MAP)
        assert refused.value.reason == reason, claims


def test_mfa_is_shown_by_amr_or_acr_only() -> None:
    assert shows_mfa({"amr": ["pwd", "mfa"]}, amr=("mfa",), acr=())
    assert shows_mfa({"acr": "loa2"}, amr=("mfa",), acr=("loa2",))
    assert not shows_mfa({"amr": "mfa"}, amr=("mfa",), acr=())  # amr is a list
    assert not shows_mfa({"amr": ["pwd"], "acr": "loa1"}, amr=("mfa",), acr=("loa2",))


def test_user_names_come_from_the_claim_or_an_email_local_part_or_are_refused() -> None:
    assert user_name_from({"u": "jo.smith"}, "u") == "jo.smith"
    assert user_name_from({"u": "jo.smith@example.org"}, "u") == "jo.smith"
    for value in (None, 5, "", "a b", "x" * 65, "../admin", "jo_smith", "é"):
        with pytest.raises(SsoRefused):
            user_name_from({"u": value}, "u")


def test_sso_settings_refuse_plain_http_a_missing_client_and_two_secrets() -> None:
    base: dict[str, Any] = {"sso_issuer": "https://idp.example.org", "sso_client_id": "hub"}
    assert Settings(**base).sso_issuer == "https://idp.example.org"
    assert Settings(**{**base, "sso_issuer": "http://localhost:8080/realms/x"}).sso_issuer
    for bad in (
        {"sso_issuer": "http://idp.example.org"},
        {"sso_client_id": None},
        {"sso_client_secret": "a", "sso_client_secret_file": "/tmp/x"},
        {"sso_redirect_url": "http://hub.example.org/sso/callback"},
        {"sso_redirect_url": "https://hub.example.org/elsewhere"},
        {"sso_algorithms": ["HS256"]},
        {"sso_algorithms": ["none"]},
        {"sso_role_map": {"g": {"role": "root"}}},
    ):
        with pytest.raises(ValueError, match="sso"):
            Settings(**{**base, **bad})
