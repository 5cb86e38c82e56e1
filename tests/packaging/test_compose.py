"""docker-compose.yml and .env.example describe the same deployment."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.support.paths import REPO_ROOT

TEXT = (REPO_ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(TEXT)


def test_every_value_compose_reads_from_env_is_in_env_example() -> None:
    wanted = set(re.findall(r"\$\{([A-Z_]+)", TEXT))
    example = (REPO_ROOT / ".env.example").read_text()
    offered = set(re.findall(r"^#?\s*([A-Z_]+)=", example, re.M))
    assert {"SECRET_KEY", "ADMIN_TOKEN"} <= wanted
    assert wanted <= offered, f"missing from .env.example: {sorted(wanted - offered)}"


def test_app_services_start_after_migrations_and_keep_data_in_a_volume() -> None:
    services = COMPOSE["services"]
    assert services["migrate"]["command"] == ["broadsheet", "init"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for role in ("web", "worker", "beat"):
        service = services[role]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["DATA_DIR"] == "/data"
        assert "appdata:/data" in service["volumes"]
    assert "appdata" in COMPOSE["volumes"]
    assert "healthcheck" not in services["web"]  # the image's /healthz probe applies
    assert services["worker"]["healthcheck"] == {"disable": True}
