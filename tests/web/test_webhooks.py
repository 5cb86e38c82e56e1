"""POST /webhooks/sendgrid, signed with a real ECDSA key pair made here, against the app."""

from __future__ import annotations

import email
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from config.runtime import Runtime
from db.models import Delivery, Event, Subscriber, SubscriberStatus, Suppression
from tests.support.sendgrid_events import (
    Signer,
    add_people,
    body_of,
    deliveries_by_email,
    event,
    send_campaign,
    with_webhook_key,
)
from web.app import create_app

URL = "/webhooks/sendgrid"
PEOPLE = ["ada@example.org", "ben@example.org", "cy@example.org"]


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def rt(runtime: Runtime, signer: Signer) -> Runtime:
    return with_webhook_key(runtime, signer)


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt)) as test_client:
        yield test_client


def post(client: TestClient, signer: Signer, events: list[Any]) -> Any:
    body = body_of(events)
    return client.post(URL, content=body, headers=signer.headers(body))


def snapshot(rt: Runtime) -> dict[str, Any]:
    """Everything events can change, to compare before and after a replay."""
    with rt.db.session() as session:
        return {
            "events": session.scalar(select(func.count()).select_from(Event)),
            "suppressions": sorted(session.scalars(select(Suppression.reason))),
            "people": sorted(
                tuple(row)
                for row in session.execute(
                    select(Subscriber.email, Subscriber.status, Subscriber.soft_bounces)
                )
            ),
            "deliveries": sorted(
                tuple(row)
                for row in session.execute(
                    select(
                        Delivery.id,
                        Delivery.status,
                        Delivery.delivered_at,
                        Delivery.opened,
                        Delivery.clicked,
                    )
                )
            ),
        }


def test_a_signed_batch_is_stored_and_applied(
    rt: Runtime, client: TestClient, signer: Signer
) -> None:
    add_people(rt, PEOPLE)
    ids = deliveries_by_email(rt, send_campaign(rt))
    response = post(
        client,
        signer,
        [
            event("delivered", "ada@example.org", delivery_id=ids["ada@example.org"]),
            event("open", "ada@example.org", delivery_id=ids["ada@example.org"]),
            event("bounce", "ben@example.org", delivery_id=ids["ben@example.org"], type="bounce"),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 3, "stored": 3, "duplicates": 0, "rejected": []}
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).where(Event.processed_at.is_(None))) == 0
        ada = session.get(Delivery, ids["ada@example.org"])
        assert ada is not None and ada.opened and ada.delivered_at is not None
        assert session.get(Suppression, ada.email_hash) is None
        ben = session.scalars(select(Subscriber).where(Subscriber.email == "ben@example.org")).one()
        assert ben.status is SubscriberStatus.bounced


def test_replaying_a_batch_changes_nothing(rt: Runtime, client: TestClient, signer: Signer) -> None:
    add_people(rt, PEOPLE)
    ids = deliveries_by_email(rt, send_campaign(rt))
    cy = ids["cy@example.org"]
    batch = [
        event("bounce", "ada@example.org", type="blocked"),
        event("deferred", "ben@example.org"),
        event("delivered", "cy@example.org", delivery_id=cy),
        event("click", "cy@example.org", delivery_id=cy, url="https://x.example/"),
        event("unsubscribe", "ben@example.org"),
    ]
    assert post(client, signer, batch).json()["stored"] == 5
    before = snapshot(rt)
    time.sleep(1)  # SendGrid's retry carries a new timestamp and signature
    again = post(client, signer, batch)
    assert again.status_code == 200
    assert again.json() == {"received": 5, "stored": 0, "duplicates": 5, "rejected": []}
    assert snapshot(rt) == before
    assert ("ada@example.org", SubscriberStatus.confirmed, 1) in before["people"]


def test_bad_events_are_skipped_and_the_good_ones_in_the_batch_kept(
    rt: Runtime, client: TestClient, signer: Signer
) -> None:
    add_people(rt, PEOPLE)
    response = post(
        client,
        signer,
        [
            event("spamreport", "ada@example.org"),
            {"event": "open"},
            event("warp", "ben@example.org"),
            42,
            event("unsubscribe", "nobody@example.org"),
            event("unsubscribe", "cy@example.org"),
        ],
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["stored"], [r["index"] for r in data["rejected"]]) == (3, [1, 2, 3])
    assert "unknown event type" in data["rejected"][1]["reason"]
    # The stranger's unsubscribe is stored but changes nothing: no such subscriber.
    assert snapshot(rt)["suppressions"] == ["complained", "unsubscribed"]


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ("tamper", "does not match"),
        ("old", "replay window"),
        ("unsigned", "missing"),
        ("other key", "does not match"),
    ],
)
def test_a_batch_not_provably_from_sendgrid_is_refused(
    rt: Runtime, client: TestClient, signer: Signer, change: str, detail: str
) -> None:
    add_people(rt, PEOPLE)
    body = body_of([event("unsubscribe", "ada@example.org")])
    headers = signer.headers(body)
    if change == "tamper":
        body = body.replace(b"ada@", b"ben@")
    elif change == "old":
        headers = signer.headers(body, timestamp=int(time.time()) - 3600)
    elif change == "unsigned":
        headers = {"Content-Type": "application/json"}
    else:
        headers = Signer().headers(body)
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 403
    assert detail in response.json()["detail"]
    assert snapshot(rt)["events"] == 0
    assert snapshot(rt)["suppressions"] == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [(b"not json", "not JSON"), (b'{"event": "open"}', "not a JSON array"), (b"", "not JSON")],
)
def test_a_body_that_is_not_a_json_array_is_a_400(
    client: TestClient, signer: Signer, body: bytes, detail: str
) -> None:
    response = client.post(URL, content=body, headers=signer.headers(body))
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_without_a_public_key_events_are_refused_not_taken_unsigned(
    runtime: Runtime, signer: Signer
) -> None:
    client = TestClient(create_app(runtime))  # the plain test runtime has no key
    body = body_of([event("unsubscribe", "ada@example.org")])
    response = client.post(URL, content=body, headers=signer.headers(body))
    assert response.status_code == 403
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY is not configured" in response.json()["detail"]


def test_a_hard_bounce_stops_the_next_campaign_to_that_address(
    rt: Runtime, client: TestClient, signer: Signer
) -> None:
    add_people(rt, PEOPLE)
    first = send_campaign(rt, subject="First")
    ids = deliveries_by_email(rt, first)
    bounce = event(
        "bounce",
        "ben@example.org",
        delivery_id=ids["ben@example.org"],
        campaign_id=first,
        type="bounce",
        bounce_classification="Invalid Address",
        reason="550 5.1.1 The email account does not exist",
    )
    assert post(client, signer, [bounce]).status_code == 200
    outbox = rt.settings.outbox_dir
    before = set(outbox.glob("*.eml"))
    second = send_campaign(rt, subject="Second")
    new = set(outbox.glob("*.eml")) - before
    recipients = sorted(email.message_from_bytes(p.read_bytes())["To"] for p in new)
    assert recipients == ["ada@example.org", "cy@example.org"]
    assert "ben@example.org" not in deliveries_by_email(rt, second)
