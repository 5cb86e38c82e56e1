"""Outgoing hooks: signed with HMAC-SHA256, delivered to a real server on loopback."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from config.runtime import Runtime
from config.site import Hook, SiteConfig
from db.models import Campaign
from delivery.ledger import counts_by_status
from feedback import hooks
from tasks.events import send_hooks
from tests.support.receiver import receiver
from tests.support.sendgrid_events import Signer, add_people, body_of, event, send_campaign
from web.app import create_app

SECRET = "a-long-hook-secret-for-tests"


def site_with(site: SiteConfig, *new: Hook) -> SiteConfig:
    return site.model_copy(update={"hooks": new})


def test_a_signature_covers_the_timestamp_and_the_body() -> None:
    body = b'{"event":"subscribe"}'
    headers = hooks.signed_headers(SECRET, "subscribe", body)
    assert headers[hooks.SIGNATURE_HEADER].startswith("sha256=")
    assert hooks.verify(SECRET, body, headers)
    assert not hooks.verify(SECRET, body + b" ", headers)
    assert not hooks.verify("another-secret-of-length", body, headers)
    shifted = {**headers, hooks.TIMESTAMP_HEADER: str(int(headers[hooks.TIMESTAMP_HEADER]) + 1)}
    assert not hooks.verify(SECRET, body, shifted)
    old = hooks.signed_headers(SECRET, "subscribe", body, now=time.time() - 3600)
    assert not hooks.verify(SECRET, body, old)
    assert not hooks.verify(SECRET, body, {})


def test_only_hooks_that_asked_for_an_event_are_called(site: SiteConfig) -> None:
    everything = Hook(url="https://a.example/h", secret=SECRET)  # type: ignore[arg-type]
    only_sent = Hook(url="https://b.example/h", secret=SECRET, events=("campaign_sent",))  # type: ignore[arg-type]
    configured = site_with(site, everything, only_sent)
    calls = hooks.calls_for(configured, "unsubscribe", {"subscriber_id": 1})
    assert [c.url for c in calls] == ["https://a.example/h"]
    assert len(hooks.calls_for(configured, "campaign_sent", {})) == 2
    assert hooks.calls_for(site, "subscribe", {}) == []  # the example site has no hooks
    payload = json.loads(calls[0].body)
    assert (payload["event"], payload["data"]) == ("unsubscribe", {"subscriber_id": 1})


def test_a_hook_is_posted_signed_to_a_real_server() -> None:
    with receiver() as server:
        hook = Hook(url=server.url, secret=SECRET)  # type: ignore[arg-type]
        call = hooks.HookCall(server.url, "subscribe", hooks.hook_payload("subscribe", {"x": 1}))
        with httpx.Client() as client:
            assert hooks.post(client, hook, call) == 200
    (got,) = server.requests
    assert got.headers[hooks.EVENT_HEADER] == "subscribe"
    assert got.headers["Content-Type"] == "application/json"
    assert got.body == call.body.encode()
    assert hooks.verify(SECRET, got.body, got.headers)


@pytest.mark.parametrize(
    ("status", "retry"), [(503, True), (429, True), (400, False), (404, False)]
)
def test_a_refusal_says_whether_retrying_can_help(status: int, retry: bool) -> None:
    with receiver([status]) as server, httpx.Client() as client:
        hook = Hook(url=server.url, secret=SECRET)  # type: ignore[arg-type]
        with pytest.raises(hooks.HookFailed) as failure:
            hooks.post(client, hook, hooks.HookCall(server.url, "subscribe", "{}"))
    assert failure.value.retry is retry
    assert f"HTTP {status}" in str(failure.value)


def test_an_unreachable_receiver_is_worth_a_retry() -> None:
    with receiver() as server:
        url = server.url
    hook = Hook(url=url, secret=SECRET)  # type: ignore[arg-type]
    with httpx.Client() as client, pytest.raises(hooks.HookFailed) as failure:
        hooks.post(client, hook, hooks.HookCall(url, "subscribe", "{}"))
    assert failure.value.retry


def test_a_sendgrid_unsubscribe_notifies_the_unsubscribe_hook(rt: Runtime, signer: Signer) -> None:
    add_people(rt, ["ada@example.org", "ben@example.org"])
    with receiver() as server:
        rt.__dict__["site"] = site_with(
            rt.site,
            Hook(url=server.url, secret=SECRET, events=("unsubscribe",)),  # type: ignore[arg-type]
        )
        body = body_of(
            [event("unsubscribe", "ada@example.org"), event("spamreport", "ben@example.org")]
        )
        response = TestClient(create_app(rt)).post(
            "/webhooks/sendgrid", content=body, headers=signer.headers(body)
        )
    assert response.status_code == 200
    (got,) = server.requests  # the complaint is not an unsubscribe
    assert hooks.verify(SECRET, got.body, got.headers)
    payload = json.loads(got.body)
    assert payload["event"] == "unsubscribe"
    assert payload["data"]["email"] == "ada@example.org"
    assert payload["data"]["status"] == "unsubscribed"


def test_other_areas_notify_hooks_through_send_hooks(rt: Runtime) -> None:
    add_people(rt, ["ada@example.org"])
    cid = send_campaign(rt, subject="Sunday letter")
    with receiver() as server:
        rt.__dict__["site"] = site_with(
            rt.site,
            Hook(url=server.url, secret=SECRET, events=("campaign_sent",)),  # type: ignore[arg-type]
        )
        with rt.db.session() as session:
            campaign = session.get_one(Campaign, cid)
            data = hooks.campaign_data(campaign, counts_by_status(session, cid))
        send_hooks("campaign_sent", data)  # after the caller's commit, as the send path will
        send_hooks("subscribe", {"subscriber_id": 1})  # this hook did not ask for subscribes
    (got,) = server.requests
    assert hooks.verify(SECRET, got.body, got.headers)
    payload = json.loads(got.body)
    assert payload["event"] == "campaign_sent"
    assert payload["data"]["subject"] == "Sunday letter"
    assert payload["data"]["deliveries"]["sent"] == 1
