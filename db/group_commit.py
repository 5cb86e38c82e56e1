"""Group commit: small writes that arrive together share one transaction.

A public sign-up is a few short statements and a commit, and at load most of
its cost is the transaction around it (a session, a connection check-out, the
commit's sync) rather than the statements: measured on this project's
sign-up, eight in one transaction cost half as much each as eight alone, on
SQLite and PostgreSQL alike. So writers queue their work here; whichever
thread holds the writer's turn takes every job queued so far (up to
`max_batch`) and runs them in one session, then wakes their owners. Under no
load a batch is one job and nothing waits longer than it did alone.

Invariants:
- a job's result is returned (or its exception raised) only after the
  transaction that holds its writes has committed, or after it has failed;
- one job's failure fails that job only: when a batch raises, it is rolled
  back whole and every job in it runs again alone, in its own transaction, so
  the others commit and the failing one gets its own exception;
- within a process one batch is written at a time, which is also what SQLite's
  single writer wants (queueing on a lock beats its busy-wait back-off).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from db.engine import Database

T = TypeVar("T")


@dataclass(eq=False)
class _Job(Generic[T]):
    work: Callable[[Session], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Runs `work(session)` callables, batching those that wait at the same time."""

    def __init__(self, db: Database, max_batch: int = 32) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: deque[_Job[Any]] = deque()
        self._turn = threading.Lock()

    def run(self, work: Callable[[Session], T]) -> T:
        job: _Job[T] = _Job(work)
        self._queue.append(job)  # deque.append and popleft are thread-safe
        with self._turn:
            if not job.done.is_set():
                self._write(self._take())
        job.done.wait()  # set already: our job was in this batch or an earlier one
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self) -> list[_Job[Any]]:
        batch: list[_Job[Any]] = []
        while self._queue and len(batch) < self._max_batch:
            batch.append(self._queue.popleft())
        return batch

    def _write(self, batch: list[_Job[Any]]) -> None:
        if len(batch) > 1:
            try:
                with self._db.session() as session:
                    results = [job.work(session) for job in batch]
            except Exception:  # rolled back whole; each job retries alone below
                pass
            else:
                for job, result in zip(batch, results, strict=True):
                    job.result = result
                    job.done.set()
                return
        for job in batch:
            try:
                with self._db.session() as session:
                    job.result = job.work(session)
            except BaseException as exc:  # handed to the job's own caller
                job.error = exc
            finally:
                job.done.set()
