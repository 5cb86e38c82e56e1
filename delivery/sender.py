"""The MailSender protocol: every backend takes one envelope and a batch of recipients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from delivery.message import BatchReceipt, Envelope, Recipient

# SendGrid's limit on personalizations per request; other backends share it so
# that a batch means the same thing everywhere.
MAX_BATCH = 1000


@runtime_checkable
class MailSender(Protocol):
    name: str

    def send_batch(self, envelope: Envelope, recipients: Sequence[Recipient]) -> BatchReceipt:
        """Deliver one copy per recipient or raise a SendError subclass."""
        ...

    def close(self) -> None: ...
