"""Per-recipient values: signed links, the crisis line for their country, headers."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from campaigns.disclaimers import crisis_line_for
from campaigns.render import crisis_key
from config.site import Disclaimer
from delivery.message import Recipient
from subscribers.tokens import Purpose, make_token


@dataclass(frozen=True)
class LinkMaker:
    """Builds the signed links that go into one campaign's emails."""

    base_url: str
    secret_key: str

    def unsubscribe_url(self, subscriber_id: int, campaign_id: int | None = None) -> str:
        token = make_token(self.secret_key, Purpose.unsubscribe, [subscriber_id, campaign_id])
        return f"{self.base_url}/unsubscribe/{token}"

    def preferences_url(self, subscriber_id: int) -> str:
        token = make_token(self.secret_key, Purpose.preferences, subscriber_id)
        return f"{self.base_url}/preferences/{token}"

    def sponsor_url(self, campaign_id: int, delivery_id: int | None, sponsor: str) -> str:
        token = make_token(self.secret_key, Purpose.redirect, [campaign_id, delivery_id, sponsor])
        return f"{self.base_url}/r/{token}"


def list_unsubscribe_headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: mail clients show a one-click unsubscribe button."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def campaign_recipient(
    links: LinkMaker,
    *,
    email: str,
    name: str | None,
    country: str | None,
    subscriber_id: int,
    campaign_id: int,
    delivery_id: int | None,  # None in a preview of a campaign not yet queued
    sponsor_name: str | None,
    disclaimers: Sequence[Disclaimer],
) -> Recipient:
    unsubscribe = links.unsubscribe_url(subscriber_id, campaign_id)
    values = {
        "unsubscribe_url": unsubscribe,
        "preferences_url": links.preferences_url(subscriber_id),
    }
    if sponsor_name:
        values["sponsor_url"] = links.sponsor_url(campaign_id, delivery_id, sponsor_name)
    for disclaimer in disclaimers:
        line = crisis_line_for(disclaimer, country)
        if line is not None:
            # The same key serves text and HTML parts, so the value is escaped for HTML;
            # crisis lines are plain sentences where escaping changes nothing visible.
            values[crisis_key(disclaimer)] = html.escape(line, quote=False)
    return Recipient(
        email=email,
        name=name,
        substitutions=values,
        headers=list_unsubscribe_headers(unsubscribe),
        custom_args={"campaign_id": str(campaign_id), "delivery_id": str(delivery_id)},
    )
