from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from config.site import FeedConfig
from content.boilerplate import normalise, recurring_lines, without_boilerplate
from content.parse import parse_feed
from content.store import ensure_feed, store_posts
from db.engine import Database
from db.models import Post
from tests.support.feeds import Video, youtube

PROMO = [
    "Join the Quiet Kettle club for weekly worksheets: https://kettle.example/club",
    "Support me on Tipjar: https://tipjar.example/quietkettle",
    "This video is sponsored by Fernbrook. Try it at https://fernbrook.example/go",
]
CHANNEL = FeedConfig(name="kettle", url="https://www.youtube.com/feeds/videos.xml?c=1")


def _video(n: int, *own: str) -> Video:
    return Video(f"Kettle{n:05d}", f"Episode {n}", "\n".join([*own, *PROMO]))


def _store(db: Database, *videos: Video) -> None:
    parsed = parse_feed(youtube(list(videos)), kind="youtube")
    with db.session() as session:
        store_posts(session, ensure_feed(session, CHANNEL), parsed.posts)


def _summaries(db: Database) -> dict[str, str]:
    with db.session() as session:
        return {p.video_id or "": p.summary_text for p in session.scalars(select(Post))}


def test_a_line_in_two_descriptions_is_boilerplate_and_a_line_in_one_is_not() -> None:
    found = recurring_lines([["Only here.", "Shared  LINE"], ["shared line", "Also unique."]])
    assert found == {"shared line": 2}


def test_normalising_ignores_case_and_spacing() -> None:
    assert normalise("  Support ME\ton   Tipjar ") == "support me on tipjar"


def test_removing_keeps_the_order_of_what_is_left() -> None:
    lines = ["New thing.", "Support me!", "Second new thing."]
    assert without_boilerplate(lines, {"support me!"}) == ["New thing.", "Second new thing."]


def test_recurring_promo_lines_are_kept_out_of_stored_summaries(db: Database) -> None:
    _store(
        db,
        _video(1, "Why kettles whistle when you are anxious."),
        _video(2, "A breathing pattern that fits in a tea break."),
    )
    summaries = _summaries(db)
    assert summaries["Kettle00001"] == "Why kettles whistle when you are anxious."
    assert summaries["Kettle00002"] == "A breathing pattern that fits in a tea break."


def test_a_single_video_keeps_its_whole_description(db: Database) -> None:
    _store(db, _video(1, "Only one video so far."))
    assert "Support me on Tipjar" in _summaries(db)["Kettle00001"]


def test_a_later_poll_cleans_the_earlier_posts_too(db: Database) -> None:
    _store(db, _video(1, "First video notes."))
    _store(db, _video(1, "First video notes."), _video(2, "Second video notes."))
    assert _summaries(db) == {
        "Kettle00001": "First video notes.",
        "Kettle00002": "Second video notes.",
    }


def test_boilerplate_is_found_against_stored_posts_when_a_poll_brings_one_new_video(
    db: Database,
) -> None:
    _store(db, _video(1, "One."), _video(2, "Two."))
    _store(db, _video(3, "Three is new."))  # the feed now lists only the newest video
    assert _summaries(db)["Kettle00003"] == "Three is new."


def test_the_raw_description_is_kept_so_the_rule_can_be_rerun(db: Database) -> None:
    _store(db, _video(1, "One."), _video(2, "Two."))
    with db.session() as session:
        post = session.scalars(select(Post).where(Post.video_id == "Kettle00001")).one()
        assert post.description == "\n".join(["One.", *PROMO])
        assert "fernbrook" not in post.summary_html.lower()


@settings(max_examples=200)
@given(
    st.lists(
        st.lists(st.sampled_from(["alpha", "Beta", "beta ", "gamma", "delta", "x"]), max_size=5),
        max_size=6,
    )
)
def test_only_lines_found_in_two_or_more_descriptions_are_ever_removed(
    descriptions: list[list[str]],
) -> None:
    boilerplate = recurring_lines(descriptions)
    for lines in descriptions:
        kept = without_boilerplate(lines, boilerplate)
        for line in set(lines) - set(kept):
            assert sum(normalise(line) in {normalise(x) for x in d} for d in descriptions) >= 2
        for line in kept:
            assert sum(normalise(line) in {normalise(x) for x in d} for d in descriptions) < 2
