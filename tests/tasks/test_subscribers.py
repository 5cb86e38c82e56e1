from __future__ import annotations

from sqlalchemy import select

from config.runtime import Runtime
from db.models import Subscriber, SubscriberStatus
from subscribers.links import read_confirm_token
from subscribers.service import ConsentInfo, add_subscriber, suppress
from tasks.subscribers import send_confirmation
from tests.support.mail import link, messages


def _pending(runtime: Runtime, email: str) -> int:
    with runtime.db.session() as session:
        return add_subscriber(session, email, ["videos"], ConsentInfo("api", "1")).id


def test_the_confirmation_email_carries_a_link_for_this_person(runtime: Runtime) -> None:
    sid = _pending(runtime, "ola@example.org")
    assert send_confirmation(sid) is True
    [mail] = messages(runtime.settings.outbox_dir)
    assert mail["To"].addresses[0].addr_spec == "ola@example.org"
    assert mail["Subject"] == f"Confirm your subscription to {runtime.site.newsletter.name}"
    assert mail.get_body(("html",)) is not None
    url = link(mail, "/confirm/")
    assert url.startswith(f"{runtime.base_url}/confirm/")
    subscriber_id, prefix = read_confirm_token(runtime.settings.secret_key, url.rsplit("/", 1)[1])
    with runtime.db.session() as session:
        person = session.scalars(select(Subscriber)).one()
    assert subscriber_id == person.id and person.email_hash.startswith(prefix)


def test_no_confirmation_goes_to_someone_confirmed_or_suppressed_meanwhile(
    runtime: Runtime,
) -> None:
    confirmed = _pending(runtime, "pia@example.org")
    gone = _pending(runtime, "quin@example.org")
    with runtime.db.session() as session:
        person = session.get(Subscriber, confirmed)
        assert person is not None
        person.status = SubscriberStatus.confirmed
        left = session.get(Subscriber, gone)
        assert left is not None
        suppress(session, left.email_hash, "complained")
    assert send_confirmation(confirmed) is False
    assert send_confirmation(gone) is False
    assert send_confirmation(123456) is False
    assert messages(runtime.settings.outbox_dir) == []
