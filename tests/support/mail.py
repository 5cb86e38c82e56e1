"""Reading what the outbox backend wrote, as a person's mail client would."""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path


def messages(outbox: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link(message: EmailMessage, path: str) -> str:
    """The first link in the text part whose path starts with `path` (e.g. "/confirm/")."""
    match = re.search(rf"https?://[^\s/]+{re.escape(path)}[A-Za-z0-9._-]+", text_of(message))
    assert match, f"no {path} link in:\n{text_of(message)}"
    return match.group(0)
