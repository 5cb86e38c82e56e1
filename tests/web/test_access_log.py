"""Access log lines carry neither signed tokens nor client addresses."""

from __future__ import annotations

import logging

from web.access_log import RedactAccessLog, redact_path


def access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.9:51234", "POST", path, "1.1", 200),
        None,
    )


def test_token_paths_are_redacted_in_the_access_log() -> None:
    for route in ("confirm", "unsubscribe", "preferences", "r"):
        record = access_record(f"/{route}/eyJzZWNyZXQiOjF9.Zx.abc?utm=1")
        assert RedactAccessLog().filter(record)
        line = record.getMessage()
        assert "eyJzZWNyZXQiOjF9" not in line
        assert f"/{route}/…?utm=1" in line
        assert "203.0.113.9" not in line


def test_other_paths_are_logged_as_they_are() -> None:
    assert redact_path("/subscribe") == "/subscribe"
    assert redact_path("/archive/12") == "/archive/12"
    assert redact_path("/reports/x") == "/reports/x"


def test_admin_query_strings_with_addresses_are_blanked() -> None:
    assert redact_path("/admin/subscribers?q=ada%40example.org") == "/admin/subscribers?…"
    assert redact_path("/admin/campaigns/3?as=ada@example.org") == "/admin/campaigns/3?…"
    assert redact_path("/api/campaigns/3/preview?as=ada@example.org") == (
        "/api/campaigns/3/preview?…"
    )
    assert redact_path("/admin/subscribers/12") == "/admin/subscribers/12"
    assert redact_path("/administrator?x=1") == "/administrator?x=1"
