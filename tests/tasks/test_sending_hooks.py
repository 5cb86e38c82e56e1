"""A finished campaign tells the site's `campaign_sent` hooks once."""

from __future__ import annotations

import json

from campaigns.compose import create_campaign
from config.runtime import Runtime
from config.site import Hook
from delivery import campaign_send
from feedback import hooks
from tasks.sending import send_campaign
from tests.support.receiver import receiver
from tests.support.sendgrid_events import add_people

SECRET = "campaign-sent-hook-secret"


def test_a_finished_campaign_announces_itself_once(runtime: Runtime) -> None:
    add_people(runtime, ["ada@example.org", "ben@example.org"])
    with runtime.db.session() as session:
        campaign_id = create_campaign(
            session, runtime.site, lists=["videos"], subject="Hi", intro="A note from the editor."
        ).id
    with receiver() as server:
        runtime.__dict__["site"] = runtime.site.model_copy(
            update={"hooks": (Hook(url=server.url, secret=SECRET, events=("campaign_sent",)),)}  # type: ignore[arg-type]
        )
        send_campaign.delay(campaign_id)  # eager in tests: the whole send runs here
    (got,) = server.requests
    assert hooks.verify(SECRET, got.body, got.headers)
    payload = json.loads(got.body)
    assert payload["event"] == "campaign_sent"
    assert payload["data"]["campaign_id"] == campaign_id
    assert payload["data"]["deliveries"]["sent"] == 2
    again: list[int] = []
    assert campaign_send.finish_if_done(
        runtime.db, campaign_id, on_first_finish=lambda c, _: again.append(c.id)
    )
    assert again == []  # already finished: announced once only
