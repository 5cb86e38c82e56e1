"""Everything a process needs, built once from settings: site, database, sender, links."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from config.settings import Settings, get_settings
from config.site import SiteConfig, load_site
from db.engine import Database
from delivery.backends import make_sender
from delivery.personalize import LinkMaker
from delivery.sender import MailSender


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def site(self) -> SiteConfig:
        return load_site(self.settings.site_config_path())

    @cached_property
    def db(self) -> Database:
        return Database.from_url(self.settings.database_url)

    @cached_property
    def sender(self) -> MailSender:
        return make_sender(self.settings)

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or self.site.newsletter.site_url).rstrip("/")

    @cached_property
    def links(self) -> LinkMaker:
        return LinkMaker(base_url=self.base_url, secret_key=self.settings.secret_key)


_current: Runtime | None = None


def get_runtime() -> Runtime:
    """The process-wide runtime (workers, CLI, web); tests install their own with set_runtime."""
    global _current
    if _current is None:
        _current = Runtime(get_settings())
    return _current


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime
