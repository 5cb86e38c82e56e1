"""Development secrets never answer beyond this machine, however the server was started.

`broadsheet web` and `serve` refuse a public `--host` while the development
SECRET_KEY or ADMIN_TOKEN is set, before they bind (Settings.check_listen).
Started another way (`uvicorn web.asgi:app --host 0.0.0.0`, a process
manager), the app still knows the local address each connection arrived on:
the ASGI scope's `server`. With development secrets, a request that reached a
non-loopback address is answered 503 with the same one-line reason, and no
route runs.

Invariants:
- with real secrets this middleware is not installed at all;
- only an IP address is judged (a real socket's local address always is one);
  a Unix socket has no `server` and is local by nature.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from config.settings import Settings, SettingsError
from web.limits import ASGIApp, Receive, Scope, Send, answer

log = logging.getLogger(__name__)


def uses_development_secrets(settings: Settings) -> bool:
    try:
        settings.check_listen("192.0.2.1")  # any address beyond this machine
    except SettingsError:
        return True
    return False


class LoopbackOnly:
    """ASGI middleware: 503 for a request that arrived on a non-loopback address."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._refusals: dict[str, str | None] = {}  # local address -> reason, or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server: Any = scope.get("server")
        if scope["type"] == "http" and server:
            reason = self._refusal(str(server[0]))
            if reason is not None:
                body = (reason + "\n").encode()
                await answer(send, 503, body, b"text/plain; charset=utf-8")
                return
        await self.app(scope, receive, send)

    def _refusal(self, host: str) -> str | None:
        if host not in self._refusals:
            self._refusals[host] = None
            try:
                ipaddress.ip_address(host)
                self.settings.check_listen(host)
            except ValueError as exc:
                # SettingsError is a ValueError; so is a name that is not an IP address.
                if isinstance(exc, SettingsError):
                    self._refusals[host] = str(exc)
                    log.error("answering 503 to requests on %s: %s", host, exc)  # once per address
        return self._refusals[host]
