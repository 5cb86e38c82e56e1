"""Mail senders (outbox, SMTP, SendGrid), placeholder filling and the delivery ledger."""
