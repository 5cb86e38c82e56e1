from __future__ import annotations

from pathlib import Path

import pytest

from config.resources import SITE_EXAMPLE
from config.site import SiteConfigError, load_site

EXAMPLE = (SITE_EXAMPLE).read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def test_the_example_site_file_is_valid() -> None:
    site = load_site(SITE_EXAMPLE)
    assert site.newsletter.postal_address
    assert {"videos", "articles", "weekly"} <= set(site.list_slugs())
    assert site.feed("channel") is not None
    assert site.feed("channel").resolved_kind == "youtube"  # type: ignore[union-attr]


def test_a_bad_value_names_file_key_and_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path, EXAMPLE.replace('timezone = "America/Chicago"', 'timezone = "Mars/Olympus"')
    )
    with pytest.raises(SiteConfigError) as err:
        load_site(path)
    message = str(err.value)
    assert message.startswith(f"{path}: newsletter.timezone: ")
    assert "Mars/Olympus" in message
    assert "\n" not in message


def test_a_sponsor_with_an_unknown_list_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace('lists = ["videos", "weekly"]', 'lists = ["podcast"]'))
    with pytest.raises(SiteConfigError, match="unknown list"):
        load_site(path)


def test_a_sponsor_flight_must_end_after_it_starts(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace("ends = 2027-12-31", "ends = 2026-10-01"))
    with pytest.raises(SiteConfigError, match=r"sponsors\[0\]: ends is before starts"):
        load_site(path)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace("[newsletter]", "[newsletter]\ncolour = 'teal'"))
    with pytest.raises(SiteConfigError, match=r"newsletter\.colour"):
        load_site(path)


def test_broken_toml_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SiteConfigError, match="not valid TOML"):
        load_site(write(tmp_path, "[newsletter\nname ="))


def test_a_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(SiteConfigError, match="broadsheet init"):
        load_site(tmp_path / "nope.toml")


def test_a_digest_schedule_needs_a_cron(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace('cron = "0 9 * * MON"', ""))
    with pytest.raises(SiteConfigError, match="needs cron"):
        load_site(path)


@pytest.mark.parametrize(
    ("cron", "problem"), [("61 9 * * MON", "bad minute"), ("0 25 * * *", "bad hour")]
)
def test_a_cron_out_of_range_fails_the_load_with_one_line_naming_the_key(
    tmp_path: Path, cron: str, problem: str
) -> None:
    path = write(tmp_path, EXAMPLE.replace('cron = "0 9 * * MON"', f'cron = "{cron}"'))
    with pytest.raises(SiteConfigError) as err:
        load_site(path)
    assert str(err.value) == f"{path}: schedules[0].cron: cron '{cron}': {problem}"


def test_a_feed_backfill_is_a_count_of_entries(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace("backfill = 0", "backfill = 3"))
    assert load_site(path).feed("channel").backfill == 3  # type: ignore[union-attr]
    negative = write(tmp_path, EXAMPLE.replace("backfill = 0", "backfill = -1"))
    with pytest.raises(SiteConfigError, match=r"feeds\[0\]\.backfill"):
        load_site(negative)
