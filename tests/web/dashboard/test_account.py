"""The account page's API tokens, and /api taking them with their user's role."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.runtime import Runtime
from db.models import AdminAudit

Login = Callable[[str], tuple[TestClient, str]]
SECRET = re.compile(r'<code id="new-token"[^>]*>(bsk_[^<]+)</code>')


def _new_token(client: TestClient, token: str, name: str) -> str:
    shown = client.post("/admin/account/tokens", data={"csrf_token": token, "name": name})
    assert shown.status_code == 200 and "shown this once" in shown.text
    found = SECRET.search(shown.text)
    assert found, shown.text[:500]
    return found.group(1)


def _audit(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    with runtime.db.session() as session:
        rows = session.scalars(select(AdminAudit).order_by(AdminAudit.id))
        return [(r.actor, r.action, r.target) for r in rows]


def test_a_token_is_shown_once_and_acts_with_its_users_role(
    as_role: Login, runtime: Runtime
) -> None:
    viewer, token = as_role("viewer")
    secret = _new_token(viewer, token, "dashboard script")
    page = viewer.get("/admin/account").text
    assert secret not in page and secret[:10] in page and "dashboard script" in page
    api = {"Authorization": f"Bearer {secret}"}
    assert viewer.get("/api/campaigns", headers=api).status_code == 200
    refused = viewer.post("/api/campaigns", headers=api, json={"lists": ["videos"]})
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "this token acts as viewer@example.org, a viewer, who may not campaign.create"
    )
    export = viewer.get("/api/subscribers/export", headers=api)
    assert export.status_code == 403  # an export is an owner's, even as a GET
    assert ("viewer@example.org", "api_token.create", "api_token:1") in _audit(runtime)


def test_an_owners_token_changes_things_and_each_change_is_audited(
    as_role: Login, runtime: Runtime
) -> None:
    owner, token = as_role("owner")
    secret = _new_token(owner, token, "import bot")
    api = {"Authorization": f"Bearer {secret}"}
    added = owner.post(
        "/api/subscribers", headers=api, json={"email": "new@example.org", "confirmed": True}
    )
    assert added.status_code == 201, added.text
    assert ("owner@example.org", "api.subscribers.add", "/api/subscribers") in _audit(runtime)


def test_a_revoked_token_is_refused_and_the_admin_token_still_works(
    as_role: Login, runtime: Runtime
) -> None:
    editor, token = as_role("editor")
    secret = _new_token(editor, token, "temporary")
    revoked = editor.post("/admin/account/tokens/1/revoke", data={"csrf_token": token})
    assert "Token revoked." in revoked.text and "revoked " in revoked.text
    answer = editor.get("/api/campaigns", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401 and answer.json()["detail"] == "API token unknown or revoked"
    other, other_token = as_role("owner")
    not_theirs = other.post("/admin/account/tokens/1/revoke", data={"csrf_token": other_token})
    assert "No such live token of yours." in not_theirs.text
    admin_token = {"Authorization": f"Bearer {runtime.settings.admin_token}"}
    assert other.get("/api/campaigns", headers=admin_token).status_code == 200
    assert ("editor@example.org", "api_token.revoke", "api_token:1") in _audit(runtime)


def test_every_api_call_that_changes_something_is_named_by_an_action(runtime: Runtime) -> None:
    """A route added to /api later is an owner's until it is named in the table."""
    from accounts.roles import PERMISSIONS
    from web.admin import api_action
    from web.app import create_app
    from web.docs import full_openapi

    seen = {}
    for path, operations in full_openapi(create_app(runtime))["paths"].items():
        if path.startswith("/api/"):
            concrete = re.sub(r"\{[^}]+\}", "7", path)
            for method in operations:
                seen[(method.upper(), path)] = api_action(method.upper(), concrete)
    assert len(seen) > 10
    assert set(seen.values()) <= set(PERMISSIONS)
    assert seen[("POST", "/api/campaigns/{campaign_id}/send")] == "campaign.send"
    assert seen[("POST", "/api/subscribers/import")] == "subscribers.import"
    assert all(action != "read" for (method, _), action in seen.items() if method == "POST")
    assert "users.manage" not in seen.values()  # every current route is named
