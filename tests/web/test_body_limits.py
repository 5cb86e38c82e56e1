"""Request bodies are capped while they stream, before anything parses them (web/limits.py).

The server is the real `broadsheet web` process; the bodies are streamed over
a socket with chunked encoding (no Content-Length), as an attacker would.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import httpx
import pytest

from subscribers.tokens import Purpose, make_token
from tests.support.web_process import WebProcess, running_web, web_env
from web.limits import PUBLIC_BODY_MAX, WEBHOOK_BODY_MAX, cap_for

STREAM_BYTES = 100 * 1024 * 1024
CHUNK = 1024 * 1024
# "A few MB": the server may touch some buffers, never the body it refused.
RSS_GROWTH_MAX_KIB = 8 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    directory = tmp_path_factory.mktemp("body-limits")
    env = web_env(directory, SENDGRID_WEBHOOK_PUBLIC_KEY="", SUBSCRIBE_RATE_LIMIT="0")
    with running_web(directory, env) as process:
        yield process


def stream_body(port: int, path: str, content_type: str) -> tuple[int, int]:
    """POST up to STREAM_BYTES chunked; stop when the server answers. (status, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        filler = b"[" * CHUNK if "json" in content_type else b"a" * CHUNK
        chunk = f"{len(filler):x}\r\n".encode() + filler + b"\r\n"
        sent = 0
        while sent < STREAM_BYTES:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break  # the server has answered
            if not writable:
                break  # the server stopped reading; wait for its answer
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(filler)
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return int(answer.split(b" ", 2)[1]), sent
    finally:
        sock.close()


FORM = "application/x-www-form-urlencoded"


def _path(server: WebProcess, route: str) -> str:
    """The route with a valid token for subscriber 1 (the warm-up sign-up), so it reads its body."""
    secret = server.env["SECRET_KEY"]
    if route == "/preferences":
        return f"{route}/{make_token(secret, Purpose.preferences, 1)}"
    if route == "/unsubscribe":
        return f"{route}/{make_token(secret, Purpose.unsubscribe, [1, None])}"
    if route == "/confirm":
        return f"{route}/{make_token(secret, Purpose.confirm, [1, 'ab' * 8])}"
    return route


@pytest.mark.parametrize(
    ("route", "content_type", "expected"),
    [
        ("/subscribe", "application/json", 413),
        ("/subscribe", FORM, 413),
        ("/preferences", FORM, 413),
        ("/unsubscribe", FORM, 413),
        # The confirm button's POST reads no body: answered without reading it.
        ("/confirm", FORM, 404),
        ("/webhooks/sendgrid", "application/json", 413),
    ],
)
def test_a_streamed_100_mb_body_is_refused_without_the_server_growing(
    server: WebProcess, route: str, content_type: str, expected: int
) -> None:
    httpx.post(f"{server.url}/subscribe", json={"email": "warm@example.org"})  # warm up
    before = server.rss_kib()
    status, sent = stream_body(server.port, _path(server, route), content_type)
    after = server.rss_kib()
    print(f"{route} ({content_type}): {status}, RSS {before} -> {after} kB, {sent:,} bytes sent")
    assert status == expected
    assert sent < STREAM_BYTES  # refused while streaming, not after reading it all
    assert after - before < RSS_GROWTH_MAX_KIB, f"RSS grew {before} -> {after} kB"
    assert server.popen.poll() is None


def test_a_declared_length_over_the_cap_is_refused_before_the_body(server: WebProcess) -> None:
    answer = httpx.post(
        f"{server.url}/subscribe",
        content=b"x" * (PUBLIC_BODY_MAX + 1),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert "larger than" in answer.json()["detail"]


def test_an_honest_sign_up_still_works(server: WebProcess) -> None:
    answer = httpx.post(f"{server.url}/subscribe", json={"email": "honest@example.org"})
    assert answer.status_code == 200


def test_the_webhook_and_the_admin_import_have_larger_caps() -> None:
    assert cap_for("/webhooks/sendgrid") == WEBHOOK_BODY_MAX > PUBLIC_BODY_MAX
    assert cap_for("/api/subscribers/import") > WEBHOOK_BODY_MAX
    assert cap_for("/subscribe") == PUBLIC_BODY_MAX


def test_the_log_has_no_traceback(server: WebProcess) -> None:
    assert "Traceback" not in server.log.read_text()
