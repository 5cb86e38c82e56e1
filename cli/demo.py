"""`broadsheet demo`: the whole pipeline on embedded defaults, from bundled feeds to the outbox.

The sample channel's thumbnails are files the project ships (web/static/demo),
which the web app serves at DEMO_BASE_URL/static/demo/. The demo's emails are
read from the outbox folder with no server running, so the demo inlines those
thumbnails as data: URLs; a real feed's thumbnails stay links.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns.compose import create_campaign
from config.resources import SAMPLES_DIR, SITE_EXAMPLE
from config.runtime import Runtime
from config.settings import load_settings
from content.polling import ingest_file
from db.migrate import upgrade
from db.models import Post
from delivery import campaign_send
from sponsorship.source import import_site_sponsors
from subscribers.service import ConsentInfo, add_subscriber
from web.files import DEMO_THUMBNAILS_DIR, DEMO_THUMBNAILS_URL

DEMO_BASE_URL = "http://127.0.0.1:8000"  # `broadsheet serve` on its defaults
# Whatever the environment says, the demo is a local development run.
DEMO_SETTINGS: dict[str, object] = {
    "redis_url": None,
    "mail_backend": "outbox",
    "site_config": SITE_EXAMPLE,
    "base_url": DEMO_BASE_URL,
    "environment": "development",
}

# Fictional people at the reserved example.org domain; countries differ so the
# crisis line shows its localisation.
DEMO_PEOPLE = [
    ("ada.reader@example.org", "Ada", "US", ["videos", "articles", "weekly"]),
    ("ben.viewer@example.org", "Ben", "GB", ["videos"]),
    ("chloe.night@example.org", None, None, ["articles", "weekly"]),
]


@dataclass(frozen=True)
class DemoResult:
    campaign_id: int
    outbox: Path
    database: Path
    counts: dict[str, int]


def run_demo(directory: Path | None = None, progress: Progress | None = None) -> DemoResult:
    """Start from nothing in `directory` (DATA_DIR/demo by default) and send one
    campaign to the outbox there."""
    if directory is None:
        directory = load_settings(**DEMO_SETTINGS).data_dir / "demo"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    database = directory / "broadsheet.db"
    settings = load_settings(
        **DEMO_SETTINGS, database_url=f"sqlite:///{database}", outbox_dir=directory / "outbox"
    )
    rt = Runtime(settings)
    upgrade(rt.db.engine)
    with rt.db.session() as session:  # as `init` does: the sponsor desk holds the sponsors
        import_site_sponsors(session, rt.site, str(settings.site_config))
    for feed in rt.site.feeds:
        # The samples are "already published": skip the hold window so they go out now.
        ingest_file(
            rt.db, feed.model_copy(update={"hold_minutes": 0}), SAMPLES_DIR / f"{feed.name}.xml"
        )
    consent = ConsentInfo(source="demo", text_version=rt.site.newsletter.consent_text_version)
    with rt.db.session() as session:
        inline_demo_thumbnails(session)
        for email, name, country, lists in DEMO_PEOPLE:
            person = add_subscriber(session, email, lists, consent, confirmed=True, name=name)
            person.country = country
        campaign = create_campaign(
            session,
            rt.site,
            lists=rt.site.list_slugs(),
            subject="New on Steady Ground: {{ lead.title }}",
            intro="Two new videos and two new notes this fortnight. The grounding drill "
            "is the one to try first.",
        )
        campaign_id = campaign.id
    task = progress.add_task("sending", total=len(DEMO_PEOPLE)) if progress else None

    def advance(outcome: campaign_send.BatchOutcome) -> None:
        if progress is not None and task is not None:
            progress.advance(task, outcome.sent + outcome.skipped + outcome.failed)

    campaign_send.send_inline(rt.db, rt.site, rt.sender, rt.links, campaign_id, advance)
    with rt.db.session() as session:
        from delivery.ledger import counts_by_status

        counts = counts_by_status(session, campaign_id)
    rt.db.engine.dispose()
    return DemoResult(campaign_id, settings.outbox_dir, database, counts)


def inline_demo_thumbnails(session: Session) -> int:
    """Point posts at the shipped thumbnails as data: URLs, so the outbox shows them offline."""
    prefix = f"{DEMO_BASE_URL}{DEMO_THUMBNAILS_URL}/"
    inlined = 0
    for post in session.scalars(select(Post).where(Post.thumbnail_url.startswith(prefix))):
        path = DEMO_THUMBNAILS_DIR / str(post.thumbnail_url).removeprefix(prefix)
        if path.parent == DEMO_THUMBNAILS_DIR and path.suffix == ".png" and path.is_file():
            encoded = base64.b64encode(path.read_bytes()).decode("ascii")
            post.thumbnail_url = f"data:image/png;base64,{encoded}"
            inlined += 1
    return inlined
