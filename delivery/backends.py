"""Choose the MailSender named by MAIL_BACKEND."""

from __future__ import annotations

from config.settings import Settings
from delivery.outbox import OutboxSender
from delivery.sender import MailSender


def make_sender(settings: Settings) -> MailSender:
    if settings.mail_backend == "outbox":
        return OutboxSender(settings.outbox_dir)
    raise NotImplementedError(
        f"MAIL_BACKEND={settings.mail_backend} arrives with the delivery issue"
    )
