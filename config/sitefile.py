"""The site file as running processes see it: reloaded when it changes on disk.

A creator edits site.toml while web, worker and beat run. Each process looks
at the file's stat (modification time, size, inode) at most every
CHECK_SECONDS and reloads it when that changed. A file that does not load
(bad TOML, a bad value, gone) keeps the last good configuration and logs one
line, once per broken version; the first load still raises, so a process
never starts on a broken file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from config.site import SiteConfig, SiteConfigError, load_site

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0

Signature = tuple[int, int, int] | None  # (mtime_ns, size, inode); None: cannot stat


def _signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class SiteFile:
    """`current()` is the newest valid configuration read from `path`."""

    def __init__(
        self,
        path: Path,
        *,
        check_seconds: float = CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._seen = _signature(path)
        self._site = load_site(path)  # raises: a process must not start on a broken file
        self._checked = clock()

    def current(self) -> SiteConfig:
        if self._clock() - self._checked < self.check_seconds:
            return self._site
        with self._lock:
            if self._clock() - self._checked >= self.check_seconds:
                self._checked = self._clock()
                self._reload_if_changed()
        return self._site

    def _reload_if_changed(self) -> None:
        seen = _signature(self.path)
        if seen == self._seen:
            return
        self._seen = seen  # a broken version is reported once, not on every check
        try:
            self._site = load_site(self.path)
        except SiteConfigError as exc:
            log.warning("site file not reloaded, keeping the last good one: %s", exc)
            return
        log.info("site file %s reloaded", self.path)
