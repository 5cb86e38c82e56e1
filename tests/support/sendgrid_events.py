"""SendGrid's side of the Event Webhook for tests: a real key pair, real signatures, events.

Also a helper that sends a campaign for real (delivery.campaign_send + the
runtime's sender), so events can name real deliveries.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from campaigns.compose import create_campaign
from config.runtime import Runtime
from db.models import Delivery, Subscriber
from delivery import campaign_send
from feedback.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, public_key_text, sign_events
from subscribers.service import ConsentInfo, add_subscriber

CONSENT = ConsentInfo(source="api", text_version="1")
_seq = itertools.count(1)


@dataclass
class Signer:
    """Holds a private key made in the test, as SendGrid holds its own."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def public_text(self) -> str:
        return public_key_text(self.key)

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign_events(self.key, stamp, body),
        }


def event(
    kind: str,
    email: str,
    *,
    delivery_id: int | None = None,
    campaign_id: int | None = None,
    at: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One event shaped as SendGrid sends it; custom args are strings, as SendGrid returns them."""
    item: dict[str, Any] = {
        "email": email,
        "event": kind,
        "timestamp": int(time.time() if at is None else at),
        "sg_event_id": f"test-{uuid.uuid4().hex}-{next(_seq)}",
        "sg_message_id": "msg.filter0001",
        **extra,
    }
    if delivery_id is not None:
        item["delivery_id"] = str(delivery_id)
    if campaign_id is not None:
        item["campaign_id"] = str(campaign_id)
    return item


def body_of(events: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps(list(events)).encode("utf-8")


def add_people(runtime: Runtime, emails: Sequence[str], lists: Sequence[str] = ("videos",)) -> None:
    with runtime.db.session() as session:
        for email in emails:
            add_subscriber(session, email, list(lists), CONSENT, confirmed=True)


def send_campaign(
    runtime: Runtime, subject: str = "Hello", lists: Sequence[str] = ("videos",)
) -> int:
    """Create and send a campaign through the real send steps and the runtime's sender."""
    with runtime.db.session() as session:
        campaign_id = create_campaign(
            session,
            runtime.site,
            lists=list(lists),
            subject=subject,
            intro="A note from the editor.",
        ).id
    campaign_send.send_inline(runtime.db, runtime.site, runtime.sender, runtime.links, campaign_id)
    return campaign_id


def deliveries_by_email(runtime: Runtime, campaign_id: int) -> dict[str, int]:
    """Delivery id per address for one campaign."""
    with runtime.db.session() as session:
        rows = session.execute(
            select(Subscriber.email, Delivery.id)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == campaign_id)
        ).all()
    return {email: delivery_id for email, delivery_id in rows}


def with_webhook_key(runtime: Runtime, signer: Signer, **settings: Any) -> Runtime:
    """The same runtime (database, outbox) with the signer's public key configured.

    Installed process-wide, since tasks run in-process (eager) and read it there.
    """
    from config.runtime import set_runtime

    updated = runtime.settings.model_copy(
        update={"sendgrid_webhook_public_key": signer.public_text, **settings}
    )
    rt = Runtime(updated)
    rt.__dict__.update({k: v for k, v in runtime.__dict__.items() if k != "settings"})
    set_runtime(rt)
    return rt
