"""Background CSV imports: an uploaded file becomes a job, a task imports it with progress.

The web admin saves the upload as `<directory>/<id>.csv` (`upload_path`) and
queues the task, which calls `run_job`: the rows go through `import_csv`
(subscribers/importing.py, so the rules are the CLI's and the API's), and
after each chunk the job row gets the running counts (one small UPDATE), so
the progress page reads rows done, accepted and rejected from the database.

Every rejected row is written to `<id>-rejected.csv`: the columns `line` and
`error`, then the row exactly as it was in the upload, under the upload's own
header. The import ignores unknown columns, so a person fixes that file and
uploads it again. The first `KEEP_REJECTIONS` reasons are also stored as rows
(`import_rejections`) for the page.

Invariants: a job that is done or failed never runs again; a job found
`running` (its worker died and the task came back) starts over from the top,
which the import's idempotence makes safe, with its counts and rejections
reset. The upload is deleted when the job ends; the file of rejected rows
stays for download.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from config.site import SiteConfig
from db.engine import Database
from db.models import ImportJob, ImportJobStatus, ImportRejection, utcnow
from subscribers.importing import ImportFileError, ImportReport, Rejection, import_csv
from subscribers.signup import UnknownList

log = logging.getLogger(__name__)

KEEP_REJECTIONS = 1000
COPY_BUFFER = 1024 * 1024


class JobGone(LookupError):
    """No such import job."""


def upload_path(directory: Path, job_id: int) -> Path:
    return directory / f"{job_id}.csv"


def rejected_path(directory: Path, job_id: int) -> Path:
    return directory / f"{job_id}-rejected.csv"


def create_job(
    session: Session,
    *,
    actor: str,
    filename: str,
    size_bytes: int,
    lists: Sequence[str],
    confirmed: bool,
) -> ImportJob:
    """A queued job (flushed, so it has its id); the caller then puts the file in place."""
    job = ImportJob(
        actor=actor,
        filename=(filename or "upload.csv")[:255],
        size_bytes=size_bytes,
        list_slugs=list(dict.fromkeys(s for s in lists if s)),
        confirmed=confirmed,
        status=ImportJobStatus.queued,
        rows=0,
        added=0,
        existing=0,
        duplicates=0,
        suppressed=0,
        rejected=0,
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def save_upload(source: IO[bytes], target: Path) -> int:
    """Copy an upload (already spooled by the web server) to `target`; returns its size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        while chunk := source.read(COPY_BUFFER):
            out.write(chunk)
            size += len(chunk)
    partial.replace(target)
    return size


def count_lines(path: Path) -> int:
    """Lines after the header (blank ones included): the job's expected row count."""
    lines = 0
    last = b"\n"
    with path.open("rb") as stream:
        while chunk := stream.read(COPY_BUFFER):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1  # a last line without its line ending
    return max(0, lines - 1)


def _cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class _Progress:
    """Writes the running counts and the rejections as the import goes."""

    def __init__(self, db: Database, job_id: int, rejected_file: IO[str]) -> None:
        self.db = db
        self.job_id = job_id
        self.report = ImportReport()
        self.pending: list[Rejection] = []
        self.stored = 0
        self.file = rejected_file

    def reject(self, rejection: Rejection) -> None:
        self.file.write(f"{rejection.line},{_cell(rejection.reason)},{rejection.text}\n")
        if self.stored + len(self.pending) < KEEP_REJECTIONS:
            self.pending.append(rejection)

    def flush(self, _rows: int = 0, *, status: ImportJobStatus | None = None) -> None:
        self.file.flush()
        r = self.report
        values: dict[str, object] = {
            "rows": r.rows,
            "added": r.added,
            "existing": r.existing,
            "duplicates": r.duplicates,
            "suppressed": r.suppressed,
            "rejected": r.rejected,
            "updated_at": utcnow(),
        }
        if status is not None:
            values["status"] = status
            values["finished_at"] = values["updated_at"]
        with self.db.engine.begin() as conn:
            if self.pending:
                conn.execute(
                    insert(ImportRejection),
                    [
                        {"job_id": self.job_id, "line": x.line, "reason": x.reason}
                        for x in self.pending
                    ],
                )
                self.stored += len(self.pending)
                self.pending = []
            conn.execute(update(ImportJob).where(ImportJob.id == self.job_id).values(**values))


def run_job(db: Database, site: SiteConfig, directory: Path, job_id: int) -> ImportJobStatus:
    """Import the job's file, keeping its row up to date; returns how it ended."""
    with db.session() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise JobGone(f"no import job {job_id}")
        if job.status in (ImportJobStatus.done, ImportJobStatus.failed):
            return job.status
        lists, confirmed = list(job.list_slugs), job.confirmed
        session.execute(delete(ImportRejection).where(ImportRejection.job_id == job_id))
        source = upload_path(directory, job_id)
        expected = count_lines(source) if source.exists() else None
        job.status = ImportJobStatus.running
        job.started_at = job.updated_at = utcnow()
        job.expected_rows = expected
        job.error = None
    if expected is None:
        return _fail(db, job_id, "the uploaded file is gone (was DATA_DIR shared with the worker?)")
    with source.open("rb") as raw:
        header = raw.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    with rejected_path(directory, job_id).open("w", encoding="utf-8", newline="") as out:
        out.write(f"line,error,{header}\n")
        progress = _Progress(db, job_id, out)
        try:
            with source.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
                import_csv(
                    db,
                    site,
                    stream,
                    lists=lists,
                    confirmed=confirmed,
                    on_reject=progress.reject,
                    on_progress=progress.flush,
                    report=progress.report,
                )
        except (ImportFileError, UnknownList) as exc:
            progress.flush()
            return _fail(db, job_id, str(exc), source)
        except Exception:
            log.exception("import job %s failed", job_id)
            progress.flush()
            _fail(db, job_id, "the import stopped on an internal error (see the log)", source)
            raise
        progress.flush(status=ImportJobStatus.done)
    source.unlink(missing_ok=True)
    return ImportJobStatus.done


def _fail(db: Database, job_id: int, error: str, source: Path | None = None) -> ImportJobStatus:
    with db.session() as session:
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(status=ImportJobStatus.failed, error=error, finished_at=utcnow())
        )
    if source is not None:
        source.unlink(missing_ok=True)
    return ImportJobStatus.failed


@dataclass(frozen=True)
class JobView:
    job: ImportJob
    rejections: list[ImportRejection]

    @property
    def finished(self) -> bool:
        return self.job.status in (ImportJobStatus.done, ImportJobStatus.failed)

    @property
    def accepted(self) -> int:
        return self.job.added + self.job.existing + self.job.duplicates


def job_view(session: Session, job_id: int, *, with_rejections: bool = True) -> JobView | None:
    """The job and (once it ended) its first stored rejections, in line order."""
    job = session.get(ImportJob, job_id)
    if job is None:
        return None
    rejections: list[ImportRejection] = []
    if with_rejections and job.status in (ImportJobStatus.done, ImportJobStatus.failed):
        rejections = list(
            session.scalars(
                select(ImportRejection)
                .where(ImportRejection.job_id == job_id)
                .order_by(ImportRejection.line)
                .limit(KEEP_REJECTIONS)
            )
        )
    session.expunge_all()
    return JobView(job, rejections)
