"""One recipient's copy as an RFC 5322 message, shared by the outbox and SMTP backends.

Why a module of its own: the headers we write must be valid on the wire, and
the standard library's defaults are not enough for two of them.

- A long header value without spaces (`List-Unsubscribe: <https://...>`) is
  folded by `email.policy.SMTP` into RFC 2047 encoded words, which mail
  providers do not decode for one-click unsubscribe. Headers that are printable
  ASCII are therefore stored raw (`set_raw`) under a policy that never refolds
  raw values (`refold_source="none"`), folded here only at spaces.
- Non-ASCII header text is encoded with `email.header.Header`, whose encoded
  words carry their own spaces: the header classes' folding drops the space
  between two encoded words ("Héllo wörld" came back as "Héllowörld").
- An address whose local part is not ASCII (`josé@example.com`) cannot be
  written without SMTPUTF8 (RFC 6531): `build_message(..., utf8=True)` writes
  the UTF-8 address as is, and without it such an address is refused with an
  `BuildError` naming the reason, which the backend records for that
  recipient alone.

Invariants: `build_message` either returns a message whose every header
round-trips through `email.parser.BytesParser(policy=email.policy.default)`,
or raises `BuildError` (a `ValueError`); it has no side effects, so a
failure concerns one recipient only.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError, MessageError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from delivery.message import Envelope, Recipient

# Headers built by the header classes (Subject, From, To) fold at 78 columns and
# encode non-ASCII text as RFC 2047 requires; raw ASCII headers are left alone.
ASCII_POLICY = SMTP.clone(refold_source="none")
# RFC 6531: addresses and headers in UTF-8, for servers that offer SMTPUTF8.
UTF8_POLICY = ASCII_POLICY.clone(utf8=True)

FOLD_AT = 78  # RFC 5322's recommended line length
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_QUOTED_PAIR = re.compile(r"\\(.)")


class BuildError(ValueError):
    """This recipient's copy cannot be written (address, header); the text says why."""


def needs_smtputf8(address: str) -> bool:
    """An address with any non-ASCII character can only travel over SMTPUTF8."""
    return not address.isascii()


def mailbox(name: str | None, email: str, *, utf8: bool) -> Address:
    """`email` as a header address, or BuildError with the reason it cannot be one."""
    if needs_smtputf8(email) and not utf8:
        raise BuildError(f"address {email!r} is not ASCII and this path has no SMTPUTF8")
    try:
        if utf8:
            # Address(addr_spec=...) refuses a non-ASCII local part even where
            # SMTPUTF8 allows it; split it ourselves (the domain holds no "@").
            local, at, domain = email.rpartition("@")
            if not (local and at and domain):
                raise BuildError(f"address {email!r} has no local part or domain")
            if len(local) >= 2 and local[0] == local[-1] == '"':
                # Address quotes the local part again where it needs quotes.
                local = _QUOTED_PAIR.sub(r"\1", local[1:-1])
            return Address(name or "", username=local, domain=domain)
        return Address(name or "", addr_spec=email)
    except (HeaderParseError, MessageError, IndexError) as exc:
        raise BuildError(f"address {email!r} is not valid: {exc}") from exc


def build_message(
    envelope: Envelope,
    recipient: Recipient,
    parts: tuple[str, str, str],
    *,
    utf8: bool = False,
) -> EmailMessage:
    """A multipart/alternative message with the text part first, as RFC 2046 asks."""
    subject, text, body_html = parts
    msg = EmailMessage(policy=UTF8_POLICY if utf8 else ASCII_POLICY)
    try:
        msg["From"] = mailbox(envelope.from_name, envelope.from_email, utf8=utf8)
        msg["To"] = mailbox(recipient.name, recipient.email, utf8=utf8)
        set_header(msg, "Subject", subject, utf8=utf8)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=envelope.from_email.rpartition("@")[2])
        if envelope.reply_to:
            msg["Reply-To"] = envelope.reply_to
        for name, value in {**envelope.headers, **recipient.headers}.items():
            set_header(msg, name, value, utf8=utf8)
        msg.set_content(text, subtype="plain", charset="utf-8")
        msg.add_alternative(body_html, subtype="html", charset="utf-8")
    except BuildError:
        raise
    except (ValueError, MessageError, IndexError) as exc:
        # A name with a line break, a malformed header: this recipient's copy only.
        raise BuildError(f"cannot build the message for {recipient.email!r}: {exc}") from exc
    return msg


def set_header(msg: EmailMessage, name: str, value: str, *, utf8: bool) -> None:
    """Printable ASCII goes in raw, folded at spaces; other text is encoded (RFC 2047),
    or written as UTF-8 on an SMTPUTF8 message. A line break in a value is refused:
    it would start a header of the value's choosing."""
    if "\r" in value or "\n" in value:
        raise BuildError(f"header {name} holds a line break")
    if _PRINTABLE_ASCII.fullmatch(value):
        msg.set_raw(name, fold_at_spaces(name, value))
    elif utf8:
        msg[name] = value
    else:
        msg.set_raw(name, Header(value, "utf-8", header_name=name).encode(linesep="\n"))


def fold_at_spaces(name: str, value: str, width: int = FOLD_AT) -> str:
    """`value` with line breaks before spaces so lines stay within `width` where they can.

    A single word longer than the line (a long URL) stays whole: RFC 5322 allows
    998 characters, and splitting or encoding it would break the header.
    """
    lines: list[str] = []
    line = f"{name}:"
    for word in value.split(" "):
        if line != f"{name}:" and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    lines.append(line)
    # The first line carries the header name, which `set_raw` adds back itself.
    lines[0] = lines[0][len(name) + 2 :]
    return "\n".join(lines)
