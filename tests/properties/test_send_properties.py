"""Property: whatever addresses the database holds, a send gives each recipient exactly one
message or records them as refused with a reason: never both, never neither.

Addresses are written straight into the database (as older versions let them in):
non-ASCII local parts and domains, local parts far past 64 characters, quoted local
parts with spaces and "@", names with line breaks. They go through the real send
steps (delivery/campaign_send.py) into the outbox and to a real SMTP server
(aiosmtpd) that offers SMTPUTF8 and one that does not.
"""

from __future__ import annotations

import email
import string
import tempfile
from collections import Counter
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from campaigns.compose import create_campaign
from config.resources import SITE_EXAMPLE
from config.site import SiteConfig, load_site
from db.engine import Database
from db.migrate import upgrade
from db.models import Base, Delivery, DeliveryStatus, Subscriber
from delivery import campaign_send
from delivery.outbox import OutboxSender
from delivery.personalize import LinkMaker
from delivery.sender import MailSender
from delivery.smtp import SmtpSender
from tests.support.seed import seed_addresses
from tests.support.smtp_server import SmtpServer

LINKS = LinkMaker(base_url="http://testserver", secret_key="test-secret-key-0123456789abcdef")


def canonical(address: str) -> tuple[str, str]:
    """An address as (local part without quoting, domain): a quoted local part that
    needs no quotes may come back unquoted."""
    local, _, host = address.rpartition("@")
    if len(local) >= 2 and local[0] == local[-1] == '"':
        local = local[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return local, host.lower()


_atom = st.text(string.ascii_lowercase + string.digits + "-_+", min_size=1, max_size=10)
_wide_atom = st.text("abcéüñøßжд日本語ό", min_size=1, max_size=10)
plain_local = st.lists(_atom, min_size=1, max_size=3).map(".".join)
non_ascii_local = (
    st.lists(_wide_atom | _atom, min_size=1, max_size=3)
    .map(".".join)
    .filter(lambda s: not s.isascii())
)
long_local = st.text(string.ascii_lowercase, min_size=65, max_size=700)
_quotable = string.ascii_letters + string.digits + " @,.:;()<>[]é"
quoted_local = st.text(_quotable, min_size=1, max_size=16).map(lambda s: f'"{s}"')
local_part = st.one_of(plain_local, non_ascii_local, long_local, quoted_local)
domain = st.sampled_from(["example.org", "post.example.net", "bücher.example"])
name = st.sampled_from([None, "Ana María", "O'Brien, Jr.", "Line\nBreak", "日本 太郎"])
people = st.lists(
    st.tuples(st.tuples(local_part, domain).map("@".join), name),
    min_size=1,
    max_size=8,
    # `"ab"@x` and `ab@x` are one mailbox: one subscriber each.
    unique_by=lambda p: tuple(x.lower() for x in canonical(p[0])),
)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path_factory.mktemp('send-properties') / 'broadsheet.db'}"
    db = Database.from_url(url)
    upgrade(db.engine)
    yield db
    db.engine.dispose()


@pytest.fixture(scope="module")
def site() -> SiteConfig:
    return load_site(SITE_EXAMPLE)


@pytest.fixture(scope="module", params=["outbox", "smtp-smtputf8", "smtp-ascii-only"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


@pytest.fixture(scope="module")
def smtp(backend: str) -> Iterator[SmtpServer | None]:
    if not backend.startswith("smtp"):
        yield None
        return
    server = SmtpServer(smtputf8=backend == "smtp-smtputf8").start()
    yield server
    server.stop()


def _empty(db: Database) -> None:
    with db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


def _received(backend: str, outbox: Path, smtp: SmtpServer | None) -> Counter[tuple[str, str]]:
    """How many messages reached each address (canonical form)."""
    if smtp is not None:
        with smtp.recorder.lock:
            envelopes = list(smtp.recorder.envelopes)
            raw = list(smtp.recorder.raw)
        for (_, rcpts), data in zip(envelopes, raw, strict=True):
            # The header names the mailbox the envelope went to.
            assert [_header_to(data)] == [canonical(r) for r in rcpts]
        return Counter(canonical(rcpt) for _, rcpts in envelopes for rcpt in rcpts)
    return Counter(_header_to(path.read_bytes()) for path in outbox.glob("*.eml"))


def _header_to(data: bytes) -> tuple[str, str]:
    """The To mailbox of a message, as (local part, domain); the parser unquotes."""
    text = data.decode("utf-8")  # UTF-8 headers on an SMTPUTF8 copy
    message = email.message_from_string(text, policy=policy.default)
    [to] = message["To"].addresses
    return to.username, to.domain.lower()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=people)
def test_each_recipient_gets_one_message_or_a_recorded_refusal_never_both_never_neither(
    database: Database,
    site: SiteConfig,
    backend: str,
    smtp: SmtpServer | None,
    people: list[tuple[str, str | None]],
) -> None:
    _empty(database)
    if smtp is not None:
        with smtp.recorder.lock:
            smtp.recorder.messages.clear()
            smtp.recorder.envelopes.clear()
            smtp.recorder.raw.clear()
    seed_addresses(database, people)
    with database.session() as session:
        campaign_id = create_campaign(
            session, site, lists=["videos"], subject="Notes", intro="A short note."
        ).id
    with tempfile.TemporaryDirectory() as directory:
        outbox = Path(directory)
        sender: MailSender = SmtpSender(smtp.url()) if smtp is not None else OutboxSender(outbox)
        campaign_send.send_inline(database, site, sender, LINKS, campaign_id)
        received = _received(backend, outbox, smtp)
    with database.session() as session:
        rows = session.execute(
            select(Subscriber.email, Delivery.status, Delivery.error)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == campaign_id)
        ).all()
    assert len(rows) == len(people)
    for address, status, error in rows:
        got = received.pop(canonical(address), 0)
        event(f"{backend}: {status.value}")  # shown by --hypothesis-show-statistics
        if status is DeliveryStatus.sent:
            assert got == 1, f"{address!r} is sent in the ledger but received {got}"
        else:
            assert status is DeliveryStatus.failed, f"{address!r} is {status.value}"
            assert error, f"{address!r} was refused without a reason"
            assert got == 0, f"{address!r} was refused ({error}) but received {got}"
    assert not received, f"messages to addresses nobody has: {received}"
    assert campaign_send.progress(database, campaign_id).status == "sent"
