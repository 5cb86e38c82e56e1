"""An app on the test database with one admin per role, and clients logged in as each."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from accounts.audit import CLI
from accounts.users import add_user
from config.runtime import Runtime
from db.models import AdminRole
from web.app import create_app
from web.dashboard import cache

PASSWORD = "a long test password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture
def app_client(runtime: Runtime) -> Iterator[TestClient]:
    cache.clear()
    with runtime.db.session() as session:
        for role in AdminRole:
            add_user(session, f"{role.value}@example.org", PASSWORD, role, CLI)
    with TestClient(create_app(runtime), base_url="http://testserver") as client:
        yield client
    cache.clear()


def log_in(client: TestClient, role: str) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = csrf_of(client.get("/admin/login").text)
    response = client.post(
        "/admin/login",
        data={"email": f"{role}@example.org", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/admin/audit").text)


@pytest.fixture
def as_role(app_client: TestClient) -> Callable[[str], tuple[TestClient, str]]:
    def login(role: str) -> tuple[TestClient, str]:
        app_client.cookies.clear()
        return app_client, log_in(app_client, role)

    return login
