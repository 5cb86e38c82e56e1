"""Fixed inputs for edition tests: a site, a campaign and posts with fixed ids and dates.

Nothing here touches a database, so golden output is the same on every backend.
"""

from __future__ import annotations

import datetime as dt
import tomllib

from config.site import SiteConfig
from db.models import Campaign, CampaignStatus, Post, PostKind

DAY = dt.date(2026, 11, 20)

SITE_TOML = """
[newsletter]
name = "Tidewater Notes"
from_email = "notes@tidewater.example"
postal_address = "Tidewater Studio, 9 Quay Street, Port Ellery, OR 97000, USA"
base_url = "https://notes.tidewater.example"
timezone = "America/Los_Angeles"

[[lists]]
slug = "videos"
name = "New videos"
default = true

[[lists]]
slug = "weekly"
name = "The weekly letter"

[[sponsors]]
name = "Saltmarsh Tea"
text = "Saltmarsh Tea blends caffeine-free evening teas in small batches on the coast."
url = "https://saltmarsh-tea.example/evening?ref=tidewater"
cta = "Try the sampler"
starts = 2026-11-01
ends = 2026-11-30
weight = 2
placement = "after_first"
cap_days = 7
lists = ["videos", "weekly"]

[[sponsors]]
name = "Harbour Lamps"
text = "Harbour Lamps makes warm reading lights that dim slowly at bedtime."
url = "https://harbour-lamps.example/"
cta = "See the lamps"
starts = 2026-11-15
ends = 2026-12-15
weight = 1
placement = "end"
cap_days = 3
lists = ["weekly"]

[[sponsors]]
name = "Tidewater workshop"
house = true
text = "Our four-week evening workshop teaches one calming routine a week."
url = "https://notes.tidewater.example/workshop"
cta = "Join the workshop"
starts = 2026-01-01
ends = 2027-12-31

[[disclaimers]]
name = "medical"
version = 2
when_tags = ["wellbeing"]
when_keywords = ["insomnia"]
text = "Tidewater Notes is general education, not medical advice."
[disclaimers.crisis_line]
default = "If you are in danger, call your local emergency number."
US = "In the US, call or text 988."
NZ = "In Aotearoa, call or text 1737."

[[disclaimers]]
name = "sponsors"
version = 4
always = true
text = "Sponsors pay for a labelled block; they never see your address."

[[disclaimers]]
name = "finance"
version = 1
when_tags = ["money"]
text = "Not financial advice."
"""


def site() -> SiteConfig:
    return SiteConfig.model_validate(tomllib.loads(SITE_TOML))


def campaign(campaign_id: int = 42) -> Campaign:
    return Campaign(
        id=campaign_id,
        subject="This week: Tide Breathing: a Four-Count Reset for Busy Evenings",
        subject_template="This week: {{ lead.title }}",
        intro="Two videos and an article this week. Start with the tide-breathing one.",
        status=CampaignStatus.draft,
        template="edition",
        list_slugs=["videos", "weekly"],
        post_ids=[101, 102, 103],
        created_at=dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC),
    )


def _post(post_id: int, kind: PostKind, **fields: object) -> Post:
    return Post(
        id=post_id, feed_id=1, guid=f"guid-{post_id}", kind=kind, content_hash="0", **fields
    )


def posts() -> list[Post]:
    return [
        _post(
            101,
            PostKind.video,
            title="Tide Breathing: a Four-Count Reset for Busy Evenings",
            link="https://video.example/watch?v=TdW4count01",
            published_at=dt.datetime(2026, 11, 19, 18, 0, tzinfo=dt.UTC),
            summary_html="<p>We pace the breath to an imaginary tide: four counts in, a pause, "
            "six counts out. Three rounds are enough to notice a change.</p>"
            "<p>This video is sponsored by Kelpcraft: https://kelpcraft.example/tide</p>",
            summary_text="We pace the breath to an imaginary tide: four counts in, a pause, "
            "six counts out. Three rounds are enough to notice a change.\n\n"
            "This video is sponsored by Kelpcraft: https://kelpcraft.example/tide",
            thumbnail_url="https://img.video.example/TdW4count01/hq.jpg",
            video_id="TdW4count01",
            tags=["wellbeing"],
        ),
        _post(
            102,
            PostKind.article,
            title="A Field Guide to the 4 p.m. Slump",
            link="https://notes.tidewater.example/articles/4pm-slump",
            published_at=dt.datetime(2026, 11, 18, 15, 30, tzinfo=dt.UTC),
            summary_html="<p>Why the afternoon dip arrives on schedule, and three "
            '<a href="https://notes.tidewater.example/articles/4pm-slump#walk">short walks</a> '
            "that help more than a third coffee.</p>",
            summary_text="Why the afternoon dip arrives on schedule, and three short walks "
            "that help more than a third coffee.",
            thumbnail_url=None,
            tags=[],
        ),
        _post(
            103,
            PostKind.video,
            title="Reading Before Bed & Why Screens Are Not the Whole Story",
            link="https://video.example/watch?v=TdWread0002",
            published_at=dt.datetime(2026, 11, 16, 18, 0, tzinfo=dt.UTC),
            summary_html="<p>A look at what the studies on evening screens measure, "
            "and a calm <em>twenty-page</em> routine to try instead.</p>",
            summary_text="A look at what the studies on evening screens measure, and a calm "
            "twenty-page routine to try instead.",
            thumbnail_url="https://img.video.example/TdWread0002/hq.jpg",
            video_id="TdWread0002",
            tags=[],
        ),
    ]


def evergreen_site(**changes: object) -> SiteConfig:
    """The sample site with paid sponsors always in flight, so sends do not depend on today."""
    base = site()
    sponsors = tuple(
        s.model_copy(update={"starts": dt.date(2000, 1, 1), "ends": dt.date(2999, 12, 31)})
        for s in base.sponsors
    )
    return base.model_copy(update={"sponsors": sponsors, **changes})
