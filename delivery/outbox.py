"""The outbox backend: each message becomes an .eml file and its HTML part, plus an index.html.

For development and the demo: what would have gone to the provider is written
to disk exactly as an email client would receive it (`NAME.eml`), and its
HTML part beside it (`NAME.html`) so that a browser shows the email as sent.

Invariants:
- A file appears whole or not at all (written to a name of its own, then
  renamed); the .eml is renamed last, so an .eml always has its .html.
- One recipient whose copy cannot be built (an address that needs SMTPUTF8 is
  written as UTF-8, which the outbox can; a header with a line break cannot)
  fails alone, with its reason in the receipt; the batch goes on.
- The index grows by appending: each batch appends its rows to `index.rows`
  (one HTML table row per message) and rewrites `index.html` from those rows,
  never from the .eml files. Both happen under an exclusive `flock` on
  `.index.lock`, so threads and processes sharing the directory take turns,
  and the page is written to a unique temporary name and renamed into place.
- The index is a convenience: failing to update it is logged and never fails
  a batch whose messages were written.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import itertools
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path

from delivery.message import BatchReceipt, Envelope, Recipient
from delivery.mime import build_message, needs_smtputf8
from delivery.placeholders import FillTemplate
from delivery.sender import MAX_BATCH

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")
# Room for the stamp, pid and sequence in a 255-byte file name, with any address.
_ADDRESS_CHARS = 80
ROWS = "index.rows"
LOCK = ".index.lock"
INDEX = "index.html"


@dataclass(frozen=True)
class Entry:
    """What the index shows of one message written."""

    stem: str  # NAME of NAME.eml and NAME.html
    date: str
    to: str
    subject: str

    def row(self) -> str:
        """One table row on one line (escaped text holds no line break)."""
        cells = (
            html.escape(self.date),
            html.escape(self.to),
            f'<a href="{html.escape(self.stem)}.html">{html.escape(self.subject)}</a>',
            f'<a href="{html.escape(self.stem)}.eml">.eml</a>',
        )
        line = "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        return line.replace("\r", " ").replace("\n", " ") + "\n"


class OutboxSender:
    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        try:
            with self._index_lock():
                rows_path = self.directory / ROWS
                if not rows_path.exists():
                    _backfill(self.directory, rows_path)
        except OSError as exc:
            log.warning("outbox: index rows not recovered from %s: %s", self.directory, exc)

    def send_batch(self, envelope: Envelope, recipients: Sequence[Recipient]) -> BatchReceipt:
        if len(recipients) > MAX_BATCH:
            raise ValueError(f"batch of {len(recipients)} exceeds {MAX_BATCH}")
        subject_t = FillTemplate.compile(envelope.subject)
        text_t = FillTemplate.compile(envelope.text)
        html_t = FillTemplate.compile(envelope.html)
        batch_id = f"{time.time_ns():x}-{os.getpid()}"
        failed: dict[str, str] = {}
        entries: list[Entry] = []
        try:
            for index, recipient in enumerate(recipients):
                values = recipient.substitutions
                try:
                    parts = (subject_t.fill(values), text_t.fill(values), html_t.fill(values))
                    message = build_message(
                        envelope, recipient, parts, utf8=needs_smtputf8(recipient.email)
                    )
                    data = message.as_bytes()
                except Exception as exc:  # this recipient's copy only; see delivery/mime.py
                    failed[recipient.email] = f"outbox: not written: {exc}"[:2000]
                    continue
                try:
                    stem = self._write(data, parts[2], recipient.email)
                except OSError as exc:
                    # The disk, not the person (full, read-only): this one and the rest
                    # go back to the queue and are retried later.
                    log.warning("outbox: cannot write to %s: %s", self.directory, exc)
                    return BatchReceipt(
                        message_id=batch_id,
                        failed=failed,
                        not_sent=tuple(r.email for r in recipients[index:]),
                    )
                entries.append(
                    Entry(stem, str(message["Date"]), str(message["To"]), str(message["Subject"]))
                )
        finally:
            self._add_to_index(entries)
        return BatchReceipt(message_id=batch_id, failed=failed)

    def _write(self, message: bytes, body_html: str, email: str) -> str:
        with self._lock:
            seq = next(self._counter)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        stem = f"{stamp}-{os.getpid()}-{seq:06d}-{_UNSAFE.sub('_', email)[:_ADDRESS_CHARS]}"
        # A byte-order mark makes a browser read the page as UTF-8 whatever it declares.
        _write_whole(self.directory / f"{stem}.html", body_html.encode("utf-8-sig"))
        _write_whole(self.directory / f"{stem}.eml", message)
        return stem

    def _add_to_index(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        try:
            with self._index_lock():
                rows_path = self.directory / ROWS
                with rows_path.open("a", encoding="utf-8") as fh:
                    fh.write("".join(e.row() for e in entries))
                rows = rows_path.read_text(encoding="utf-8").splitlines()
                rows.reverse()  # newest first
                _write_whole(self.directory / INDEX, _page(rows).encode("utf-8"))
        except OSError as exc:
            log.warning("outbox: index not updated (the messages were written): %s", exc)

    @contextlib.contextmanager
    def _index_lock(self) -> Iterator[None]:
        # One open file per call: flock excludes other open files, in this
        # process's threads as well as in other processes.
        with (self.directory / LOCK).open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def close(self) -> None:
        pass


def _write_whole(path: Path, data: bytes) -> None:
    """Write to a temporary name of our own in the same directory, then rename:
    readers never see half a file, and no two writers share a temporary file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _backfill(directory: Path, rows_path: Path) -> None:
    """An outbox written before the index kept its rows: read its .eml headers once,
    when a sender first opens the directory (before it writes anything)."""
    parser = BytesHeaderParser()
    entries = []
    for path in sorted(directory.glob("*.eml")):
        with path.open("rb") as fh:
            headers = parser.parse(fh)
        entries.append(
            Entry(
                path.stem,
                str(headers.get("Date", "")),
                str(headers.get("To", "")),
                str(headers.get("Subject", "")),
            )
        )
    rows_path.write_text("".join(e.row() for e in entries), encoding="utf-8")


def _page(rows: Sequence[str]) -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>Broadsheet outbox</title>"
        f"<h1>Outbox</h1><p>{len(rows)} message(s), newest first. The subject opens the "
        "email's HTML part; .eml is the whole message, for a mail client.</p>"
        "<table><tr><th>Date</th><th>To</th><th>Subject</th><th>Message</th></tr>"
        + "".join(rows)
        + "</table>"
    )
