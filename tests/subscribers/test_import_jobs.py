"""Background import jobs (subscribers/import_jobs.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import func, select, update

from config.site import SiteConfig
from db.engine import Database
from db.models import ImportJob, ImportJobStatus, ImportRejection, Subscriber
from subscribers.addresses import email_hash
from subscribers.import_jobs import (
    create_job,
    job_view,
    rejected_path,
    run_job,
    upload_path,
)
from subscribers.service import suppress

FILE = (
    "email,name,lists\r\n"
    "ada@example.org,Ada,videos\r\n"
    "not-an-address,Bad,\r\n"
    "ben@example.org,Ben,nosuchlist\r\n"
    "gone@example.org,Gone,\r\n"
    '"open@example.org,Open,\r\n'
    "cy@example.org,Cy,\r\n"
    "ada@example.org,Ada again,weekly\r\n"
)


def _job(db: Database, directory: Path, content: str) -> int:
    with db.session() as session:
        job = create_job(
            session, actor="owner@example.org", filename="people.csv", size_bytes=len(content),
            lists=[], confirmed=False,
        )  # fmt: skip
        job_id = job.id
    directory.mkdir(parents=True, exist_ok=True)
    upload_path(directory, job_id).write_text(content, encoding="utf-8", newline="")
    return job_id


def test_a_job_counts_rows_stores_reasons_and_writes_the_rejected_rows_as_they_were(
    db: Database, site: SiteConfig, tmp_path: Path
) -> None:
    with db.session() as session:
        suppress(session, email_hash("gone@example.org"), "complained")
    job_id = _job(db, tmp_path, FILE)
    assert run_job(db, site, tmp_path, job_id) is ImportJobStatus.done
    with db.session() as session:
        shown = job_view(session, job_id)
        assert shown is not None and shown.finished
        job = shown.job
        assert (job.rows, job.expected_rows, job.rejected) == (7, 7, 4)
        assert (job.added, job.existing, job.duplicates, job.suppressed) == (2, 0, 1, 1)
        assert [r.line for r in shown.rejections] == [3, 4, 5, 6]
        assert shown.rejections[0].reason.startswith("invalid email")
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 2
    assert not upload_path(tmp_path, job_id).exists()
    lines = rejected_path(tmp_path, job_id).read_text().splitlines()
    rows = list(csv.reader(io.StringIO("\n".join(lines[:3]))))
    assert rows[0] == ["line", "error", "email", "name", "lists"]
    assert rows[1] == ["3", rows[1][1], "not-an-address", "Bad", ""]
    assert rows[2] == ["4", "unknown list(s): nosuchlist", "ben@example.org", "Ben", "nosuchlist"]
    # The unreadable row is kept byte for byte, its unclosed quote too; suppression is
    # found when its chunk is stored, so that row comes after the chunk's parse errors.
    assert lines[3].endswith(',"open@example.org,Open,') and lines[3].startswith("6,")
    assert lines[4].startswith("5,") and lines[4].endswith(",gone@example.org,Gone,")


def test_the_rejected_rows_file_imports_again_once_fixed(
    db: Database, site: SiteConfig, tmp_path: Path
) -> None:
    first = _job(db, tmp_path, "email,lists\nbroken,videos\n")
    run_job(db, site, tmp_path, first)
    fixed = rejected_path(tmp_path, first).read_text().replace("broken", "fixed@example.org")
    second = _job(db, tmp_path, fixed)
    assert run_job(db, site, tmp_path, second) is ImportJobStatus.done
    with db.session() as session:
        assert session.scalars(select(Subscriber.email)).all() == ["fixed@example.org"]


def test_a_job_found_running_starts_over_and_a_finished_one_never_runs_again(
    db: Database, site: SiteConfig, tmp_path: Path
) -> None:
    """A worker died mid-import and the task came back: the counts are not added twice."""
    job_id = _job(db, tmp_path, FILE)
    with db.session() as session:
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(status=ImportJobStatus.running, rows=5, added=1, rejected=3)
        )
        session.add(ImportRejection(job_id=job_id, line=99, reason="from the dead run"))
    run_job(db, site, tmp_path, job_id)
    upload_path(tmp_path, job_id).write_text(FILE)  # even with the file back,
    assert run_job(db, site, tmp_path, job_id) is ImportJobStatus.done  # nothing runs again
    with db.session() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None and (job.rows, job.added, job.rejected) == (7, 3, 3)
        lines = session.scalars(select(ImportRejection.line).order_by(ImportRejection.line))
        assert list(lines) == [3, 4, 6]


def test_a_file_that_cannot_be_imported_fails_the_job_with_the_reason(
    db: Database, site: SiteConfig, tmp_path: Path
) -> None:
    job_id = _job(db, tmp_path, "name\nAda\n")
    assert run_job(db, site, tmp_path, job_id) is ImportJobStatus.failed
    missing = _job(db, tmp_path, "email\n")
    upload_path(tmp_path, missing).unlink()
    assert run_job(db, site, tmp_path, missing) is ImportJobStatus.failed
    with db.session() as session:
        failed = session.get(ImportJob, job_id)
        gone = session.get(ImportJob, missing)
        assert failed is not None and failed.error == "the header row has no 'email' column"
        assert gone is not None and gone.error is not None and "gone" in gone.error
    assert not upload_path(tmp_path, job_id).exists()
