"""Queue tasks from a web process without paying for a publish per request.

`Task.delay` costs about 0.3 ms of CPU with the Redis broker (the message,
a Redis client made per publish by kombu, one round trip). On the sign-up hot
path that was a fifth of a request. A `Publisher` takes task arguments on an
in-memory queue (the caller pays a `put`) and one thread per process sends
whatever has gathered through one producer in one Redis pipeline
(`Producer.batch`). Under load many sign-ups share a round trip; an idle
server publishes each at once.

A message waits in this process at most the time of one batch; the process
publishes what is left when it exits normally. A process killed in between
loses those messages, as it would lose a background task it had not run yet:
callers whose work must not be lost record it in the database first (a
sign-up's confirmation is swept by `tasks.subscribers.sweep_confirmations`).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from typing import Any

from celery import Task

log = logging.getLogger(__name__)

_STOP = object()
BATCH_MAX = 500  # messages per pipeline


class Publisher:
    def __init__(self, task: Task) -> None:
        self.task = task
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, *args: Any) -> None:
        """Queue one call of the task with these arguments."""
        if self._thread is None:
            self._start()
        self._queue.put(args)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="task-publisher", daemon=True)
                thread.start()
                atexit.register(self.close)
                self._thread = thread

    def close(self, timeout: float = 10.0) -> None:
        """Publish what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in batch
            calls = [args for args in batch if args is not _STOP]
            if calls:
                self._publish(calls)
            if stop:
                return

    def _publish(self, calls: list[tuple[Any, ...]]) -> None:
        try:
            with self.task.app.producer_or_acquire() as producer, producer.batch():
                for args in calls:
                    self.task.apply_async(args, producer=producer)
        except Exception:
            # As with a failed background task: logged; the visitor may sign up again.
            log.exception("could not queue %d %s task(s)", len(calls), self.task.name)
