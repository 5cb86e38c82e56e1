"""The booking hook: a signed POST per state change after the commit, to the URL in the
settings, through the feed fetcher's SSRF guard."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

import tasks.sponsors  # noqa: F401 - the after-commit listener under test
from config.runtime import Runtime
from feedback.hooks import HookFailed, verify
from sponsorship import inventory, notify
from sponsorship.inventory import Change
from tests.campaigns.sample_edition import evergreen_site
from tests.sponsorship.desk import CREATOR
from tests.support.receiver import receiver

SECRET = "sponsor-hook-secret-0123456789"
CHANGE_DAY = dt.date(2026, 12, 9)
CHANGE = Change(7, "Foldmaps", "in_review", "approved", "2026-12-07T10:00:00+00:00")


def test_a_change_is_posted_signed() -> None:
    with receiver() as server, httpx.Client() as client:
        status = notify.post_guarded(
            client, server.url, SECRET, notify.change_body(CHANGE), allow_private=True
        )
        [got] = server.requests
    assert status == 200
    assert verify(SECRET, got.body, got.headers)
    assert not verify("another-secret-0123456789", got.body, got.headers)
    body = json.loads(got.body)
    assert body["event"] == "booking_state" and got.headers["X-Broadsheet-Event"] == "booking_state"
    assert body["data"] == {
        "booking_id": 7, "sponsor": "Foldmaps", "from": "in_review", "to": "approved",
        "at": "2026-12-07T10:00:00+00:00",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("url", "allow_private"),
    [
        ("http://127.0.0.1:9/hook", False),  # loopback, private hosts not allowed
        ("http://10.1.2.3/hook", False),
        ("http://169.254.169.254/latest/meta-data", True),  # cloud metadata: never
        ("file:///etc/passwd", True),
    ],
)
def test_the_ssrf_guard_refuses_before_connecting(url: str, allow_private: bool) -> None:
    with httpx.Client() as client, pytest.raises(HookFailed, match="refused") as caught:
        notify.post_guarded(client, url, SECRET, "{}", allow_private=allow_private)
    assert caught.value.retry is False


def test_state_changes_reach_the_hook_after_commit_and_never_after_rollback(
    runtime: Runtime,
) -> None:
    site = evergreen_site()
    site = site.model_copy(
        update={"newsletter": site.newsletter.model_copy(update={"allow_private_hosts": True})}
    )
    runtime.__dict__["site"] = site
    with receiver() as server:
        runtime.settings = runtime.settings.model_copy(
            update={"sponsor_hook_url": server.url, "sponsor_hook_secret": SECRET}
        )
        with runtime.db.session() as session:
            sponsor = inventory.add_sponsor(session, "Foldmaps", CREATOR)
            booking = inventory.book_flight(
                session, sponsor.id, CHANGE_DAY, CHANGE_DAY, CREATOR, lists=["videos"]
            )
            inventory.move(session, booking, inventory.S.awaiting_creative, CREATOR)
            booking_id = booking.id
            assert server.requests == []  # nothing before the commit
        with pytest.raises(RuntimeError), runtime.db.session() as session:
            inventory.cancel(session, booking_id, CREATOR)
            raise RuntimeError("rolled back")
        events = [json.loads(r.body)["data"] for r in server.requests]
    assert [(e["booking_id"], e["from"], e["to"]) for e in events] == [
        (booking_id, None, "proposed"),
        (booking_id, "proposed", "awaiting_creative"),
    ]
    assert all(verify(SECRET, r.body, r.headers) for r in server.requests)
