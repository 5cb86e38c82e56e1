"""The creator's site file (`site.toml`): identity, lists, feeds, blocks, schedules.

Editorial settings live in version control; people and sends live in the
database. The file is validated whole at load time so that a typo fails with
one line naming the file, the key and the problem.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


class SiteConfigError(ValueError):
    """The site file is missing or invalid; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Newsletter(_Strict):
    name: str = Field(min_length=1)
    from_email: EmailStr
    from_name: str | None = None
    reply_to: EmailStr | None = None
    postal_address: str = Field(min_length=1)
    base_url: HttpUrl
    timezone: str = "UTC"
    consent_text_version: str = "1"
    allow_private_hosts: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def site_url(self) -> str:
        return str(self.base_url).rstrip("/")


class MailingList(_Strict):
    slug: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1)
    description: str = ""
    default: bool = False


class FeedConfig(_Strict):
    name: str = Field(pattern=SLUG_PATTERN)
    url: str = Field(min_length=1)
    kind: Literal["youtube", "articles"] | None = None
    tags: tuple[str, ...] = ()
    interval_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    hold_minutes: int = Field(default=0, ge=0)
    # The first poll records what the feed already lists as published, except
    # its newest `backfill` entries, which are mailed like new ones.
    backfill: int = Field(default=0, ge=0)

    @property
    def resolved_kind(self) -> Literal["youtube", "articles"]:
        """Guess from the URL when the file leaves the kind out."""
        if self.kind is not None:
            return self.kind
        return "youtube" if "youtube.com/feeds/" in self.url else "articles"


class Sponsor(_Strict):
    name: str = Field(min_length=1)
    text: str = Field(min_length=1)
    url: HttpUrl
    cta: str = "Learn more"
    image_url: HttpUrl | None = None
    starts: dt.date
    ends: dt.date
    weight: int = Field(default=1, ge=1)
    placement: Literal["after_first", "end"] = "end"
    cap_days: int = Field(default=0, ge=0)
    lists: tuple[str, ...] = ()
    house: bool = False

    @model_validator(mode="after")
    def _flight_in_order(self) -> Sponsor:
        if self.ends < self.starts:
            raise ValueError("ends is before starts")
        return self

    def in_flight(self, day: dt.date) -> bool:
        return self.starts <= day <= self.ends


class Disclaimer(_Strict):
    name: str = Field(pattern=SLUG_PATTERN)
    version: int = Field(ge=1)
    text: str = Field(min_length=1)
    always: bool = False
    when_tags: tuple[str, ...] = ()
    when_keywords: tuple[str, ...] = ()
    crisis_line: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_a_rule(self) -> Disclaimer:
        if not (self.always or self.when_tags or self.when_keywords):
            raise ValueError("needs always = true, when_tags or when_keywords")
        if self.crisis_line and "default" not in self.crisis_line:
            raise ValueError("crisis_line needs a 'default' entry")
        return self


class Schedule(_Strict):
    name: str = Field(pattern=SLUG_PATTERN)
    kind: Literal["digest", "instant"]
    cron: str | None = None
    lists: tuple[str, ...] = Field(min_length=1)
    only_if_new: bool = True
    grace_minutes: int = Field(default=360, ge=0)
    subject: str | None = None
    # A written note above the posts; with only_if_new = false it lets a digest go
    # out when there are no posts (a campaign needs posts or an intro).
    intro: str = ""
    feeds: tuple[str, ...] = ()

    @field_validator("cron")
    @classmethod
    def _cron_reads(cls, value: str | None) -> str | None:
        """Read the expression now, so a typo fails the load and not every tick."""
        if value is None:
            return None
        if len(value.split()) != 5:
            raise ValueError(f"cron {value!r} must have five fields")
        try:
            CronSim(value, dt.datetime.now(dt.UTC))
        except CronSimError as exc:
            raise ValueError(f"cron {value!r}: {str(exc).lower()}") from None
        return value

    @model_validator(mode="after")
    def _digest_has_cron(self) -> Schedule:
        if self.kind == "digest" and not self.cron:
            raise ValueError("a digest schedule needs cron")
        return self


class Hook(_Strict):
    url: HttpUrl
    events: tuple[Literal["subscribe", "unsubscribe", "campaign_sent"], ...] = (
        "subscribe",
        "unsubscribe",
        "campaign_sent",
    )
    secret: str = Field(min_length=16)


class SiteConfig(_Strict):
    newsletter: Newsletter
    lists: tuple[MailingList, ...] = Field(min_length=1)
    feeds: tuple[FeedConfig, ...] = ()
    sponsors: tuple[Sponsor, ...] = ()
    disclaimers: tuple[Disclaimer, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    hooks: tuple[Hook, ...] = ()

    @model_validator(mode="after")
    def _references_resolve(self) -> SiteConfig:
        _unique("lists", [x.slug for x in self.lists])
        _unique("feeds", [x.name for x in self.feeds])
        _unique("sponsors", [x.name for x in self.sponsors])
        _unique("disclaimers", [x.name for x in self.disclaimers])
        _unique("schedules", [x.name for x in self.schedules])
        known = {x.slug for x in self.lists}
        for owner, names in [
            *((f"sponsors '{s.name}'", s.lists) for s in self.sponsors),
            *((f"schedules '{s.name}'", s.lists) for s in self.schedules),
        ]:
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(f"{owner} names unknown list(s) {', '.join(unknown)}")
        return self

    def list_slugs(self) -> list[str]:
        return [x.slug for x in self.lists]

    def default_lists(self) -> list[str]:
        chosen = [x.slug for x in self.lists if x.default]
        return chosen or [self.lists[0].slug]

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)


def _unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{section}: '{name}' appears twice")
        seen.add(name)


def load_site(path: Path) -> SiteConfig:
    """Read and validate a site file; any problem becomes one SiteConfigError line."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiteConfigError(f"{path}: file not found (run `broadsheet init`)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return SiteConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _dotted(first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SiteConfigError(f"{path}: {key}: {message}") from None


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
