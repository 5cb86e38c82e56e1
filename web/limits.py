"""Request body caps, enforced while the body streams in, before anything parses it.

Without a cap, a public route that reads its body (`await request.json()`,
`request.form()`, `request.body()`) holds all of it in memory: one 100 MB
POST to /subscribe took a web process from 176 MB to over 1.2 GB. This ASGI
middleware sits in front of every route and counts the bytes of the
`http.request` messages it passes on; past the route's cap it answers 413
itself and stops reading, so uvicorn's flow control stops reading the socket.

Invariants:
- a declared `Content-Length` above the cap is refused before the app runs;
- a streamed (chunked) body is refused as soon as the count passes the cap;
  the app never sees more than `cap` bytes;
- after the 413 nothing the app sends reaches the client (one response).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KIB, MIB = 1024, 1024 * 1024
# Public forms and JSON are a few hundred bytes; 64 KiB leaves room for any honest one.
PUBLIC_BODY_MAX = 64 * KIB
# SendGrid posts up to a few thousand events per request.
WEBHOOK_BODY_MAX = 10 * MIB
ADMIN_BODY_MAX = 1 * MIB
# The CSV import is spooled to a temporary file, not held in memory.
IMPORT_BODY_MAX = 512 * MIB

# Longest prefix first: the first match is the route's cap.
CAPS: tuple[tuple[str, int], ...] = (
    ("/api/subscribers/import", IMPORT_BODY_MAX),
    # The web admin's CSV upload: Starlette spools the file part to disk past 1 MiB.
    ("/admin/subscribers/import", IMPORT_BODY_MAX),
    ("/webhooks/sendgrid", WEBHOOK_BODY_MAX),
    ("/api/", ADMIN_BODY_MAX),
    ("/admin/", ADMIN_BODY_MAX),
)


def cap_for(path: str) -> int:
    for prefix, cap in CAPS:
        if path.startswith(prefix):
            return cap
    return PUBLIC_BODY_MAX


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: 413 for a body larger than its route's cap, counted while it streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = cap_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _refuse(send, cap)
            return
        received = 0
        refused = False

        async def counted() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    refused = True
                    raise _TooLarge
            return message

        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer; whatever the app tries after it is dropped
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not refused:
                raise
        if refused and not started:
            await _refuse(send, cap)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, cap: int) -> None:
    body = json.dumps({"detail": f"request body larger than {cap} bytes"}).encode()
    await answer(send, 413, body, b"application/json", close=True)


async def answer(
    send: Send, status: int, body: bytes, content_type: bytes, *, close: bool = False
) -> None:
    """A whole response from ASGI middleware that answers instead of the app."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
