from __future__ import annotations

from pathlib import Path

import pytest

import config
from config.resources import SITE_EXAMPLE
from config.settings import DEV_ADMIN_TOKEN, SettingsError, load_settings


def test_development_accepts_the_default_secrets() -> None:
    settings = load_settings(environment="development")
    assert settings.admin_token == DEV_ADMIN_TOKEN
    assert settings.embedded is True


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environment="production", admin_token="x" * 40)
    assert "SECRET_KEY" in str(err.value)
    assert "\n" not in str(err.value)


def test_production_refuses_the_default_admin_token() -> None:
    with pytest.raises(SettingsError, match="ADMIN_TOKEN"):
        load_settings(environment="production", secret_key="s" * 40)


def test_production_accepts_strong_secrets() -> None:
    settings = load_settings(environment="production", secret_key="s" * 40, admin_token="t" * 30)
    assert settings.environment == "production"


def test_unknown_mail_backend_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="MAIL_BACKEND"):
        load_settings(mail_backend="pigeon")


def test_sendgrid_backend_needs_an_api_key() -> None:
    with pytest.raises(SettingsError, match="SENDGRID_API_KEY"):
        load_settings(mail_backend="sendgrid", sendgrid_api_key=None)


def test_empty_redis_url_means_embedded_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    assert load_settings().embedded is True


def test_database_url_must_be_sqlite_or_postgresql() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(database_url="mysql://localhost/x")


def test_secrets_are_not_in_the_repr() -> None:
    settings = load_settings(secret_key="very-secret-value-0123456789-abcdef")
    assert "very-secret-value" not in repr(settings)


def test_sendgrid_timeout_must_be_positive() -> None:
    with pytest.raises(SettingsError, match="SENDGRID_TIMEOUT_SECONDS"):
        load_settings(sendgrid_timeout_seconds=0)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_may_use_the_development_secrets(host: str) -> None:
    load_settings(environment="development").check_listen(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "example.org", ""])
def test_a_public_address_needs_real_secrets(host: str) -> None:
    with pytest.raises(SettingsError, match="development SECRET_KEY and ADMIN_TOKEN"):
        load_settings(environment="development").check_listen(host)
    load_settings(secret_key="s" * 40, admin_token="t" * 30).check_listen(host)


@pytest.fixture
def no_path_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty working directory and none of the path settings in the environment."""
    for name in ("DATA_DIR", "DATABASE_URL", "OUTBOX_DIR", "SITE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_data_lives_under_var_of_the_working_directory(no_path_settings: Path) -> None:
    settings = load_settings()
    var = no_path_settings / "var"
    assert settings.data_dir == var
    assert settings.database_url == f"sqlite:///{var / 'broadsheet.db'}"
    assert settings.outbox_dir == var / "outbox"
    assert settings.beat_schedule_file == var / "celerybeat-schedule"


def test_data_dir_moves_the_database_outbox_and_beat_schedule(
    no_path_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", "/srv/broadsheet")
    settings = load_settings()
    assert settings.database_url == "sqlite:////srv/broadsheet/broadsheet.db"
    assert settings.outbox_dir == Path("/srv/broadsheet/outbox")
    assert settings.beat_schedule_file == Path("/srv/broadsheet/celerybeat-schedule")


def test_explicit_database_url_and_outbox_win_over_data_dir(
    no_path_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", "/srv/broadsheet")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/broadsheet")
    monkeypatch.setenv("OUTBOX_DIR", "/mnt/outbox")
    settings = load_settings()
    assert settings.database_url == "postgresql://db.internal/broadsheet"
    assert settings.outbox_dir == Path("/mnt/outbox")


def test_without_site_toml_the_bundled_example_is_used(no_path_settings: Path) -> None:
    path = load_settings().site_config_path()
    assert path == SITE_EXAMPLE
    assert path.parent == Path(config.__file__).parent  # inside the package, not a checkout


def test_a_named_site_file_that_is_missing_is_not_replaced(no_path_settings: Path) -> None:
    path = load_settings(site_config=Path("elsewhere.toml")).site_config_path()
    assert path == Path("elsewhere.toml")
