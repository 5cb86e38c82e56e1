"""A creator's first day, for end-to-end tests: a channel feed served on loopback,
a site file of their own, and a reader who subscribes through the web pages.

Everything here acts from outside the product: HTTP requests to the running
server, files in the outbox, the feed server's body. The database is only read,
to wait for a state before acting (a real creator would watch `feeds list`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
from sqlalchemy import select

from db.engine import Database
from db.models import Feed, Subscriber, SubscriberStatus
from tests.support.feed_server import FeedServer, Route
from tests.support.feeds import Video, youtube
from tests.support.forms import forms
from tests.support.mail import link, messages, text_of
from tests.support.processes import wait_for

BROADSHEET = str(Path(sys.executable).with_name("broadsheet"))
READER = "first.reader@example.org"
INTERVAL_MINUTES = 1
HOLD_MINUTES = 1
MARGIN_SECONDS = 30  # the acceptance bound: interval + hold + 30 s
CONFIRM_SUBJECT = "Confirm your subscription"

# A real channel feed lists its last 15 videos; these went up over the past weeks.
BACKLOG = [
    Video(
        f"OldVideo{n:04d}",
        f"Back-catalogue video {n}",
        f"An older video, number {n}.",
        published=f"2026-11-{n + 1:02d}T15:00:00+00:00",
    )
    for n in range(15, 0, -1)  # newest first, as YouTube lists them
]
NEW_VIDEO = Video("NewVideo0001", "A brand-new breathing drill", "Fresh today.")


def site_file(directory: Path, feed_url: str) -> Path:
    """The creator's site.toml: one channel, polled every minute, held one minute."""
    path = directory / "site.toml"
    path.write_text(
        f"""
[newsletter]
name = "Quiet Harbour"
from_email = "letters@quiet-harbour.example"
postal_address = "Quiet Harbour, 7 Pier Lane, Porthcove, PC1 2AB, United Kingdom"
base_url = "http://127.0.0.1:8000"
timezone = "Europe/London"
allow_private_hosts = true

[[lists]]
slug = "videos"
name = "Every new video"
default = true

[[feeds]]
name = "channel"
url = "{feed_url}"
kind = "youtube"
interval_minutes = {INTERVAL_MINUTES}
hold_minutes = {HOLD_MINUTES}

[[schedules]]
name = "new-video"
kind = "instant"
lists = ["videos"]
feeds = ["channel"]
""",
        encoding="utf-8",
    )
    return path


@dataclass
class FirstDay:
    """One creator's directory, feed and processes."""

    directory: Path
    feed: FeedServer
    database_url: str
    port: int
    redis_url: str | None = None
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def outbox(self) -> Path:
        return self.directory / "outbox"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
        env = {
            **keep,
            "DATABASE_URL": self.database_url,
            "MAIL_BACKEND": "outbox",
            "OUTBOX_DIR": str(self.outbox),
            "SITE_CONFIG": str(self.directory / "site.toml"),
            "BASE_URL": self.base_url,
            "SECRET_KEY": "first-day-secret-key-0123456789abcdef",
            "ADMIN_TOKEN": "first-day-admin-token-0123456789",
        }
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def serve_feed(self, videos: list[Video]) -> None:
        self.feed.route("/channel.xml", Route(body=youtube(videos)))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BROADSHEET, *args],
            cwd=self.directory,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, name: str, *args: str) -> None:
        log = (self.directory / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [BROADSHEET, *args],
            cwd=self.directory,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((name, process))

    def stop_all(self) -> None:
        for _name, process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for _name, process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> dict[str, str]:
        return {
            name: (self.directory / f"{name}.log").read_text(errors="replace")
            for name, _ in self.processes
        }

    def wait_for_web(self) -> None:
        def up() -> bool:
            for name, process in self.processes:
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited early:\n{self.logs()[name][-3000:]}")
            try:
                return httpx.get(self.base_url + "/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=60, what="the web server")

    def wait_for_first_poll(self) -> None:
        database = Database.from_url(self.database_url)

        def polled() -> bool:
            with database.session() as session:
                feed = session.scalar(select(Feed).where(Feed.name == "channel"))
                return feed is not None and feed.last_success_at is not None

        try:
            wait_for(polled, timeout=90, what="the channel's first poll")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self._log_tails()}") from None
        finally:
            database.engine.dispose()

    def subscribe_and_confirm(self) -> None:
        """As a reader does: the form on the home page, then the link in the email."""
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            home = client.get("/")
            [form] = [f for f in forms(str(home.url), home.text) if f.action.endswith("/subscribe")]
            answer = client.post(form.action, data=form.data(email=READER, lists=["videos"]))
            assert answer.status_code == 200, answer.text
            wait_for(lambda: self.confirmation() is not None, 60, "the confirmation email")
            confirmation = self.confirmation()
            assert confirmation is not None
            url = link(confirmation, "/confirm/")
            page = client.get(url)
            assert page.status_code == 200, page.text
            posted = [f for f in forms(str(page.url), page.text) if f.method == "post"]
            if posted:  # a confirmation page with a button: press it
                done = client.post(posted[0].action, data=posted[0].data())
                assert done.status_code in (200, 303), done.text
        database = Database.from_url(self.database_url)
        try:
            with database.session() as session:
                status = session.scalar(select(Subscriber.status).where(Subscriber.email == READER))
            assert status is SubscriberStatus.confirmed
        finally:
            database.engine.dispose()

    def confirmation(self) -> EmailMessage | None:
        found = [m for m in self.mail() if str(m["Subject"]).startswith(CONFIRM_SUBJECT)]
        return found[0] if found else None

    def mail(self) -> list[EmailMessage]:
        return messages(self.outbox) if self.outbox.exists() else []

    def editions(self) -> list[EmailMessage]:
        return [m for m in self.mail() if not str(m["Subject"]).startswith(CONFIRM_SUBJECT)]

    def wait_for_edition(self, since: float, bound: float) -> float:
        """Seconds from `since` until the first edition reached the outbox (fails past `bound`)."""
        deadline = since + bound
        while time.monotonic() < deadline:
            if self.editions():
                return time.monotonic() - since
            time.sleep(0.5)
        raise AssertionError(
            f"no edition within {bound:.0f} s of the new video\n{self._log_tails()}"
        )

    def _log_tails(self) -> str:
        return "\n".join(f"--- {name}\n{text[-2500:]}" for name, text in self.logs().items())


def titles_in(message: EmailMessage) -> list[str]:
    """Which of the feed's video titles the text part shows, in the reader's order."""
    text = text_of(message)
    found = []
    for video in [NEW_VIDEO, *BACKLOG]:
        match = re.search(re.escape(video.title) + r"(?!\d)", text)
        if match:
            found.append((match.start(), video.title))
    return [title for _, title in sorted(found)]


def new_video() -> Video:
    """The video the creator publishes during the test, dated now."""
    return Video(
        NEW_VIDEO.video_id,
        NEW_VIDEO.title,
        NEW_VIDEO.description,
        published=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
