from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from config.resources import SITE_EXAMPLE
from config.runtime import Runtime, set_runtime
from config.settings import Settings
from db.engine import Database
from tests.support.feed_server import FeedServer, Route
from tests.support.feeds import Item, Video, rss, youtube

runner = CliRunner()
CHANNEL_URL = "https://www.youtube.com/feeds/videos.xml?channel_id=UCsteadygroundexample00"
BLOG_URL = "https://steady-ground.example/feed.xml"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.route(
            "/channel.xml",
            Route(
                body=youtube([Video("CliVideo001", "A calm video", "What is new.")]), etag='"c1"'
            ),
        )
        server.route("/blog.xml", Route(status=500, body=b"down"))
        yield server


@pytest.fixture
def cli_runtime(
    settings: Settings, db: Database, tmp_path: Path, feed_server: FeedServer
) -> Iterator[Runtime]:
    """The example site, with its two feeds served on loopback (the blog is down)."""
    text = (SITE_EXAMPLE).read_text()
    text = text.replace("allow_private_hosts = false", "allow_private_hosts = true")
    text = text.replace(CHANNEL_URL, feed_server.url("/channel.xml"))
    text = text.replace(BLOG_URL, feed_server.url("/blog.xml"))
    site_file = tmp_path / "site.toml"
    site_file.write_text(text)
    rt = Runtime(settings.model_copy(update={"site_config": site_file}))
    rt.__dict__["db"] = db
    set_runtime(rt)
    yield rt
    set_runtime(None)


def _json(args: list[str]) -> object:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_feeds_list_before_any_poll_says_never_polled(cli_runtime: Runtime) -> None:
    rows = _json(["feeds", "list", "--json"])
    assert [(r["name"], r["status"], r["posts"]) for r in rows] == [  # type: ignore[index,union-attr]
        ("channel", "never polled", 0),
        ("blog", "never polled", 0),
    ]


def test_feeds_poll_reports_each_feed_and_exits_1_when_one_failed(cli_runtime: Runtime) -> None:
    result = runner.invoke(app, ["feeds", "poll", "--json"])
    assert result.exit_code == 1
    reports = {r["feed"]: r for r in json.loads(result.stdout)}
    assert reports["channel"]["ok"] and reports["channel"]["new"] == 1
    assert not reports["blog"]["ok"] and "HTTP 500" in reports["blog"]["error"]


def test_feeds_list_shows_status_last_success_last_error_and_post_count(
    cli_runtime: Runtime,
) -> None:
    runner.invoke(app, ["feeds", "poll"])
    rows = {r["name"]: r for r in _json(["feeds", "list", "--json"])}  # type: ignore[union-attr]
    assert rows["channel"]["status"] == "ok" and rows["channel"]["posts"] == 1
    assert rows["channel"]["last_success_at"] is not None
    assert rows["blog"]["status"] == "failing" and rows["blog"]["error_count"] == 1
    assert "HTTP 500" in rows["blog"]["last_error"]
    table = runner.invoke(app, ["feeds", "list"])
    assert table.exit_code == 0
    assert "channel" in table.stdout and "failing" in table.stdout and "HTTP 500" in table.stdout


def test_feeds_poll_one_feed_by_name(cli_runtime: Runtime, feed_server: FeedServer) -> None:
    result = runner.invoke(app, ["feeds", "poll", "--feed", "channel"])
    assert result.exit_code == 0, result.output
    assert "channel" in result.stdout and "blog" not in result.stdout
    assert feed_server.requests_for("/blog.xml") == []
    again = runner.invoke(app, ["feeds", "poll", "--feed", "channel", "--json"])
    assert json.loads(again.stdout)[0]["not_modified"] is True


def test_feeds_poll_an_unknown_feed_is_one_line_error(cli_runtime: Runtime) -> None:
    result = runner.invoke(app, ["feeds", "poll", "--feed", "nope"])
    assert result.exit_code == 1
    assert "no feed named 'nope'" in result.output


def test_posts_list_shows_polled_posts(cli_runtime: Runtime, feed_server: FeedServer) -> None:
    feed_server.route(
        "/blog.xml", Route(body=rss([Item("b1", "Blog note", "https://b.example/1")]))
    )
    runner.invoke(app, ["feeds", "poll"])
    posts = _json(["posts", "list", "--json"])
    assert sorted(p["title"] for p in posts) == ["A calm video", "Blog note"]  # type: ignore[index,union-attr]
    only = _json(["posts", "list", "--feed", "blog", "--json"])
    assert [p["feed"] for p in only] == ["blog"]  # type: ignore[index,union-attr]
    table = runner.invoke(app, ["posts", "list"])
    assert table.exit_code == 0 and "A calm video" in table.stdout


def test_feeds_poll_says_the_first_poll_recorded_the_backlog(
    cli_runtime: Runtime, feed_server: FeedServer
) -> None:
    videos = [Video(f"CliOld{n:05d}", f"Older video {n}", "From before.") for n in range(15)]
    feed_server.route("/channel.xml", Route(body=youtube(videos)))
    result = runner.invoke(app, ["feeds", "poll", "--feed", "channel"])
    assert result.exit_code == 0, result.output
    assert (
        "channel: first poll: 15 entries recorded as already published; none will be mailed"
        in " ".join(result.stdout.split())
    )
    again = runner.invoke(app, ["feeds", "poll", "--feed", "channel"])
    assert "first poll" not in again.stdout
    posts = _json(["posts", "list", "--limit", "50", "--json"])
    assert len(posts) == 15 and all(p["backlog"] for p in posts)  # type: ignore[arg-type,index,union-attr]


def test_feeds_poll_backfill_mails_the_newest_entries_of_a_first_poll(
    cli_runtime: Runtime,
) -> None:
    [report] = _json(["feeds", "poll", "--feed", "channel", "--backfill", "1", "--json"])  # type: ignore[misc]
    late = runner.invoke(app, ["feeds", "poll", "--feed", "channel", "--backfill", "1"])
    assert "first poll only" in late.stdout
    assert (report["first_poll"], report["backlog"], report["backfilled"]) == (True, 0, 1)
    posts = _json(["posts", "list", "--json"])
    assert [(p["title"], p["backlog"]) for p in posts] == [("A calm video", False)]  # type: ignore[index,union-attr]
