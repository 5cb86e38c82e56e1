"""Schemathesis drives every route of the OpenAPI schema: no input may cause a 500.

Runs on SQLite only: the point is the HTTP layer's handling of hostile input.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.schemas import OpenApiSchema

from config.resources import SITE_EXAMPLE
from config.runtime import Runtime, set_runtime
from config.settings import load_settings
from db.migrate import upgrade
from web.app import create_app

ADMIN_TOKEN = "fuzz-admin-token-0123456789"


@pytest.fixture(scope="module")
def fuzz_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    rt = Runtime(
        load_settings(
            database_url=f"sqlite:///{root / 'fuzz.db'}",
            redis_url=None,
            outbox_dir=root / "outbox",
            site_config=SITE_EXAMPLE,
            base_url="http://testserver",
            admin_token=ADMIN_TOKEN,
        )
    )
    upgrade(rt.db.engine)
    set_runtime(rt)
    yield rt
    set_runtime(None)
    rt.db.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_runtime: Runtime) -> OpenApiSchema:
    return schemathesis.openapi.from_asgi(
        "/api/openapi.json",  # the whole schema: public and admin routes
        create_app(fuzz_runtime),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )


def test_no_route_answers_500(api_schema: OpenApiSchema) -> None:
    checked = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {ADMIN_TOKEN}"}
            response = case.call()
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
            )

        no_server_error()
        checked.append(operation.label)
    assert "GET /api/campaigns" in checked
