"""Settings: explicit values over MARAC_HUB_* over the TOML file, with working defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hub.settings import load_settings


def test_defaults_work_on_one_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MARAC_HUB_DATABASE_URL", "MARAC_HUB_CONFIG_FILE", "MARAC_HUB_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.db_url == "sqlite+aiosqlite:///data/hub.sqlite3"
    assert (settings.host, settings.port) == ("127.0.0.1", 8470)
    assert settings.envelope_ttl == timedelta(days=14)


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('port = 9100\nbatch_size = 7\nenvelope_ttl = "P3D"\n')
    monkeypatch.setenv("MARAC_HUB_CONFIG_FILE", str(config))
    monkeypatch.setenv("MARAC_HUB_PORT", "9000")
    settings = load_settings()
    assert (settings.port, settings.batch_size) == (9000, 7)  # environment beats the file
    assert settings.envelope_ttl == timedelta(days=3)
    assert load_settings(port=9200).port == 9200  # an explicit flag beats both


def test_postgres_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARAC_HUB_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    assert load_settings().db_url == "postgresql+asyncpg://postgres@127.0.0.1/test"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MARAC_HUB_PORT", "eighty"),
        ("MARAC_HUB_BATCH_SIZE", "0"),
        ("MARAC_HUB_KEY_FILE_STRENGTH", "weak"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError):
        load_settings()


def test_unknown_setting_in_the_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text("prot = 9100\n")
    monkeypatch.setenv("MARAC_HUB_CONFIG_FILE", str(config))
    with pytest.raises(ValueError):
        load_settings()
