"""A real HTTP server on loopback that serves feeds with scripted behaviour.

Each path has a `Route`: a body, a status, validators for conditional GET, a
delay (for timeouts), a redirect, or a stream of filler bytes (for size caps).
The server records every request so tests can check what the poller sent.
"""

from __future__ import annotations

import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml; charset=utf-8"
    etag: str | None = None  # answer 304 when the request's If-None-Match matches
    last_modified: str | None = None  # answer 304 when If-Modified-Since matches
    delay: float = 0.0  # seconds to wait before answering
    location: str | None = None  # a redirect target (status should be 3xx)
    stream_bytes: int = 0  # send this many filler bytes in chunks instead of `body`
    declare_length: bool = True  # with stream_bytes: send Content-Length up front
    content_encoding: str | None = None  # e.g. "gzip" when `body` is already compressed


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class _State:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    streamed: dict[str, int] = field(default_factory=dict)  # bytes actually written
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed hosts do
    disable_nagle_algorithm = True  # headers and body leave at once, no delayed-ACK stall
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return

    def do_GET(self) -> None:
        state = self.server.state
        path = self.path.split("?", 1)[0]
        with state.lock:
            state.requests.append(Seen(path, {k.lower(): v for k, v in self.headers.items()}))
            route = state.routes.get(path)
        if route is None:
            self._answer(404, b"not found", "text/plain")
            return
        if route.delay:
            time.sleep(route.delay)
        if self._not_modified(route):
            self.send_response(304)
            self._validators(route)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.stream_bytes:
            self._stream(path, route)
            return
        extra = {"Location": route.location} if route.location else {}
        if route.content_encoding:
            extra["Content-Encoding"] = route.content_encoding
        self._answer(route.status, route.body, route.content_type, route, extra)

    def _not_modified(self, route: Route) -> bool:
        etag_match = route.etag is not None and self.headers.get("If-None-Match") == route.etag
        date_match = (
            route.last_modified is not None
            and self.headers.get("If-Modified-Since") == route.last_modified
        )
        return etag_match or date_match

    def _validators(self, route: Route) -> None:
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)

    def _answer(
        self,
        status: int,
        body: bytes,
        content_type: str,
        route: Route | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if route:
            self._validators(route)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, path: str, route: Route) -> None:
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        if route.declare_length:
            self.send_header("Content-Length", str(route.stream_bytes))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"<!-- filler -->" * 4096
        sent = 0
        try:
            while sent < route.stream_bytes:
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
        except OSError:  # the client hung up, which is what a size cap should do
            pass
        finally:
            with self.server.state.lock:
                self.server.state.streamed[path] = sent


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections from a parallel poller
    block_on_close = False
    state: _State

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up early (size cap, redirect, bad certificate) is expected here.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FeedServer:
    """`with FeedServer() as server: server.route('/a.xml', Route(body=...))`."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State()
        self._scheme = "https" if tls else "http"
        if tls:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def state(self) -> _State:
        return self._server.state

    def url(self, path: str) -> str:
        return f"{self._scheme}://127.0.0.1:{self._server.server_address[1]}{path}"

    def route(self, path: str, route: Route) -> str:
        with self.state.lock:
            self.state.routes[path] = route
        return self.url(path)

    def streamed_bytes(self, path: str, timeout: float = 10.0) -> int:
        """How much of a streamed body was written before the client hung up (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.state.lock:
                if path in self.state.streamed:
                    return self.state.streamed[path]
            time.sleep(0.02)
        raise AssertionError(f"the server is still streaming {path} after {timeout}s")

    def requests_for(self, path: str) -> list[Seen]:
        with self.state.lock:
            return [r for r in self.state.requests if r.path == path]

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
