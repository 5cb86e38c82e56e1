"""Access log lines without secrets or personal data.

The links people click carry signed tokens (`/confirm/{token}`,
`/unsubscribe/{token}`, `/preferences/{token}`, `/r/{token}`, and the sponsor
desk's `/sponsor/intake/{token}`, `/sponsor/report/{token}`): anyone who
reads a log line with one can act as that subscriber or sponsor. The client address is
personal data, which Broadsheet keeps only in consent records. The admin's
query strings carry subscribers' addresses and names (searches, "preview as"),
so under /admin and /api the query is blanked too. uvicorn's access logger gets
a filter that blanks all of these before any handler sees them.
"""

from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(
    r"^(/(?:confirm|unsubscribe|preferences|r|sponsor/intake|sponsor/report))/[^/?#]+"
)
ADMIN_QUERY = re.compile(r"^(/(?:admin|api)(?:/[^?#]*)?)\?.*$")
REDACTED = "…"


class RedactAccessLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: (client address, method, path with query, HTTP version, status)
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _client, method, path, version, status = args
            record.args = (REDACTED, method, redact_path(str(path)), version, status)
        return True


def redact_path(path: str) -> str:
    path = ADMIN_QUERY.sub(rf"\1?{REDACTED}", path)
    return TOKEN_PATH.sub(rf"\1/{REDACTED}", path)


def install() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in logger.filters):
        logger.addFilter(RedactAccessLog())
