"""Confirming and unsubscribing on the public pages notify the site's outgoing hooks."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from config.runtime import Runtime
from config.site import Hook
from feedback import hooks
from subscribers.addresses import email_hash
from subscribers.links import confirm_token
from subscribers.service import ConsentInfo, add_subscriber
from tests.support.receiver import receiver
from web.app import create_app

SECRET = "public-pages-hook-secret"


def test_confirming_and_unsubscribing_each_send_one_signed_hook(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        person = add_subscriber(session, "ivy@example.org", ["videos"], ConsentInfo("form", "1"))
        sid = person.id
    with receiver() as server:
        runtime.__dict__["site"] = runtime.site.model_copy(
            update={"hooks": (Hook(url=server.url, secret=SECRET),)}  # type: ignore[arg-type]
        )
        client = TestClient(create_app(runtime))
        token = confirm_token(runtime.settings.secret_key, sid, email_hash("ivy@example.org"))
        assert client.post(f"/confirm/{token}").status_code == 200
        assert client.post(f"/confirm/{token}").status_code == 200  # again: no second hook
        unsubscribe = runtime.links.unsubscribe_url(sid, None).removeprefix(runtime.base_url)
        assert client.post(unsubscribe, content=b"List-Unsubscribe=One-Click").status_code == 200
    events = [json.loads(r.body) for r in server.requests]
    assert [(e["event"], e["data"]["email"]) for e in events] == [
        ("subscribe", "ivy@example.org"),
        ("unsubscribe", "ivy@example.org"),
    ]
    assert all(hooks.verify(SECRET, r.body, r.headers) for r in server.requests)
