"""Admin pages at scale: p95 response time of each /admin page on PostgreSQL with
1,000,000 subscribers and 1,000 campaigns (20,000 and 100 with --quick).

Seeding is plain SQL (generate_series), then VACUUM ANALYZE as a deployment's
autovacuum would have done. The newest campaign went to everyone (a ledger of
1,000,000 rows, with an open event for a third of them and a click for one in
eleven); the 24 before it, the rest of the list's first page, have LEDGER rows
each. The server is `broadsheet web --workers 2`, the production command, with
the per-process cache off (ADMIN_CACHE_SECONDS=0), so no request is answered
from a previous one's memory; the figures kept in the database
(web/dashboard/figures.py) are, as in production. One logged-in session asks
each page WARM times and then REQUESTS times in a row, and the p95 of those is
the figure (target 150 ms).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from accounts.audit import CLI
from accounts.users import add_user
from bench.common import REPO_ROOT, Figure
from bench.subscribers import _free_port, _fresh, _wait_until_up
from config.resources import SITE_EXAMPLE
from db.engine import Database
from db.models import AdminRole

SECTION = "admin"
SITE = SITE_EXAMPLE
TARGET_MS = 150.0
WARM = 3
PASSWORD = "bench admin password"
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
FIRST_VIEWS = (
    "dashboard",
    "campaigns",
    "campaign sent to all",
    "report of that campaign",
    "sponsors",
)
REJECTED = 1_000  # rows of the seeded import job's error list


def run(quick: bool) -> list[Figure]:
    people = int(os.environ.get("BENCH_ADMIN_SUBSCRIBERS", 20_000 if quick else 1_000_000))
    campaigns = 100 if quick else 1_000
    with_ledger = 25  # the list's first page: the newest to everyone, the others smaller
    per_campaign = 2_000 if quick else 20_000
    requests = 15 if quick else 50
    with _fresh("postgresql") as url:
        started = time.perf_counter()
        _seed(url, people, campaigns, with_ledger, per_campaign)
        seeded = time.perf_counter() - started
        timings, first = _measure(url, people, campaigns, requests)
    note = (
        f"{people:,} subscribers, {campaigns:,} campaigns (the newest to all {people:,}, "
        f"{with_ledger - 1} more with {per_campaign:,} deliveries each), {requests} requests "
        f"per page after {WARM} warm-up, {WEB_WORKERS} web processes, per-process cache off; "
        f"seeding took {seeded:.0f} s"
    )
    figures = [
        Figure(SECTION, f"p95 {name}", p95, "ms", TARGET_MS, "max", note if i == 0 else "")
        for i, (name, p95) in enumerate(timings.items())
    ]
    # The very first view computes what later views read from the kept figures.
    figures += [
        Figure(SECTION, f"first view (no kept figure yet): {name}", first[name], "ms")
        for name in FIRST_VIEWS
    ]
    return figures


def _seed(url: str, people: int, campaigns: int, with_ledger: int, per_campaign: int) -> None:
    db = Database.from_url(url)
    statements = [
        # Statuses in realistic shares; sign-ups spread over the last year.
        f"""INSERT INTO subscribers (email, email_hash, name, status, cadence, created_at,
                soft_bounces)
            SELECT 'person' || n || '@example.org',
                   encode(sha256(('person' || n || '@example.org')::bytea), 'hex'),
                   'Person ' || n,
                   CASE WHEN n % 200 = 0 THEN 'complained' WHEN n % 67 = 0 THEN 'bounced'
                        WHEN n % 33 = 0 THEN 'unsubscribed' WHEN n % 20 = 0 THEN 'pending'
                        ELSE 'confirmed' END,
                   'instant', now() - (n % 365) * interval '1 day' - (n % 86400) * interval '1 s',
                   0
            FROM generate_series(1, {people}) AS n""",
        """INSERT INTO subscriptions (subscriber_id, list_slug, created_at)
            SELECT id, 'videos', created_at FROM subscribers""",
        """INSERT INTO subscriptions (subscriber_id, list_slug, created_at)
            SELECT id, 'weekly', created_at FROM subscribers WHERE id % 2 = 0""",
        """INSERT INTO consents (subscriber_id, created_at, source, ip, user_agent,
                consent_text_version, lists)
            SELECT id, created_at, 'form', '192.0.2.1', 'Bench', '1', '["videos"]'
            FROM subscribers""",
        f"""INSERT INTO campaigns (subject, subject_template, intro, status, template,
                list_slugs, post_ids, fanout_cursor, fanout_done, consecutive_failures,
                created_at, started_at, finished_at)
            SELECT 'Edition ' || n, 'Edition ' || n, '', 'sent', 'edition', '["videos"]', '[]',
                   0, true, 0,
                   now() - ({campaigns} - n) * interval '1 day',
                   now() - ({campaigns} - n) * interval '1 day',
                   now() - ({campaigns} - n) * interval '1 day' + interval '5 min'
            FROM generate_series(1, {campaigns}) AS n""",
        f"""INSERT INTO deliveries (campaign_id, subscriber_id, email_hash, status,
                sponsor_name, disclaimers, attempts, queued_at, sent_at, opened, clicked)
            SELECT c.id, s.id, s.email_hash, 'sent', 'Lanternleaf', '[]', 1, c.started_at,
                   c.started_at + (s.id % 300) * interval '1 s', s.id % 3 = 0, s.id % 11 = 0
            FROM (SELECT id, started_at FROM campaigns ORDER BY id DESC
                  LIMIT {with_ledger - 1} OFFSET 1) c
            CROSS JOIN (SELECT id, email_hash FROM subscribers WHERE id <= {per_campaign}) s""",
        # The newest campaign went to everyone.
        f"""INSERT INTO deliveries (campaign_id, subscriber_id, email_hash, status,
                sponsor_name, disclaimers, attempts, queued_at, sent_at, delivered_at, opened,
                clicked)
            SELECT {campaigns}, s.id, s.email_hash,
                   CASE WHEN s.id % 500 = 0 THEN 'failed' ELSE 'sent' END, 'Lanternleaf', '[]',
                   1, now() - interval '1 hour', now() - interval '1 hour' + (s.id % 600) *
                   interval '1 s', now() - interval '1 hour' + (s.id % 600 + 2) * interval '1 s',
                   s.id % 3 = 0, s.id % 11 = 0
            FROM subscribers s""",
        f"""INSERT INTO events (provider_event_id, type, email_hash, campaign_id, delivery_id,
                url, payload, occurred_at, received_at)
            SELECT 'bench-' || d.id || '-' || kind, kind, d.email_hash, d.campaign_id, d.id,
                   CASE WHEN kind = 'click' THEN 'https://example.org/' || (d.id % 4) END,
                   '{{}}', d.delivered_at + interval '10 min', d.delivered_at + interval '10 min'
            FROM deliveries d
            CROSS JOIN (VALUES ('open'), ('click')) AS k(kind)
            WHERE d.campaign_id = {campaigns}
              AND ((kind = 'open' AND d.opened) OR (kind = 'click' AND d.clicked))""",
    ]
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    with db.engine.begin() as conn:
        conn.execute(
            text(
                """INSERT INTO import_jobs (actor, filename, size_bytes, list_slugs, confirmed,
                    status, expected_rows, rows, added, existing, duplicates, suppressed, rejected,
                    created_at, started_at, finished_at)
                VALUES ('bench@example.org', 'people.csv', 5000000, '[]', false, 'done',
                    100000, 100000, 99000, 0, 0, 0, :n, now(), now(), now())"""
            ),
            {"n": REJECTED},
        )
        conn.execute(
            text(
                """INSERT INTO import_rejections (job_id, line, reason)
                SELECT 1, n * 100, 'invalid email: An email address must have an @-sign.'
                FROM generate_series(1, :n) AS n"""
            ),
            {"n": REJECTED},
        )
    with db.session() as session:
        add_user(session, "bench@example.org", PASSWORD, AdminRole.owner, CLI)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    db.engine.dispose()


def _measure(
    url: str, people: int, campaigns: int, requests: int
) -> tuple[dict[str, float], dict[str, float]]:
    """p95 per page, and the time of each page's very first request."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "ADMIN_CACHE_SECONDS": "0",
        "MAIL_BACKEND": "outbox",
        "SITE_CONFIG": str(SITE),
        "BASE_URL": base,
        "PYTHONPATH": str(REPO_ROOT),
    }
    latest = campaigns
    pages = {
        "dashboard": "/admin",
        "campaigns": "/admin/campaigns",
        "campaigns, deep page": f"/admin/campaigns?before={campaigns // 2}",
        "campaign sent to all": f"/admin/campaigns/{latest}",
        "report of that campaign": f"/admin/campaigns/{latest}/report",
        "campaign, smaller ledger": f"/admin/campaigns/{latest - 1}",
        "subscribers": "/admin/subscribers",
        "subscribers, search": f"/admin/subscribers?q=person{people // 7}",
        "subscribers, bounced": "/admin/subscribers?status=bounced",
        "subscribers, list + deep page": f"/admin/subscribers?list=weekly&after={people // 2}",
        "a person": f"/admin/subscribers/{people // 3}",
        "feeds": "/admin/feeds",
        "sponsors": "/admin/sponsors",
        "site": "/admin/site",
        "audit log": "/admin/audit",
        f"an import's page ({REJECTED:,} rejected rows)": "/admin/subscribers/import/1",
    }
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "cli.main", "web", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(WEB_WORKERS),
        ]  # fmt: skip
        log = (Path(tmp) / "web.log").open("w")
        server = subprocess.Popen(command, env=env, cwd=tmp, stdout=log, stderr=log)
        try:
            _wait_until_up(base)
            with httpx.Client(base_url=base, timeout=30) as client:
                _log_in(client)
                result, first = {}, {}
                for name, path in pages.items():
                    for n in range(WARM):
                        started = time.perf_counter()
                        client.get(path).raise_for_status()
                        if n == 0:
                            first[name] = (time.perf_counter() - started) * 1000
                    times = []
                    for _ in range(requests):
                        started = time.perf_counter()
                        client.get(path).raise_for_status()
                        times.append((time.perf_counter() - started) * 1000)
                    result[name] = statistics.quantiles(times, n=20, method="inclusive")[18]
                return result, first
        finally:
            server.terminate()
            server.wait(timeout=30)


def _log_in(client: httpx.Client) -> None:
    page = client.get("/admin/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no CSRF field on the login page"
    response = client.post(
        "/admin/login",
        data={"email": "bench@example.org", "password": PASSWORD, "csrf_token": found.group(1)},
    )
    if response.status_code != 303:
        raise RuntimeError(f"bench login failed: {response.status_code}")
