from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.runtime import Runtime
from db.models import Consent, Subscriber, SubscriberStatus, Subscription, Suppression
from subscribers.addresses import email_hash
from subscribers.links import confirm_token
from subscribers.service import ConsentInfo, add_subscriber
from subscribers.tokens import Purpose, make_token
from tests.support.mail import link, messages
from web.app import create_app


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"User-Agent": "TestAgent/1.0"}) as test_client:
        yield test_client


def _confirmed(runtime: Runtime, email: str = "reader@example.org") -> int:
    with runtime.db.session() as session:
        person = add_subscriber(session, email, ["videos"], ConsentInfo("api", "1"), confirmed=True)
        return person.id


def _status(runtime: Runtime, subscriber_id: int) -> SubscriberStatus:
    with runtime.db.session() as session:
        person = session.get(Subscriber, subscriber_id)
        assert person is not None
        return person.status


def test_the_subscribe_page_offers_every_list(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/")
    assert page.status_code == 200
    for mailing_list in runtime.site.lists:
        assert f'value="{mailing_list.slug}"' in page.text
        assert mailing_list.name in page.text
    assert '<label class="field" for="email">' in page.text


def test_subscribing_with_the_form_sends_a_confirmation_that_confirms(
    client: TestClient, runtime: Runtime
) -> None:
    answer = client.post(
        "/subscribe", data={"email": "Lena@Example.org", "lists": ["articles", "weekly"]}
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    [mail] = messages(runtime.settings.outbox_dir)
    assert mail["To"].addresses[0].addr_spec == "lena@example.org"
    confirm_url = link(mail, "/confirm/")
    with runtime.db.session() as session:
        person = session.scalars(select(Subscriber)).one()
        assert person.status is SubscriberStatus.pending
        consent = session.scalars(select(Consent)).one()
        assert consent.source == "form" and consent.user_agent == "TestAgent/1.0"
        assert consent.ip == "testclient"
        assert consent.consent_text_version == runtime.site.newsletter.consent_text_version
    page = client.get(confirm_url)
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    action = re.search(r'<form method="post" action="([^"]+)">', page.text)
    assert action is not None and confirm_url.endswith(action.group(1))
    done = client.post(action.group(1))
    assert done.status_code == 200 and "subscribed" in done.text
    with runtime.db.session() as session:
        person = session.scalars(select(Subscriber)).one()
        assert person.status is SubscriberStatus.confirmed
        assert session.scalars(select(Consent.confirmed_at)).one() is not None
        assert sorted(session.scalars(select(Subscription.list_slug))) == ["articles", "weekly"]


def test_the_answer_never_reveals_whether_an_address_is_known(
    client: TestClient, runtime: Runtime
) -> None:
    _confirmed(runtime, "known@example.org")
    with runtime.db.session() as session:
        session.add(Suppression(email_hash=email_hash("left@example.org"), reason="unsubscribed"))
    answers = [
        client.post("/subscribe", data={"email": address, "lists": ["videos"]})
        for address in ("known@example.org", "left@example.org", "new@example.org")
    ]
    assert len({(a.status_code, a.text) for a in answers}) == 1
    json_answers = [
        client.post("/subscribe", json={"email": address})
        for address in ("known@example.org", "left@example.org", "other@example.org")
    ]
    assert len({(a.status_code, a.text) for a in json_answers}) == 1
    # Only the new addresses were written to.
    sent_to = {m["To"].addresses[0].addr_spec for m in messages(runtime.settings.outbox_dir)}
    assert sent_to == {"new@example.org", "other@example.org"}


def test_a_bad_address_gets_one_clear_error(client: TestClient) -> None:
    page = client.post("/subscribe", data={"email": "not-an-address", "lists": ["videos"]})
    assert page.status_code == 400
    assert "@-sign" in page.text and 'value="not-an-address"' in page.text
    answer = client.post("/subscribe", json={"email": "x@", "lists": ["videos"]})
    assert answer.status_code == 400 and answer.json()["error"]
    assert client.post("/subscribe", json=["not", "an", "object"]).status_code == 400
    assert (
        client.post("/subscribe", json={"email": "a@example.org", "lists": "x"}).status_code == 400
    )


def test_a_second_request_does_not_send_a_second_confirmation_at_once(
    client: TestClient, runtime: Runtime
) -> None:
    for _ in range(3):
        assert client.post("/subscribe", json={"email": "once@example.org"}).status_code == 200
    assert len(messages(runtime.settings.outbox_dir)) == 1


def test_a_forged_or_wrong_purpose_confirm_link_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    forged = confirm_token("not-our-secret-key-0123456789abcdef", 1, "ab" * 32)
    assert client.get(f"/confirm/{forged}").status_code == 400
    assert client.post(f"/confirm/{forged}").status_code == 400
    wrong = make_token(runtime.settings.secret_key, Purpose.unsubscribe, [1, None])
    assert client.get(f"/confirm/{wrong}").status_code == 400
    assert client.post(f"/confirm/{wrong}").status_code == 400


def test_a_confirm_link_for_someone_erased_no_longer_works(
    client: TestClient, runtime: Runtime
) -> None:
    token = confirm_token(runtime.settings.secret_key, 999, "ab" * 32)
    page = client.post(f"/confirm/{token}")
    assert page.status_code == 404


def test_get_does_not_unsubscribe(client: TestClient, runtime: Runtime) -> None:
    sid = _confirmed(runtime)
    url = runtime.links.unsubscribe_url(sid, None)
    page = client.get(url)
    assert page.status_code == 200
    assert re.search(r'<form method="post" action="/unsubscribe/[^"]+">', page.text)
    assert _status(runtime, sid) is SubscriberStatus.confirmed


def test_one_click_post_unsubscribes_and_suppresses(client: TestClient, runtime: Runtime) -> None:
    sid = _confirmed(runtime)
    url = runtime.links.unsubscribe_url(sid, 12)
    # What a mail client sends for RFC 8058: no cookies, no CSRF token, just this body.
    answer = client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert _status(runtime, sid) is SubscriberStatus.unsubscribed
    with runtime.db.session() as session:
        assert session.get(Suppression, email_hash("reader@example.org")) is not None
    again = client.post(url, content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200


def test_a_forged_unsubscribe_link_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    sid = _confirmed(runtime)
    forged = make_token("not-our-secret-key-0123456789abcdef", Purpose.unsubscribe, [sid, None])
    assert client.post(f"/unsubscribe/{forged}").status_code == 400
    assert client.get(f"/unsubscribe/{forged}").status_code == 400
    assert _status(runtime, sid) is SubscriberStatus.confirmed


def test_preferences_can_be_changed(client: TestClient, runtime: Runtime) -> None:
    sid = _confirmed(runtime)
    url = runtime.links.preferences_url(sid)
    page = client.get(url)
    assert page.status_code == 200 and "reader@example.org" in page.text
    saved = client.post(
        url,
        data={
            "lists": ["weekly"],
            "cadence": "weekly",
            "timezone": "Asia/Tokyo",
            "country": "jp",
            "name": "Rei",
        },
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    with runtime.db.session() as session:
        person = session.get(Subscriber, sid)
        assert person is not None
        assert (person.cadence, person.timezone, person.country, person.name) == (
            "weekly",
            "Asia/Tokyo",
            "JP",
            "Rei",
        )
        assert list(session.scalars(select(Subscription.list_slug))) == ["weekly"]


def test_bad_preferences_are_shown_and_nothing_is_saved(
    client: TestClient, runtime: Runtime
) -> None:
    sid = _confirmed(runtime)
    url = runtime.links.preferences_url(sid)
    page = client.post(url, data={"cadence": "hourly", "timezone": "Nowhere/Land", "country": "1"})
    assert page.status_code == 400
    assert "unknown time zone" in page.text and "two-letter" in page.text
    with runtime.db.session() as session:
        person = session.get(Subscriber, sid)
        assert person is not None and person.cadence == "instant" and person.timezone is None


def test_the_preferences_page_can_unsubscribe_from_everything(
    client: TestClient, runtime: Runtime
) -> None:
    sid = _confirmed(runtime)
    page = client.get(runtime.links.preferences_url(sid))
    action = re.search(r'<form method="post" action="([^"]*/unsubscribe/[^"]+)">', page.text)
    assert action
    assert client.post(action.group(1), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert _status(runtime, sid) is SubscriberStatus.unsubscribed
    assert client.get(runtime.links.preferences_url(sid)).status_code == 404


def test_a_preferences_token_cannot_unsubscribe(client: TestClient, runtime: Runtime) -> None:
    sid = _confirmed(runtime)
    token = runtime.links.preferences_url(sid).rsplit("/", 1)[1]
    assert client.post(f"/unsubscribe/{token}").status_code == 400
    assert _status(runtime, sid) is SubscriberStatus.confirmed


def test_too_many_sign_ups_from_one_address_get_a_clear_429(
    client: TestClient, runtime: Runtime
) -> None:
    limit = runtime.settings.subscribe_rate_limit
    for n in range(limit):
        assert client.post("/subscribe", json={"email": f"r{n}@example.org"}).status_code == 200
    refused = client.post("/subscribe", json={"email": "one-more@example.org"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many" in refused.json()["error"]
    page = client.post("/subscribe", data={"email": "form@example.org"})
    assert page.status_code == 429 and "Slow down" in page.text


def test_the_rate_limit_uses_redis_when_configured(runtime: Runtime, redis_url: str) -> None:
    settings = runtime.settings.model_copy(
        update={"redis_url": redis_url, "subscribe_rate_limit": 2}
    )
    shared = Runtime(settings)
    shared.__dict__["db"] = runtime.db
    # Two apps stand for two web processes: the count is shared through Redis.
    first, second = TestClient(create_app(shared)), TestClient(create_app(shared))
    assert first.post("/subscribe", json={"email": "a@example.org"}).status_code == 200
    assert second.post("/subscribe", json={"email": "b@example.org"}).status_code == 200
    assert first.post("/subscribe", json={"email": "c@example.org"}).status_code == 429
    assert second.post("/subscribe", json={"email": "d@example.org"}).status_code == 429


def test_the_rate_limit_can_be_turned_off(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"subscribe_rate_limit": 0})
    unlimited = Runtime(settings)
    unlimited.__dict__["db"] = runtime.db
    client = TestClient(create_app(unlimited))
    codes = {
        client.post("/subscribe", json={"email": f"u{n}@example.org"}).status_code
        for n in range(15)
    }
    assert codes == {200}


def test_with_a_broker_the_confirmation_is_queued_as_a_task_after_the_response(
    runtime: Runtime, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.app import celery_app, make_celery
    from tasks.publisher import Publisher
    from tests.tasks.test_publisher import queued_calls

    broker = make_celery(runtime.settings.model_copy(update={"redis_url": redis_url}))

    @broker.task(name="tasks.subscribers.send_confirmation")
    def send_confirmation(subscriber_id: int) -> None: ...

    publisher = Publisher(send_confirmation)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr("web.public.confirmation_publisher", publisher)
    client = TestClient(create_app(runtime))
    for _ in range(2):  # the second request is within the resend window: no second task
        assert client.post("/subscribe", json={"email": "queued@example.org"}).status_code == 200
    publisher.close()
    with runtime.db.session() as session:
        person = session.scalars(select(Subscriber)).one()
    assert queued_calls(redis_url) == [("tasks.subscribers.send_confirmation", f"({person.id},)")]
    assert messages(runtime.settings.outbox_dir) == []  # a worker's job, not this process's


def test_opening_a_confirmation_link_confirms_nothing_until_the_button_is_pressed(
    client: TestClient, runtime: Runtime
) -> None:
    """Mail gateways' link scanners GET every link (and follow what it links to)."""
    assert client.post("/subscribe", data={"email": "scan@example.org"}).status_code == 200
    [mail] = messages(runtime.settings.outbox_dir)
    confirm_url = link(mail, "/confirm/")
    for _ in range(3):
        page = client.get(confirm_url)
        assert page.status_code == 200
        assert re.search(r'<form method="post" action="/confirm/[^"]+">', page.text)
    with runtime.db.session() as session:
        person = session.scalars(select(Subscriber)).one()
        assert person.status is SubscriberStatus.pending
        assert session.scalars(select(Consent.confirmed_at)).one() is None
    assert client.post(confirm_url).status_code == 200
    with runtime.db.session() as session:
        assert session.scalars(select(Subscriber.status)).one() is SubscriberStatus.confirmed


def test_the_unsubscribe_page_says_what_is_kept_and_it_is_kept(
    client: TestClient, runtime: Runtime
) -> None:
    sid = _confirmed(runtime, "keep@example.org")
    page = client.get(runtime.links.unsubscribe_url(sid, None))
    assert "keep your address, marked\nas unsubscribed" in page.text
    done = client.post(runtime.links.unsubscribe_url(sid, None), data={"erase": ""})
    assert "We keep your address, marked as unsubscribed" in done.text
    with runtime.db.session() as session:
        person = session.get(Subscriber, sid)
        assert person is not None and person.email == "keep@example.org"
        assert person.status is SubscriberStatus.unsubscribed
        assert session.scalars(select(Consent)).all() != []


def test_unsubscribing_with_erase_leaves_only_the_scrambled_address(
    client: TestClient, runtime: Runtime
) -> None:
    sid = _confirmed(runtime, "forget@example.org")
    done = client.post(runtime.links.unsubscribe_url(sid, None), data={"erase": "1"})
    assert done.status_code == 200
    assert "We keep only a scrambled form" in done.text
    with runtime.db.session() as session:
        assert session.get(Subscriber, sid) is None
        assert session.scalars(select(Consent)).all() == []
        assert session.scalars(select(Subscription)).all() == []
        kept = session.get(Suppression, email_hash("forget@example.org"))
        assert kept is not None and kept.reason == "unsubscribed"
    # A mail client's one-click POST afterwards still succeeds and keeps nothing.
    again = client.post(
        runtime.links.unsubscribe_url(sid, None), content=b"List-Unsubscribe=One-Click"
    )
    assert again.status_code == 200 and "We keep only a scrambled form" in again.text


def test_an_erased_persons_old_links_do_not_reach_the_next_subscriber(
    client: TestClient, runtime: Runtime
) -> None:
    """SQLite handed an erased newest id to the next sign-up; the old links then controlled it."""
    from subscribers.erasure import erase

    old = _confirmed(runtime, "first@example.org")
    unsubscribe_url = runtime.links.unsubscribe_url(old, 3)
    preferences_url = runtime.links.preferences_url(old)
    with runtime.db.session() as session:
        erase(session, "first@example.org")
    new = _confirmed(runtime, "second@example.org")
    assert new != old
    page = client.get(preferences_url)
    assert page.status_code == 404 and "second@example.org" not in page.text
    changed = client.post(preferences_url, data={"lists": ["weekly"], "cadence": "weekly"})
    assert changed.status_code == 404
    assert client.post(unsubscribe_url, content=b"List-Unsubscribe=One-Click").status_code == 200
    assert _status(runtime, new) is SubscriberStatus.confirmed
    with runtime.db.session() as session:
        assert session.scalars(select(Subscription.list_slug)).all() == ["videos"]


def test_a_non_ascii_mailbox_name_is_refused_at_sign_up_with_the_reason(
    client: TestClient, runtime: Runtime
) -> None:
    """Building its message raised deep in the send; no backend we use delivers it."""
    form = client.post("/subscribe", data={"email": "jos\u00e9@example.org"})
    assert form.status_code == 400 and "plain ASCII" in form.text
    api = client.post("/subscribe", json={"email": "jos\u00e9@example.org"})
    assert api.status_code == 400 and "plain ASCII" in api.json()["error"]
    with runtime.db.session() as session:
        assert session.scalars(select(Subscriber)).all() == []
    assert messages(runtime.settings.outbox_dir) == []


def test_one_click_unsubscribe_works_whatever_body_the_mail_client_sends(
    client: TestClient, runtime: Runtime
) -> None:
    bodies = [
        (b"", None),
        (
            b'--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
        (b"--b\r\ngarbage", "multipart/form-data; boundary=b"),
        (b"One-Click", "multipart/form-data"),  # no boundary
        (
            b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
        (b"List-Unsubscribe=One-Click", "text/plain"),
    ]
    for n, (body, content_type) in enumerate(bodies):
        sid = _confirmed(runtime, f"client{n}@example.org")
        headers = {"Content-Type": content_type} if content_type else {}
        answer = client.post(runtime.links.unsubscribe_url(sid, 1), content=body, headers=headers)
        assert answer.status_code == 200, (n, answer.text)
        assert _status(runtime, sid) is SubscriberStatus.unsubscribed
