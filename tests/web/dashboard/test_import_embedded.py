"""`broadsheet web` without Redis (embedded mode) imports an uploaded CSV in the background."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from accounts.audit import CLI
from accounts.users import add_user
from config.runtime import Runtime
from config.settings import Settings
from db.models import AdminRole
from tests.support.processes import settings_env, stop, wait_for
from tests.support.servers import free_port

PASSWORD = "a long test password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_web_command_without_redis_imports_an_upload_and_shows_its_end(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    with runtime.db.session() as session:
        add_user(session, "owner@example.org", PASSWORD, AdminRole.owner, CLI)
    port = free_port()
    env = settings_env(settings, "")  # REDIS_URL empty: tasks run in the web process
    log = tmp_path / "web.log"
    web = subprocess.Popen(
        [str(Path(sys.executable).parent / "broadsheet"), "web", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, what="broadsheet web")
        with httpx.Client(base_url=base, timeout=30) as client:
            token = CSRF.search(client.get("/admin/login").text).group(1)  # type: ignore[union-attr]
            client.post(
                "/admin/login",
                data={"email": "owner@example.org", "password": PASSWORD, "csrf_token": token},
            )
            token = CSRF.search(client.get("/admin/audit").text).group(1)  # type: ignore[union-attr]
            rows = "".join(f"p{n}@example.org\n" for n in range(5000))
            started = client.post(
                "/admin/subscribers/import",
                data={"csrf_token": token},
                files={"file": ("people.csv", f"email\n{rows}nope\n".encode(), "text/csv")},
            )
            assert started.status_code == 303, started.text[:300]
            job = started.headers["location"]
            assert job == "/admin/subscribers/import/1"

            def done() -> bool:
                return '<span class="badge">done</span>' in client.get(job).text

            wait_for(done, timeout=60, what="the import job done")
            shown = client.get(job).text
            assert "<strong>5,001</strong>rows done" in shown
            assert "<strong>5,000</strong>accepted" in shown
            assert '<td class="num">5002</td><td>invalid email' in shown
    except AssertionError:
        raise AssertionError(log.read_text()[-3000:]) from None
    finally:
        stop(web)
