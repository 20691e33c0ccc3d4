"""The local engine's progress on stderr: the listing (folders listed) and then the
scan (files and bytes done, rate, time left), as rich progress bars when stderr is a
terminal; silent otherwise, or when asked (`quiet`, or AUDITOR_QUIET=1).

Runs in the parent process only (the workers never draw)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

QUIET_ENV = "AUDITOR_QUIET"


def quiet_from_env() -> bool:
    return os.environ.get(QUIET_ENV, "").strip().lower() not in ("", "0", "false", "no")


class _CountingLister:
    """A lister that counts the folders it lists (`files`, `dirs`, `files_many`)."""

    def __init__(self, lister: Any, seen: Any) -> None:
        self._lister = lister
        self._seen = seen
        if hasattr(lister, "files_many"):
            self.files_many = self._files_many

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lister, name)

    def dirs(self, prefix: str) -> Any:
        out = self._lister.dirs(prefix)
        self._seen(1)
        return out

    def files(self, prefix: str) -> Any:
        out = self._lister.files(prefix)
        self._seen(1)
        return out

    def _files_many(self, prefixes: list[str]) -> Any:
        out = self._lister.files_many(prefixes)
        self._seen(len(prefixes))
        return out


class ScanProgress:
    """`listing(lister, source)` then `scan(files, bytes)` / `more(...)` / `done(bytes)`.
    Every method is a no-op when disabled."""

    def __init__(self, enabled: bool | None = None, console: Any = None, clock: Any = None) -> None:
        if enabled is None:
            enabled = console.is_terminal if console is not None else sys.stderr.isatty()
            enabled = enabled and not quiet_from_env()
        self.enabled = enabled
        self._console = console
        self._clock = clock  # rich's get_time (tests)
        self._bar: Any = None
        self._task: Any = None
        self.files = self.files_done = 0

    def _make(self, *columns: Any) -> Any:
        from rich.console import Console
        from rich.progress import Progress

        if self._console is None:
            self._console = Console(stderr=True)
        return Progress(*columns, console=self._console, get_time=self._clock)

    @contextmanager
    def listing(self, lister: Any, source: str) -> Iterator[Any]:
        """The lister to use, counting the folders it lists on a spinner line."""
        if not self.enabled:
            yield lister
            return
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        bar = self._make(
            SpinnerColumn(),
            TextColumn("Listing {task.fields[source]}: {task.completed:.0f} folders"),
            TimeElapsedColumn(),
        )
        with bar:
            task = bar.add_task("listing", total=None, source=source)
            yield _CountingLister(lister, lambda n: bar.advance(task, n))
            bar.update(task, total=bar.tasks[0].completed)

    def start(self, files: int, size: int) -> None:
        """The scan begins: `files` log files of `size` bytes to read."""
        self.files = files
        if not self.enabled:
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = self._make(
            TextColumn("Reading"),
            BarColumn(),
            TextColumn("{task.fields[done]}/{task.fields[files]} files"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        self._bar.__enter__()
        self._task = self._bar.add_task("scan", total=size, done=0, files=files)

    def more(self, files: int, size: int) -> None:
        """More files to read (the look-ahead days; rich starts its rate estimate again)."""
        self.files += files
        if self._bar is not None:
            total = (self._bar.tasks[0].total or 0) + size
            self._bar.update(self._task, total=total, files=self.files)

    def done(self, size: int) -> None:
        """One file read (`size` bytes of it)."""
        self.files_done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=size, done=self.files_done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
