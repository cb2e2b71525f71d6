"""Hub settings: ``MARAC_HUB_*`` environment variables over an optional TOML file.

Loaded once into a frozen model and passed in (``create_app(settings)``); never a
cached global. Every setting has a working default for one machine.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "SsoGrant", "load_settings"]


class SsoGrant(BaseModel):
    """What one value of the role claim grants: a hub role and, for a coordinator, areas."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["admin", "coordinator", "dpo"]
    areas: tuple[str, ...] = ()


class Settings(BaseSettings):
    """Everything the hub process reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="MARAC_HUB_", frozen=True, extra="forbid")

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite in the data directory"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8470, ge=0, le=65535)
    hub_id: str = Field(default="hub", pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    key_passphrase: str | None = None
    key_passphrase_file: Path | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    batch_size: int = Field(default=100, ge=1, le=1000)
    max_wait_seconds: float = Field(default=60.0, ge=0, le=60)
    signature_helper_batch: int = Field(
        default=8,
        ge=0,
        le=1000,
        description="receipts in a batch from which their signatures are verified in a "
        "helper process (hub.crypto.signature_checker); 0: always inline",
    )
    push_interval_seconds: float = Field(
        default=1.0, gt=0, le=60, description="how often the push dispatcher looks for work"
    )
    push_retry_initial_seconds: float = Field(
        default=5.0, gt=0, description="first retry wait (doubles each time, with jitter)"
    )
    push_retry_max_seconds: float = Field(default=3600.0, gt=0, description="longest retry wait")
    push_dead_letter_after: timedelta = Field(
        default=timedelta(hours=24), description="undelivered this long after queueing: alert"
    )
    push_lease_seconds: float = Field(
        default=300.0, gt=0, description="how long one attempt may hold an envelope"
    )
    envelope_ttl: timedelta = timedelta(days=14)
    expiry_sweep_seconds: float = Field(default=60.0, gt=0)
    key_file_strength: Literal["interactive", "moderate", "sensitive"] = "moderate"
    config_file: Path | None = None
    policy_file: Path | None = Field(
        default=None, description="disclosure policy TOML; default: the bundled policy"
    )
    password_strength: Literal["interactive", "moderate", "sensitive"] = Field(
        default="moderate", description="Argon2id cost of new web passwords"
    )
    web_idle_minutes: int = Field(
        default=15, ge=1, le=720, description="web sign-out after this long without a request"
    )
    web_session_hours: int = Field(
        default=12, ge=1, le=168, description="a web session ends this long after sign-in"
    )
    web_secure_cookies: bool = Field(
        default=False, description="mark cookies Secure even on plain HTTP (behind a TLS proxy)"
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$",
        description="the hub's public URL as browsers reach it (https://hub.example.org): "
        "the WebAuthn relying party of staff passkeys; unset: passkeys work only on "
        "http://localhost",
    )
    mfa_required_roles: tuple[Literal["admin", "coordinator", "dpo"], ...] = Field(
        default=("admin", "coordinator", "dpo"),
        description="staff roles that must sign in to the web UI with a second factor "
        "(TOTP or a passkey; those without one enrol at their next sign-in)",
    )
    body_read_seconds: float = Field(
        default=30.0, gt=0, le=600, description="a request body must arrive within this long"
    )
    header_read_seconds: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="a request's line and headers must arrive within this long of the "
        "connection opening or the previous answer (also how long an idle keep-alive "
        "connection is kept); a client trickling its headers is cut off",
    )
    anonymous_burst: int = Field(
        default=10,
        ge=1,
        le=100_000,
        description="tries one client address may make at once at sign-in, agency enrolment "
        "and the start of single sign-on before it is answered 429",
    )
    anonymous_rate_per_minute: float = Field(
        default=30.0,
        gt=0,
        le=100_000,
        description="how fast an address's tries come back (a token bucket)",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=("127.0.0.1/32", "::1/128"),
        description="CIDR networks of reverse proxies whose X-Forwarded-For names the client "
        "(the rate limit counts that address); from any other peer the header is ignored",
    )
    delivery_allow_networks: tuple[str, ...] = Field(
        default=(),
        description="CIDR networks a webhook may reach although loopback, link-local or "
        "private (default: none, only public addresses)",
    )
    delivery_ca_dir: Path | None = Field(
        default=None, description="the directory a webhook's ca_file must be in (default: none)"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=24,
        description="bearer token a Prometheus scrape of /metrics must send; unset: no /metrics "
        "(404). See docs/monitoring.md",
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="JSON lines (docs/monitoring.md) or plain text for a terminal"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_head_grace_seconds: float = Field(
        default=60.0,
        ge=0,
        description="log verify fails if the newest entry no signed head covers is older "
        "than this (the serving hub signs within a second of an append)",
    )
    log_head_max_age_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="log verify fails if the newest signed head is older than this while "
        "entries were appended after it",
    )

    sso_issuer: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+$",
        description="single sign-on: the OpenID provider's issuer URL (https; http only on "
        "loopback); unset: no single sign-on. See docs/single-sign-on.md",
    )
    sso_provider_name: str = Field(
        default="your organisation's account",
        max_length=60,
        description="the sign-in page's link text: 'Sign in with <this>'",
    )
    sso_client_id: str | None = Field(
        default=None, max_length=255, description="the hub's client id at the provider"
    )
    sso_client_secret: SecretStr | None = Field(
        default=None, description="the hub's client secret (or sso_client_secret_file)"
    )
    sso_client_secret_file: Path | None = Field(
        default=None, description="a file holding the client secret (its first line)"
    )
    sso_redirect_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+/sso/callback$",
        description="the callback URL registered at the provider; default: public_url + "
        "/sso/callback, else this hub's address as the browser reached it",
    )
    sso_scopes: tuple[str, ...] = Field(
        default=("openid", "email", "profile"), description="scopes asked for ('openid' added)"
    )
    sso_username_claim: str = Field(
        default="preferred_username",
        description="the ID token claim that names a new hub user (made at first sign-in)",
    )
    sso_role_claim: str = Field(
        default="groups", description="the ID token claim (a string or a list) mapped to roles"
    )
    sso_role_map: dict[str, SsoGrant] = Field(
        default_factory=dict,
        description="value of sso_role_claim -> {role, areas}: the only source of an SSO "
        "user's role and areas; a user none of whose values is mapped is refused",
    )
    sso_require_mfa: bool = Field(
        default=True,
        description="refuse an ID token whose amr or acr does not show multi-factor sign-in",
    )
    sso_mfa_amr: tuple[str, ...] = Field(
        default=("mfa",), description="amr values that count as multi-factor sign-in"
    )
    sso_mfa_acr: tuple[str, ...] = Field(
        default=(), description="acr values that count as multi-factor sign-in"
    )
    sso_algorithms: tuple[Literal["RS256", "PS256", "ES256", "EdDSA"], ...] = Field(
        default=("RS256", "PS256", "ES256", "EdDSA"),
        min_length=1,
        description="ID token signature algorithms accepted (never 'none', never HS*)",
    )
    sso_leeway_seconds: int = Field(
        default=60, ge=0, le=300, description="clock skew allowed on exp and iat"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("delivery_allow_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(ipaddress.ip_network(net, strict=False)) for net in value)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if value is not None and value.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        return value

    @model_validator(mode="after")
    def _single_sign_on(self) -> Settings:
        if self.sso_issuer is None:
            return self
        if not self.sso_client_id:
            raise ValueError("sso_issuer is set: set sso_client_id too")
        if self.sso_client_secret is not None and self.sso_client_secret_file is not None:
            raise ValueError("set sso_client_secret or sso_client_secret_file, not both")
        for url in (self.sso_issuer, self.sso_redirect_url):
            if url is not None and not _https_or_loopback(url):
                raise ValueError(f"{url} must be https (http only on loopback)")
        return self

    @property
    def db_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'hub.sqlite3'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments, then the environment, then the TOML file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file(init_settings, env_settings)
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def _https_or_loopback(url: str) -> bool:
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit(":", 1)[0] if not rest.startswith("[") else "[::1]"
    return scheme == "https" or host in ("localhost", "127.0.0.1", "[::1]")


def _config_file(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        value: Any = source().get("config_file")
        if value:
            return Path(value)
    return None


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and TOML file, with explicit ``overrides`` on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
