"""Malformed input on public routes gets a clear 4xx or is skipped alone, never a 500.

Each case was a 500 (or a whole webhook batch lost) before: NUL characters in a
name, lone surrogates and deeply nested JSON on /subscribe and the webhook, a
delivery id of 2^63 in a signed event, /r tokens with booleans or huge ids, and
archive clicks counted without limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.runtime import Runtime
from db.models import Event, SponsorClick, Subscriber
from subscribers.tokens import Purpose, make_token
from tests.campaigns.sample_edition import evergreen_site
from tests.support.editions import LINKS
from tests.support.mail import messages
from tests.support.sendgrid_events import Signer, body_of, event, with_webhook_key
from web.app import create_app

NESTED = b"[" * 30_000 + b"]" * 30_000  # under the body cap, far over the parser's recursion
WEBHOOK = "/webhooks/sendgrid"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("as_json", [True, False])
def test_nul_characters_in_a_name_never_reach_the_database_or_the_to_header(
    client: TestClient, runtime: Runtime, as_json: bool
) -> None:
    fields = {"email": "nul@example.org", "name": "Ada\x00 Love\x00lace\x07"}
    answer = (
        client.post("/subscribe", json=fields)
        if as_json
        else client.post("/subscribe", data=fields)
    )
    assert answer.status_code == 200
    with runtime.db.session() as session:
        assert session.scalars(select(Subscriber.name)).one() == "Ada Love lace"
    [mail] = messages(runtime.settings.outbox_dir)
    assert mail["To"].addresses[0].display_name == "Ada Love lace"


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "a\\udc80@example.org"}',
        b'{"email": "ok@example.org", "name": "\\ud800"}',
        b'{"email": "ok@example.org", "lists": ["\\udfff"]}',
    ],
)
def test_lone_surrogates_in_a_json_sign_up_get_a_clear_400(client: TestClient, body: bytes) -> None:
    answer = client.post("/subscribe", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_deeply_nested_json_on_subscribe_gets_a_400(client: TestClient) -> None:
    answer = client.post("/subscribe", content=NESTED, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "JSON object" in answer.json()["error"]


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def hooked(runtime: Runtime, signer: Signer) -> Iterator[TestClient]:
    with TestClient(
        create_app(with_webhook_key(runtime, signer)), raise_server_exceptions=False
    ) as test_client:
        yield test_client


def test_deeply_nested_json_on_the_webhook_gets_a_400(hooked: TestClient, signer: Signer) -> None:
    answer = hooked.post(WEBHOOK, content=NESTED, headers=signer.headers(NESTED))
    assert answer.status_code == 400


def test_a_signed_event_with_a_huge_delivery_id_is_stored_without_it_not_the_batch_lost(
    hooked: TestClient, signer: Signer, runtime: Runtime
) -> None:
    events = [
        event("delivered", "ada@example.org", delivery_id=2**63),
        {**event("open", "ada@example.org"), "delivery_id": 2**63, "campaign_id": 2**64},
        event("delivered", "ben@example.org", delivery_id=5),
    ]
    body = body_of(events)
    answer = hooked.post(WEBHOOK, content=body, headers=signer.headers(body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 3
    with runtime.db.session() as session:
        ids = sorted(
            session.execute(select(Event.delivery_id, Event.campaign_id)).all(),
            key=lambda row: row[0] or 0,
        )
    assert ids == [(None, None), (None, None), (5, None)]


def test_nul_and_lone_surrogates_in_a_signed_event_affect_that_event_only(
    hooked: TestClient, signer: Signer, runtime: Runtime
) -> None:
    events = [
        event("bounce", "ada@example.org", reason="550 no\x00 such user\ud800"),
        {**event("delivered", "ben@example.org"), "sg_event_id": "bad\x00id"},
        event("click", "cy@example.org", url="https://example.org/\x00\udfff"),
        event("delivered", "dee@example.org"),
    ]
    body = body_of(events)
    answer = hooked.post(WEBHOOK, content=body, headers=signer.headers(body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 3
    assert [r["index"] for r in answer.json()["rejected"]] == [1]
    with runtime.db.session() as session:
        reasons = [r for r in session.scalars(select(Event.reason)) if r]
        urls = [u for u in session.scalars(select(Event.url)) if u]
    assert reasons == ["550 no such user"]
    assert urls == ["https://example.org/"]


@pytest.fixture
def tracked(runtime: Runtime) -> Iterator[TestClient]:
    runtime.__dict__["site"] = evergreen_site()
    with TestClient(create_app(runtime), follow_redirects=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "payload",
    [
        [True, None, "Saltmarsh Tea"],
        [42, True, "Saltmarsh Tea"],
        [2**63, None, "Saltmarsh Tea"],
        [42, 2**80, "Saltmarsh Tea"],
        [0, None, "Saltmarsh Tea"],
    ],
)
def test_redirect_tokens_with_booleans_or_out_of_range_ids_get_a_404(
    tracked: TestClient, runtime: Runtime, payload: list[object]
) -> None:
    token = make_token(runtime.settings.secret_key, Purpose.redirect, payload)
    assert tracked.get(f"/r/{token}").status_code == 404
    with runtime.db.session() as session:
        assert session.scalars(select(SponsorClick)).all() == []


def test_an_archive_click_is_counted_once_per_reader_however_often_it_is_opened(
    tracked: TestClient, runtime: Runtime
) -> None:
    path = urlsplit(LINKS.sponsor_url(42, None, "Saltmarsh Tea")).path
    for _ in range(20):
        assert tracked.get(path).status_code == 302  # the reader still gets to the sponsor
    other = urlsplit(LINKS.sponsor_url(42, 7, "Saltmarsh Tea")).path
    assert tracked.get(other).status_code == 302
    with runtime.db.session() as session:
        counted = session.execute(select(SponsorClick.campaign_id, SponsorClick.delivery_id)).all()
    assert sorted(counted, key=lambda row: row[1] or 0) == [(42, None), (42, 7)]
