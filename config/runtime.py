"""Everything a process needs, built once from settings: site, database, sender, links.

The site configuration is the exception: it follows the site file on disk
(config/sitefile.py), so an edit reaches running processes within seconds.
Tests may pin one by setting `runtime.__dict__["site"]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from config.settings import Settings, get_settings
from config.site import SiteConfig
from config.sitefile import SiteFile
from db.engine import Database
from delivery.backends import make_sender
from delivery.personalize import LinkMaker
from delivery.sender import MailSender


class _FollowedSite:
    """`Runtime.site`: the site file's current version. A non-data descriptor, so a
    value put in the instance's __dict__ (a test's fixed site) takes precedence."""

    def __get__(self, runtime: Runtime, owner: type | None = None) -> SiteConfig:
        return runtime.site_file.current()


@dataclass
class Runtime:
    settings: Settings

    site = _FollowedSite()

    @cached_property
    def site_file(self) -> SiteFile:
        return SiteFile(self.settings.site_config_path())

    @cached_property
    def db(self) -> Database:
        return Database.from_url(self.settings.database_url)

    @cached_property
    def sender(self) -> MailSender:
        return make_sender(self.settings)

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or self.site.newsletter.site_url).rstrip("/")

    @property
    def links(self) -> LinkMaker:
        """Remade only when the base URL changed (a reloaded site file may change it)."""
        made: LinkMaker | None = self.__dict__.get("_links")
        if made is None or made.base_url != self.base_url:
            made = LinkMaker(base_url=self.base_url, secret_key=self.settings.secret_key)
            self.__dict__["_links"] = made
        return made


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
