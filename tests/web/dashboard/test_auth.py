"""Login, session cookie, CSRF, lock-out and the role check, in-process."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.runtime import Runtime
from db.models import AdminAudit, Campaign, CampaignStatus
from subscribers.ratelimit import MemoryRateLimiter
from tests.web.dashboard.conftest import PASSWORD, csrf_of
from web.dashboard.auth import LOGIN_ATTEMPTS_PER_MINUTE

Login = Callable[[str], tuple[TestClient, str]]


def test_every_admin_page_needs_a_login(app_client: TestClient) -> None:
    for path in ["/admin", "/admin/campaigns", "/admin/subscribers", "/admin/audit", "/admin/site"]:
        response = app_client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login?next=")


def test_the_session_cookie_is_httponly_lax_and_scoped(app_client: TestClient) -> None:
    page = app_client.get("/admin/login")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # BASE_URL is http in the tests


def test_login_without_the_form_token_is_refused(app_client: TestClient) -> None:
    app_client.get("/admin/login")
    response = app_client.post(
        "/admin/login", data={"email": "owner@example.org", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "form has expired" in response.text


def test_a_wrong_password_shows_one_line_and_is_audited(
    app_client: TestClient, runtime: Runtime
) -> None:
    token = csrf_of(app_client.get("/admin/login").text)
    response = app_client.post(
        "/admin/login",
        data={"email": "owner@example.org", "password": "not it at all", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "do not match an admin account" in response.text
    with runtime.db.session() as session:
        assert session.scalars(select(AdminAudit.action)).all()[-1] == "login.failed"


def test_the_login_rate_limit_answers_429(app_client: TestClient) -> None:
    # The app's limiter with its clock held inside one window, so that a slow run
    # crossing a minute boundary cannot reset the count halfway.
    app = app_client.app
    app.state.admin_login_limiter = MemoryRateLimiter(  # type: ignore[attr-defined]
        LOGIN_ATTEMPTS_PER_MINUTE, clock=lambda: 30.0
    )
    token = csrf_of(app_client.get("/admin/login").text)
    codes = [
        app_client.post(
            "/admin/login",
            data={"email": f"x{i}@example.org", "password": "nope nope nope", "csrf_token": token},
        ).status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]


def test_a_viewer_cannot_send_even_by_posting_directly(as_role: Login, runtime: Runtime) -> None:
    with runtime.db.session() as session:
        session.add(
            Campaign(
                subject="Hello",
                subject_template="Hello",
                status=CampaignStatus.draft,
                list_slugs=["videos"],
            )
        )
    client, token = as_role("viewer")
    page = client.get("/admin/campaigns/1")
    assert page.status_code == 200 and "Send campaign" not in page.text
    response = client.post("/admin/campaigns/1/send", data={"csrf_token": token, "when": "now"})
    assert response.status_code == 403
    assert "cannot do this" in response.text
    with runtime.db.session() as session:
        assert session.get(Campaign, 1).status is CampaignStatus.draft  # type: ignore[union-attr]


def test_an_editor_may_test_but_not_send(as_role: Login) -> None:
    client, token = as_role("editor")
    assert client.get("/admin/campaigns/new").status_code == 200
    refused = client.post("/admin/campaigns/1/send", data={"csrf_token": token})
    assert refused.status_code == 403


def test_a_post_with_another_sessions_token_is_refused(as_role: Login) -> None:
    _, stale = as_role("owner")
    client2, _ = as_role("owner")  # a new login: a new token
    response = client2.post("/admin/users/remove", data={"csrf_token": stale, "email": "x@y.org"})
    assert response.status_code == 403


def test_logout_ends_the_session_even_for_a_copied_cookie(as_role: Login) -> None:
    client, token = as_role("owner")
    copied = dict(client.cookies)
    response = client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.clear()
    client.cookies.update(copied)
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(app_client: TestClient) -> None:
    token = csrf_of(app_client.get("/admin/login").text)
    response = app_client.post(
        "/admin/login",
        data={
            "email": "owner@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin"


def test_every_page_renders_for_a_viewer(as_role: Login) -> None:
    client, _ = as_role("viewer")
    for path in [
        "/admin",
        "/admin/campaigns",
        "/admin/subscribers",
        "/admin/feeds",
        "/admin/sponsors",
        "/admin/site",
        "/admin/audit",
        "/admin/users",
    ]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert 'href="#main"' in response.text  # the skip link
