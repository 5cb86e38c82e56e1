"""What a subscriber can change about themselves: lists, cadence, timezone, country, name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from config.site import SiteConfig
from db.models import Subscriber, Subscription
from delivery.placeholders import strip_placeholders

CADENCES = ("instant", "weekly")
NAME_MAX = 200


class PreferencesError(ValueError):
    """One or more fields are invalid; `errors` maps field name to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Preferences:
    lists: list[str] = field(default_factory=list)
    cadence: str = "instant"
    timezone: str | None = None
    country: str | None = None
    name: str | None = None


# Control characters (NUL among them: PostgreSQL refuses it, and a raw one broke the
# To: header) and lone surrogates (not encodable, so not storable) become spaces.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_name(raw: str | None) -> str | None:
    """Whitespace collapsed, control characters and lone surrogates dropped, cut to NAME_MAX,
    placeholder syntax defused (names go into emails)."""
    name = " ".join(_UNPRINTABLE.sub(" ", raw or "").split())[:NAME_MAX]
    return strip_placeholders(name) if name else None


def timezone_choices() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def current(session: Session, subscriber: Subscriber) -> Preferences:
    lists = session.scalars(
        select(Subscription.list_slug).where(Subscription.subscriber_id == subscriber.id)
    )
    return Preferences(
        lists=sorted(lists),
        cadence=subscriber.cadence,
        timezone=subscriber.timezone,
        country=subscriber.country,
        name=subscriber.name,
    )


def validate(
    site: SiteConfig,
    *,
    lists: list[str],
    cadence: str,
    timezone: str,
    country: str,
    name: str,
) -> Preferences:
    """Clean the submitted form; collects every problem before raising."""
    errors: dict[str, str] = {}
    known = site.list_slugs()
    unknown = sorted(set(lists) - set(known))
    if unknown:
        errors["lists"] = f"unknown list(s): {', '.join(unknown)}"
    if cadence not in CADENCES:
        errors["cadence"] = f"choose one of: {', '.join(CADENCES)}"
    zone = timezone.strip() or None
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = f"unknown time zone {zone!r}"
    code = country.strip().upper() or None
    if code is not None and not (len(code) == 2 and code.isascii() and code.isalpha()):
        errors["country"] = "use a two-letter country code such as US or GB"
    if len(" ".join(name.split())) > NAME_MAX:
        errors["name"] = f"at most {NAME_MAX} characters"
    if errors:
        raise PreferencesError(errors)
    return Preferences(
        lists=[slug for slug in known if slug in set(lists)],
        cadence=cadence,
        timezone=zone,
        country=code,
        name=clean_name(name),
    )


def save(session: Session, subscriber: Subscriber, prefs: Preferences) -> None:
    subscriber.cadence = prefs.cadence
    subscriber.timezone = prefs.timezone
    subscriber.country = prefs.country
    subscriber.name = prefs.name
    have = set(
        session.scalars(
            select(Subscription.list_slug).where(Subscription.subscriber_id == subscriber.id)
        )
    )
    wanted = set(prefs.lists)
    if have - wanted:
        session.execute(
            delete(Subscription).where(
                Subscription.subscriber_id == subscriber.id,
                Subscription.list_slug.in_(sorted(have - wanted)),
            )
        )
    session.add_all(
        Subscription(subscriber_id=subscriber.id, list_slug=slug) for slug in sorted(wanted - have)
    )
    session.flush()
