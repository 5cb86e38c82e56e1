from __future__ import annotations

import pytest

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
