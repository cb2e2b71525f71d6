"""Tables of staff sign-in: passwords and web sessions (migration 0010), second factors
and the second step of a sign-in (migration 0014).

* ``user_passwords``: a member of staff's Argon2id password hash, and the count of
  failed sign-ins since the last good one (a burst of failures locks sign-in briefly);
* ``web_sessions``: one row per signed-in browser. The cookie holds a random token; the
  row holds only its SHA-256, the session's CSRF token and when it was last used;
* ``staff_totp``: a member of staff's TOTP secret (RFC 6238), encrypted under the hub's
  KEK for that user (``confirmed_at`` is unset until they confirm a code), and the last
  time-step accepted, so no code is used twice;
* ``staff_recovery_codes``: their one-time recovery codes, SHA-256 only, and when each
  was used;
* ``staff_passkeys``: their WebAuthn credentials (id, COSE public key, signature count);
* ``login_attempts``: a sign-in whose password was right, waiting for its second factor
  (or for the forced enrolment of one): the browser's cookie token as SHA-256, a form
  token, a short expiry; deleted when it completes;
* ``webauthn_challenges``: the one challenge a login attempt or session may answer,
  by the SHA-256 of that token; deleted when answered.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
)

from hub.storage.tables import SEQ, TZ, metadata

__all__ = [
    "login_attempts",
    "sso_identities",
    "sso_logins",
    "staff_passkeys",
    "staff_recovery_codes",
    "staff_totp",
    "user_passwords",
    "web_sessions",
    "webauthn_challenges",
]

user_passwords = Table(
    "user_passwords",
    metadata,
    Column("user_name", String(64), ForeignKey("users.name"), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("set_at", TZ, nullable=False),
    Column("failed", Integer, nullable=False, default=0),
    Column("locked_until", TZ),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("last_seen_at", TZ, nullable=False),
    Index("ix_web_sessions_user", "user_name"),
)

staff_totp = Table(
    "staff_totp",
    metadata,
    Column("user_name", String(64), ForeignKey("users.name"), primary_key=True),
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("confirmed_at", TZ),
    Column("last_step", BigInteger),
)

staff_recovery_codes = Table(
    "staff_recovery_codes",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("code_sha256", String(64), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("used_at", TZ),
    Index("ix_staff_recovery_codes_user", "user_name", "code_sha256"),
)

staff_passkeys = Table(
    "staff_passkeys",
    metadata,
    Column("credential_id", String(1400), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("label", String(64), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("last_used_at", TZ),
    Index("ix_staff_passkeys_user", "user_name"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("next_path", String(300), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Index("ix_login_attempts_user", "user_name"),
)

webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("owner_sha256", String(64), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("challenge", LargeBinary, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Index("ix_webauthn_challenges_user", "user_name"),
)

# Single sign-on (migration 0015). ``sso_identities``: the person an OpenID provider names
# (issuer and subject) is this hub user; ``sso_logins``: a sign-in attempt waiting for the
# provider's answer, found by the SHA-256 of the browser's cookie, used once, short-lived.
sso_identities = Table(
    "sso_identities",
    metadata,
    Column("issuer", String(255), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False, unique=True),
    Column("created_at", TZ, nullable=False),
    Column("last_sign_in_at", TZ, nullable=False),
    PrimaryKeyConstraint("issuer", "subject"),
)

sso_logins = Table(
    "sso_logins",
    metadata,
    Column("browser_sha256", String(64), primary_key=True),
    Column("state", String(128), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("redirect_uri", String(2000), nullable=False),
    Column("next_path", String(300)),
    Column("created_at", TZ, nullable=False),
    Index("ix_sso_logins_created", "created_at"),
)
