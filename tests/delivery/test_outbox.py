from __future__ import annotations

import email
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from email import policy
from pathlib import Path

from delivery.message import Envelope, Recipient
from delivery.outbox import OutboxSender
from delivery.personalize import list_unsubscribe_headers
from delivery.placeholders import placeholder
from delivery.sender import MailSender


def envelope() -> Envelope:
    return Envelope(
        subject="Hello",
        html=f"<p>Hi</p><a href='{placeholder('unsubscribe_url')}'>Unsubscribe</a>",
        text=f"Hi\nUnsubscribe: {placeholder('unsubscribe_url')}\n",
        from_email="letters@example.com",
        from_name="Letters",
    )


def recipient(n: int, email: str | None = None, name: str | None = None) -> Recipient:
    url = f"https://example.com/unsubscribe/tok{n}"
    return Recipient(
        email=email or f"person{n}@example.org",
        name=name,
        substitutions={"unsubscribe_url": url},
        headers=list_unsubscribe_headers(url),
    )


def read(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[return-value]


def test_outbox_is_a_mail_sender(tmp_path: Path) -> None:
    assert isinstance(OutboxSender(tmp_path), MailSender)


def test_each_recipient_gets_a_multipart_alternative_eml(tmp_path: Path) -> None:
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(1), recipient(2)])
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    msg = read(files[0])
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["List-Unsubscribe"] == "<https://example.com/unsubscribe/tok1>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_placeholders_are_filled_per_recipient(tmp_path: Path) -> None:
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(1), recipient(2)])
    for n, path in enumerate(sorted(tmp_path.glob("*.eml")), start=1):
        msg = read(path)
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"tok{n}" in text and f"tok{n}" in html
        assert "[%" not in text + html


def test_index_lists_every_message(tmp_path: Path) -> None:
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(1), recipient(2), recipient(3)])
    index = (tmp_path / "index.html").read_text()
    assert index.count('.eml">') == 3
    assert "person3@example.org" in index


def test_a_non_ascii_address_is_written_as_utf8_and_the_batch_goes_on(tmp_path: Path) -> None:
    people = [recipient(1), recipient(3, "josé@example.org"), recipient(2)]
    receipt = OutboxSender(tmp_path).send_batch(envelope(), people)
    assert receipt.failed == {}
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 3
    raw = files[1].read_bytes()
    assert "To: josé@example.org".encode() in raw  # RFC 6531: the address as written


def test_a_copy_that_cannot_be_built_fails_alone_with_its_reason(tmp_path: Path) -> None:
    people = [recipient(1), recipient(3, "r@example.org", "Line\nBreak"), recipient(2)]
    receipt = OutboxSender(tmp_path).send_batch(envelope(), people)
    assert list(receipt.failed) == ["r@example.org"]
    assert receipt.failed["r@example.org"].startswith("outbox: not written:")
    assert sorted(read(p)["To"].addresses[0].addr_spec for p in tmp_path.glob("*.eml")) == [
        "person1@example.org",
        "person2@example.org",
    ]


def test_a_very_long_address_is_written_under_a_short_file_name(tmp_path: Path) -> None:
    long = recipient(1, f"{'x' * 240}@{'y' * 60}.example.org")
    receipt = OutboxSender(tmp_path).send_batch(envelope(), [long])
    assert receipt.failed == {}
    [path] = tmp_path.glob("*.eml")
    assert read(path)["To"].addresses[0].addr_spec == long.email
    assert len(path.name.encode()) < 255


def _links(index: Path) -> list[str]:
    return re.findall(r'href="([^"]+)"', index.read_text(encoding="utf-8"))


def test_concurrent_batches_lose_no_message_and_list_each_once(tmp_path: Path) -> None:
    # Eight threads of one worker share a sender; a second sender stands for another
    # process (the web's confirmations) writing to the same directory.
    senders = [OutboxSender(tmp_path), OutboxSender(tmp_path)]
    barrier = threading.Barrier(8)

    def work(thread: int) -> list[dict[str, str]]:
        barrier.wait()
        sender = senders[thread % 2]
        people = [recipient(thread * 1000 + n) for n in range(3)]
        return [sender.send_batch(envelope(), people).failed for _ in range(15)]

    with ThreadPoolExecutor(8) as pool:
        results = [f for batch in pool.map(work, range(8)) for f in batch]
    assert results == [{}] * 120
    eml = {p.name for p in tmp_path.glob("*.eml")}
    assert len(eml) == 8 * 15 * 3
    links = _links(tmp_path / "index.html")
    assert sorted(x for x in links if x.endswith(".eml")) == sorted(eml)
    assert len(links) == len(set(links)) == 2 * len(eml)
    assert not list(tmp_path.glob("*.tmp"))


def test_the_index_grows_from_its_rows_without_rereading_every_message(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path)
    sender.send_batch(envelope(), [recipient(1)])
    [first] = tmp_path.glob("*.eml")
    first.write_bytes(b"Subject: not read again\r\n\r\n")
    sender.send_batch(envelope(), [recipient(2)])
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "not read again" not in index
    assert index.count(">Hello</a>") == 2


def test_the_index_opens_each_messages_html_part_and_keeps_the_eml(tmp_path: Path) -> None:
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(1), recipient(2)])
    links = _links(tmp_path / "index.html")
    pages = [x for x in links if x.endswith(".html")]
    assert len(pages) == 2 and len([x for x in links if x.endswith(".eml")]) == 2
    for page in pages:
        eml = read(tmp_path / page.replace(".html", ".eml"))
        part = eml.get_body(("html",)).get_content()  # type: ignore[union-attr]
        # As a browser reads it: the byte-order mark says UTF-8.
        assert (tmp_path / page).read_text(encoding="utf-8-sig") == part.rstrip("\r\n")
        assert "tok" in part


def test_an_outbox_from_before_the_index_rows_keeps_its_messages_listed(tmp_path: Path) -> None:
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(1), recipient(2)])
    (tmp_path / "index.rows").unlink()  # as an outbox written by an older version
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(3)])
    links = _links(tmp_path / "index.html")
    assert len([x for x in links if x.endswith(".eml")]) == 3
