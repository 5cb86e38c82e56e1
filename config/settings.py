"""Process settings, read once from the environment and `.env`.

Everything that differs between a laptop demo and production lives here, so a
wrong value fails at start-up with one clear line instead of mid-send. Every
entry point (the `broadsheet` commands, `web.asgi` under uvicorn, the Celery
app) turns a SettingsError into that one line through
`config.startup.settings_or_exit`; the rules themselves live only here.
Every path the program writes to defaults to a place under DATA_DIR (./var of the
working directory), never inside the installation.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.resources import SITE_EXAMPLE

# Where data lives unless DATA_DIR says otherwise: `var/` of the working directory,
# never the installation (which the running user may not be able to write).
DEFAULT_DATA_DIR = Path("var")

# Well-known development values: accepted in development, refused in production.
DEV_SECRET_KEY = "dev-secret-key-change-me"
DEV_ADMIN_TOKEN = "dev-admin-token"


class SettingsError(ValueError):
    """A setting is missing, malformed or unsafe; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "development"
    # The SQLite database, the outbox, beat's schedule file and the demo default to
    # places inside this folder; it is made absolute when settings load.
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""  # empty: SQLite at DATA_DIR/broadsheet.db (_defaults_under_data_dir)
    redis_url: str | None = None
    mail_backend: Literal["outbox", "smtp", "sendgrid"] = "outbox"
    outbox_dir: Path = Path()  # unset: DATA_DIR/outbox
    sendgrid_api_key: str | None = Field(default=None, repr=False)
    sendgrid_api_host: str = "https://api.sendgrid.com"
    # How long a batch's request may wait for SendGrid's answer. Past it the batch is
    # `uncertain` (SendGrid may have taken it), so set it well above a slow day's latency.
    sendgrid_timeout_seconds: float = Field(default=30, gt=0, le=600)
    sendgrid_webhook_public_key: str | None = Field(default=None, repr=False)
    smtp_url: str | None = Field(default=None, repr=False)
    secret_key: str = Field(default=DEV_SECRET_KEY, repr=False)
    admin_token: str = Field(default=DEV_ADMIN_TOKEN, repr=False)
    base_url: str | None = None
    site_config: Path = Path("site.toml")
    # Feedback (docs/ARCHITECTURE.md, "Feedback"): webhook replay window, soft-bounce
    # limit, and what happens to an `uncertain` delivery that no event ever confirms.
    sendgrid_webhook_max_age_seconds: int = Field(default=600, ge=30, le=86_400)
    soft_bounce_limit: int = Field(default=3, ge=1)
    reconcile_after_minutes: int = Field(default=30, ge=1)
    reconcile_action: Literal["resend", "hold"] = "resend"
    # POST /subscribe attempts per client IP per minute; 0 turns the limit off (benchmarks).
    subscribe_rate_limit: int = Field(default=10, ge=0)
    # Messages per second across every worker (a token bucket in Redis); 0 = no limit.
    send_rate_per_second: float = Field(default=0, ge=0)
    # A campaign pauses itself after this many failed batches in a row; 0 = never.
    pause_after_failures: int = Field(default=5, ge=0)
    # The sponsor desk's hook: booking state changes are POSTed here, signed with the secret.
    sponsor_hook_url: str | None = None
    sponsor_hook_secret: str | None = Field(default=None, min_length=16)
    # Days a finished campaign keeps its per-delivery ledger rows before they become
    # counts (delivery/retention.py): past reconciliation, late complaints, caps.
    delivery_retention_days: int = Field(default=90, ge=30)
    # The web admin keeps slow aggregates per process this long at most; 0 = never (benchmarks).
    admin_cache_seconds: float = Field(default=30, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _defaults_under_data_dir(cls, data: object) -> object:
        # Unset (or empty) DATABASE_URL and OUTBOX_DIR follow DATA_DIR.
        if not isinstance(data, dict):
            return data
        home = Path(data.get("data_dir") or DEFAULT_DATA_DIR).absolute()
        data = {**data, "data_dir": home}
        if not data.get("database_url"):
            data["database_url"] = f"sqlite:///{home / 'broadsheet.db'}"
        if not data.get("outbox_dir"):
            data["outbox_dir"] = home / "outbox"
        return data

    @property
    def imports_dir(self) -> Path:
        """Where admin CSV uploads wait for their import job (web and worker must share it)."""
        return self.data_dir / "imports"

    @field_validator(
        "redis_url",
        "base_url",
        "smtp_url",
        "sendgrid_api_key",
        "sponsor_hook_url",
        "sponsor_hook_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `REDIS_URL=` in a .env file means "not configured", not "connect to ''".
        return None if value == "" else value

    @field_validator("sendgrid_webhook_public_key", mode="before")
    @classmethod
    def _webhook_key_loads(cls, value: object) -> object:
        if value in ("", None):
            return None
        # Imported here: the key format belongs to the feedback package.
        from feedback.signature import load_public_key

        load_public_key(str(value))
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @model_validator(mode="after")
    def _safe_for_production(self) -> Settings:
        # Cross-field rules name their setting first ("SECRET_KEY: ..."), as field errors do.
        if self.environment == "production":
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "SECRET_KEY: must be set to a random value of 32+ characters in production"
                )
            if self.admin_token == DEV_ADMIN_TOKEN or len(self.admin_token) < 24:
                raise ValueError(
                    "ADMIN_TOKEN: must be set to a random value of 24+ characters in production"
                )
        if self.mail_backend == "sendgrid" and not self.sendgrid_api_key:
            raise ValueError("SENDGRID_API_KEY: needed with MAIL_BACKEND=sendgrid")
        if self.mail_backend == "smtp" and not self.smtp_url:
            raise ValueError("SMTP_URL: needed with MAIL_BACKEND=smtp")
        if self.sponsor_hook_url:
            if not self.sponsor_hook_url.startswith(("https://", "http://")):
                raise ValueError("SPONSOR_HOOK_URL: must start with https:// or http://")
            if not self.sponsor_hook_secret:
                raise ValueError("SPONSOR_HOOK_SECRET: needed with SPONSOR_HOOK_URL")
        return self

    def check_listen(self, host: str) -> None:
        """Refuse to serve beyond this machine while the well-known development secrets sign links
        and guard /api: anyone who can reach the port could forge tokens and call the admin API.
        """
        if is_loopback(host):
            return
        unsafe = [
            (name, length)
            for name, value, dev, length in (
                ("SECRET_KEY", self.secret_key, DEV_SECRET_KEY, 32),
                ("ADMIN_TOKEN", self.admin_token, DEV_ADMIN_TOKEN, 24),
            )
            if value == dev
        ]
        if unsafe:
            names = " and ".join(name for name, _ in unsafe)
            wanted = " and ".join(f"{name} ({n}+ random characters)" for name, n in unsafe)
            raise SettingsError(
                f"refusing to listen on {host} with the development {names}: "
                f"set {wanted} in the environment or .env, or listen on 127.0.0.1"
            )

    @property
    def embedded(self) -> bool:
        """No Redis: tasks run in-process and rate limits live in memory."""
        return self.redis_url is None

    def site_config_path(self) -> Path:
        """`site.toml` if present, else the bundled example (only when SITE_CONFIG is unset)."""
        if self.site_config.exists():
            return self.site_config
        if self.site_config == Path("site.toml"):
            return SITE_EXAMPLE
        return self.site_config

    @property
    def beat_schedule_file(self) -> Path:
        """Celery beat's record of when each entry last ran."""
        return self.data_dir / "celerybeat-schedule"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost` reach only this machine; anything else may not."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a public interface


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).upper()
        message = " ".join(str(first["msg"]).removeprefix("Value error, ").split())
        raise SettingsError(
            f"setting {where}: {message}" if where else f"setting {message}"
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
