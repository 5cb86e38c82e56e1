"""Editions: the one-off render cost and the per-recipient placeholder fill.

The render is what a campaign pays once per variant; the fill is what every
recipient costs (`FillTemplate.fill`, as the outbox and SMTP senders run it).
Both use a realistic edition: ten posts with summaries and thumbnails, a
sponsor, two disclaimers, the inlined CSS -- about 30 KB of HTML and 7 KB of text.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from bench.common import Figure
from campaigns.compose import compose_edition
from campaigns.render import RenderedEdition, personal_links
from config.site import SiteConfig
from db.models import Campaign, CampaignStatus, Post, PostKind
from delivery.placeholders import FillTemplate

SECTION = "render"
PARAGRAPH = (
    "A slow walk through one small routine: what it asks of you, where it tends to go "
    "wrong on a tired evening, and how to shrink it until it fits the day you actually had. "
)

SITE = SiteConfig.model_validate(
    {
        "newsletter": {
            "name": "Bench Notes",
            "from_email": "notes@bench.example",
            "postal_address": "1 Bench Road, Testville, USA",
            "base_url": "https://bench.example",
        },
        "lists": [{"slug": "videos", "name": "Videos"}],
        "sponsors": [
            {
                "name": "Quiet Lamp Co",
                "text": "Warm lamps that dim slowly at bedtime.",
                "url": "https://quiet-lamp.example/",
                "starts": "2026-01-01",
                "ends": "2030-12-31",
                "placement": "after_first",
            }
        ],
        "disclaimers": [
            {
                "name": "medical",
                "version": 1,
                "always": True,
                "text": "General education, not medical advice.",
                "crisis_line": {"default": "Call your local emergency number."},
            },
            {"name": "sponsors", "version": 1, "always": True, "text": "Sponsors are labelled."},
        ],
    }
)


def _posts(n: int) -> list[Post]:
    posts = []
    for i in range(n):
        video = i % 2 == 0
        posts.append(
            Post(
                id=i + 1,
                feed_id=1,
                guid=f"g{i}",
                content_hash="0",
                kind=PostKind.video if video else PostKind.article,
                title=f"Routine number {i + 1}: small, boring and surprisingly effective",
                link=f"https://bench.example/posts/{i + 1}",
                published_at=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC),
                summary_html="".join(f"<p>{PARAGRAPH}</p>" for _ in range(3)),
                summary_text=PARAGRAPH * 3,
                thumbnail_url=f"https://img.bench.example/{i + 1}.jpg" if video else None,
                tags=[],
            )
        )
    return posts


def realistic_edition() -> RenderedEdition:
    campaign = Campaign(
        id=1,
        subject="",
        subject_template="{{ lead.title }}",
        intro="Ten posts this week.",
        status=CampaignStatus.draft,
        template="edition",
        list_slugs=["videos"],
        post_ids=list(range(1, 11)),
    )
    return compose_edition(
        SITE, campaign, _posts(10), sponsor=SITE.sponsors[0], links=personal_links()
    )


def _values(i: int) -> dict[str, str]:
    token = f"{i:08d}" + "Ab3dEf9hIjKlMnOpQrStUvWxYz0123456789-_" * 2
    return {
        "unsubscribe_url": f"https://bench.example/unsubscribe/{token}",
        "preferences_url": f"https://bench.example/preferences/{token}",
        "sponsor_url": f"https://bench.example/r/{token}",
        "crisis_medical": "Call your local emergency number.",
    }


def run(quick: bool) -> list[Figure]:
    realistic_edition()  # warm the template cache: a worker renders many campaigns
    renders = []
    for _ in range(5 if quick else 30):
        started = time.perf_counter()
        edition = realistic_edition()
        renders.append(time.perf_counter() - started)

    templates = [FillTemplate.compile(p) for p in (edition.subject, edition.html, edition.text)]
    recipients = 2_000 if quick else 10_000
    # Values are built before timing: the sender builds them anyway (signing tokens is
    # the link maker's cost, not the fill's).
    values = [_values(i) for i in range(recipients)]
    rounds = [_fill_round(templates, values) for _ in range(3 if quick else 5)]
    html_kb = len(edition.html) / 1024
    return [
        Figure(
            SECTION,
            "render one edition (median)",
            statistics.median(renders) * 1000,
            "ms",
            target=20,
            direction="max",
            note=f"10 posts, {html_kb:.0f} KB HTML, css-inline included",
        ),
        Figure(
            SECTION,
            "fill per recipient (subject+html+text)",
            min(rounds) / recipients * 1e6,
            "µs",
            target=5,
            direction="max",
            note=f"best of {len(rounds)} rounds of {recipients:,} recipients "
            f"(median round {statistics.median(rounds) / recipients * 1e6:.2f} µs), "
            f"{sum(len(t.fill(values[0])) for t in templates) / 1024:.0f} KB each",
        ),
    ]


def _fill_round(templates: list[FillTemplate], values: list[dict[str, str]]) -> float:
    """Seconds to fill every part for every recipient once."""
    started = time.perf_counter()
    for v in values:
        for t in templates:
            t.fill(v)
    return time.perf_counter() - started
