"""Choose the MailSender named by MAIL_BACKEND."""

from __future__ import annotations

from config.settings import Settings
from delivery.outbox import OutboxSender
from delivery.sender import MailSender
from delivery.sendgrid import SendGridSender, sendgrid_timeout
from delivery.smtp import SmtpSender


def make_sender(settings: Settings) -> MailSender:
    if settings.mail_backend == "sendgrid":
        # Settings refuse MAIL_BACKEND=sendgrid without a key; the check keeps mypy honest.
        if not settings.sendgrid_api_key:
            raise ValueError("MAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
        return SendGridSender(
            settings.sendgrid_api_key,
            settings.sendgrid_api_host,
            timeout=sendgrid_timeout(settings.sendgrid_timeout_seconds),
        )
    if settings.mail_backend == "smtp":
        if not settings.smtp_url:
            raise ValueError("MAIL_BACKEND=smtp needs SMTP_URL")
        return SmtpSender(settings.smtp_url)
    return OutboxSender(settings.outbox_dir)
