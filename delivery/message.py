"""What a sender is given: one envelope rendered once, and many recipients."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Envelope:
    """The edition as rendered once; subject/html/text may hold placeholders."""

    subject: str
    html: str
    text: str
    from_email: str
    from_name: str | None = None
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    custom_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipient:
    """One person in a batch and the values that make their copy theirs."""

    email: str
    name: str | None = None
    substitutions: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    custom_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchReceipt:
    """The provider took the batch; recipients named below are the exceptions.

    Batch APIs (SendGrid) accept or refuse a whole request, so these stay empty.
    SMTP sends one message per recipient over one connection and can fail part
    way: a refused address is `failed`, the message in flight when the
    connection broke is `uncertain`, and the ones after it are `not_sent`.
    """

    message_id: str | None = None
    failed: dict[str, str] = field(default_factory=dict)
    uncertain: dict[str, str] = field(default_factory=dict)
    not_sent: tuple[str, ...] = ()


class SendError(Exception):
    """Base of sender failures; `str(exc)` is the provider's message."""


class PermanentSendError(SendError):
    """The provider refused the batch (bad request, auth, too large): never retry."""


class TransientSendError(SendError):
    """Nothing was sent (throttled, 5xx, refused connection): safe to retry."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UncertainSendError(SendError):
    """The provider may or may not have accepted the batch (timeout mid-call)."""
