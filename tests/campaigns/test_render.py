"""The rendered edition: golden HTML and text for a mixed edition, and the rules it keeps.

Regenerate the golden files after an intended change with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/campaigns/test_render.py` and review the diff.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from campaigns.compose import choose_sponsor, compose_edition
from campaigns.render import RenderedEdition, personal_links, public_links
from config.site import Sponsor
from tests.campaigns import sample_edition

GOLDEN = Path(__file__).parent / "golden"


def mixed_edition(sponsor: Sponsor | None = None, *, personal: bool = True) -> RenderedEdition:
    site = sample_edition.site()
    campaign = sample_edition.campaign()
    chosen = sponsor or choose_sponsor(site, campaign, sample_edition.DAY)
    links = personal_links() if personal else public_links("https://notes.tidewater.example/")
    return compose_edition(site, campaign, sample_edition.posts(), sponsor=chosen, links=links)


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def test_mixed_edition_html_matches_golden() -> None:
    check_golden("mixed_edition.html", mixed_edition().html)


def test_mixed_edition_text_matches_golden() -> None:
    edition = mixed_edition()
    check_golden("mixed_edition.txt", f"Subject: {edition.subject}\n\n{edition.text}")


def test_mixed_edition_has_videos_articles_a_sponsor_and_two_disclaimers() -> None:
    edition = mixed_edition()
    assert edition.subject == "This week: Tide Breathing: a Four-Count Reset for Busy Evenings"
    assert edition.sponsor_name == "Saltmarsh Tea"
    assert edition.disclaimers == ["medical@2", "sponsors@4"]  # "finance" matches no post
    assert edition.html.count("Watch the video") == 2
    assert edition.html.count("Read the article") == 1
    # The in-video sponsor read stays out: only the labelled block advertises.
    assert "Kelpcraft" not in edition.html + edition.text


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))


def test_every_image_has_alt_text() -> None:
    parser = _Images()
    parser.feed(mixed_edition().html)
    assert len(parser.images) == 2
    assert all((img.get("alt") or "").strip() for img in parser.images)


def test_video_card_links_its_thumbnail_to_the_watch_page_with_a_play_badge() -> None:
    html = mixed_edition().html
    watch = "https://video.example/watch?v=TdW4count01"
    assert re.search(
        rf'<a href="{re.escape(watch)}"[^>]*><img[^>]*src="https://img.video.example/TdW4count01/',
        html,
    )
    assert html.count('class="play-badge"') == 2


def test_html_is_inlined_ascii_and_keeps_dark_mode_rules() -> None:
    html = mixed_edition().html
    assert html.isascii()
    assert 'class="sponsor-label" style="' in html  # css-inlined
    assert "prefers-color-scheme: dark" in html
    assert 'name="viewport"' in html


def test_sponsor_label_is_always_present_at_either_placement() -> None:
    site = sample_edition.site()
    for sponsor in site.sponsors:
        edition = mixed_edition(sponsor)
        assert ">Sponsored<" in edition.html
        assert f"SPONSORED: {sponsor.name}" in edition.text


def test_after_first_sponsor_sits_after_the_first_post_and_end_sponsor_at_the_end() -> None:
    site = sample_edition.site()
    after_first = next(s for s in site.sponsors if s.placement == "after_first")
    at_end = next(s for s in site.sponsors if s.placement == "end")
    text = mixed_edition(after_first).text
    assert text.index("Tide Breathing") < text.index("SPONSORED") < text.index("4 p.m. Slump")
    text = mixed_edition(at_end).text
    assert text.index("Reading Before Bed") < text.index("SPONSORED") < text.index("PLEASE NOTE")


def test_text_part_is_spaced_for_reading() -> None:
    text = mixed_edition().text
    assert "\n\n\n" not in text
    assert all(len(line) <= 72 or "://" in line for line in text.splitlines())
    # The sponsor block stands apart: a blank line before the next post.
    block_end = text.index("Try the sampler: [%sponsor_url%]")
    after = text[block_end:].split("\n", 3)
    assert after[1].startswith("----") and after[2] == ""
    assert "<" not in text and "&amp;" not in text
    assert "Reading Before Bed & Why Screens" in text


def test_personal_edition_has_placeholders_and_public_edition_has_none() -> None:
    personal = mixed_edition()
    for key in ("unsubscribe_url", "preferences_url", "sponsor_url", "crisis_medical"):
        assert f"[%{key}%]" in personal.html and f"[%{key}%]" in personal.text
    public = mixed_edition(personal=False)
    assert "[%" not in public.html + public.text
    assert "Unsubscribe" not in public.html
    assert "https://notes.tidewater.example/" in public.html
    assert "If you are in danger, call your local emergency number." in public.html


@pytest.mark.parametrize("placement", ["end", "after_first"])
def test_a_sponsor_with_no_posts_still_renders_once(placement: str) -> None:
    site = sample_edition.site()
    sponsor = site.sponsors[0].model_copy(update={"placement": placement})
    campaign = sample_edition.campaign()
    campaign.subject_template = "A quiet week"
    edition = compose_edition(site, campaign, [], sponsor=sponsor, links=personal_links())
    assert edition.html.count(">Sponsored<") == 1
    assert edition.text.count("SPONSORED:") == 1
