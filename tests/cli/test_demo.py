from __future__ import annotations

import base64
import email
import os
import re
import subprocess
import sys
from email import policy
from pathlib import Path

from typer.testing import CliRunner

from cli.demo import DEMO_BASE_URL, DEMO_PEOPLE, run_demo
from cli.main import app
from config.resources import SAMPLES_DIR, SITE_EXAMPLE
from web.files import DEMO_THUMBNAILS_DIR, DEMO_THUMBNAILS_URL

PNG = b"\x89PNG\r\n\x1a\n"


def test_demo_sends_one_email_per_demo_subscriber(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo")
    files = sorted(result.outbox.glob("*.eml"))
    assert len(files) == len(DEMO_PEOPLE) == 3
    assert result.counts["sent"] == 3
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        for part in (" ".join(text.split()), " ".join(html.split())):
            assert "Lanternleaf pairs you with a licensed counsellor" in part
            assert "not medical or psychological advice" in part
        assert "SPONSORED" in text.upper() and "Sponsored" in html
        assert "The 5-4-3-2-1 Drill, Slowed Down" in text  # videos as well as articles
        assert "A One-Page Plan for the Week Before the Holidays" in text
        assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "<script" not in html


def test_demo_localises_the_crisis_line(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo")
    by_person = {p.name.split("-", 3)[3]: p.read_text() for p in result.outbox.glob("*.eml")}
    assert "988" in by_person["ada.reader@example.org.eml"]
    assert "116 123" in by_person["ben.viewer@example.org.eml"]


def test_demo_can_run_twice(tmp_path: Path) -> None:
    run_demo(tmp_path / "demo")
    again = run_demo(tmp_path / "demo")
    assert len(list(again.outbox.glob("*.eml"))) == 3


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in ["init", "demo", "web", "worker", "beat", "serve"]:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_demo_emails_show_the_shipped_video_thumbnails(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo")
    shipped = {p.read_bytes() for p in DEMO_THUMBNAILS_DIR.glob("*.png")}
    assert len(shipped) == 2
    for path in sorted(result.outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        sources = re.findall(r'<img class="thumb"[^>]*\bsrc="([^"]+)"', html)
        assert len(sources) == 2, path.name  # one per video card
        shown = set()
        for src in sources:
            assert src.startswith("data:image/png;base64,")
            shown.add(base64.b64decode(src.removeprefix("data:image/png;base64,")))
        assert shown == shipped
        assert "ytimg.example" not in html


def test_the_sample_channel_points_its_thumbnails_at_the_local_web_app() -> None:
    feed = (SAMPLES_DIR / "channel.xml").read_text()
    urls = re.findall(r'<media:thumbnail url="([^"]+)"', feed)
    assert len(urls) == 2
    for url in urls:
        assert url.startswith(f"{DEMO_BASE_URL}{DEMO_THUMBNAILS_URL}/")
        assert (DEMO_THUMBNAILS_DIR / url.rsplit("/", 1)[1]).read_bytes().startswith(PNG)


def test_demo_command_writes_under_var_of_the_working_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "OUTBOX_DIR")}
    broadsheet = Path(sys.executable).parent / "broadsheet"

    done = subprocess.run([broadsheet, "demo"], cwd=tmp_path, env=env, capture_output=True)

    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "var" / "demo" / "outbox").glob("*.eml"))) == 3


def test_init_writes_site_toml_and_the_database_where_the_operator_says(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SITE_CONFIG")}
    env["DATA_DIR"] = str(tmp_path / "data")
    broadsheet = Path(sys.executable).parent / "broadsheet"

    done = subprocess.run([broadsheet, "init"], cwd=tmp_path, env=env, capture_output=True)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site.toml").read_text() == SITE_EXAMPLE.read_text()
    assert (tmp_path / "data" / "broadsheet.db").is_file()
