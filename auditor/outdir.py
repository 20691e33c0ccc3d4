"""The --out folder: one writer at a time, and reports that appear whole or not at all.

- `out_lock(out)`: a non-blocking `flock` on `out/.auditor.lock`; a second auditor
  writing into the same folder refuses (ConfigError, exit 2) instead of mixing files.
  Reentrant within one process (the CLI holds it for a whole run, `write_reports`
  takes it again), and the lock file is removed on release.
- `replace_files(out, files, stale)`: every file is first written in full to a
  temporary file in `out` (flushed and fsynced), then each is moved into place with
  `os.replace`. A full disk, an error or Ctrl-C while writing leaves the previous
  files as they were and no temporary file behind. `os.replace` swaps a symlink at
  the destination for the new file; the file it pointed to is never written.
  `stale` names (our own report files of formats not written this time) are removed,
  so an older run's report never sits beside the new one looking current.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from auditor.errors import ConfigError

LOCK_NAME = ".auditor.lock"
_TEMP_PREFIX = ".auditor-"
_held: dict[Path, int] = {}  # folder -> depth, for this process


@contextmanager
def out_lock(out: Path) -> Iterator[None]:
    key = Path(os.path.abspath(out))
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    created = [p for p in (key, *key.parents) if not os.path.lexists(p)]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write the reports: {exc.strerror or exc}") from None
    try:
        fd = _acquire(out / LOCK_NAME, out)
    except BaseException:
        _remove_empty(created)
        raise
    _held[key] = 1
    try:
        yield
    finally:
        del _held[key]
        _release(out / LOCK_NAME, fd)
        _remove_empty(created)  # a run that wrote nothing leaves no folder behind


def _remove_empty(created: list[Path]) -> None:
    for folder in created:  # deepest first
        try:
            folder.rmdir()
        except OSError:  # not empty (reports, a demo trail) or not ours to remove
            return


def _acquire(path: Path, out: Path) -> int | None:
    try:
        import fcntl
    except ImportError:  # no flock on this platform: no lock, as before
        return None
    busy = ConfigError(
        f"--out {out}: another auditor is writing reports there ({LOCK_NAME} is held); "
        "wait for it or choose another --out"
    )
    for _ in range(5):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as exc:
            raise ConfigError(
                f"--out {out}: cannot create {LOCK_NAME}: {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise busy from None
        except OSError:  # a file system without flock: no lock, as before
            os.close(fd)
            return None
        # The holder before us may have removed the file between our open and flock:
        # the lock is ours only if the name still points at the file we locked.
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
    raise busy


def _release(path: Path, fd: int | None) -> None:
    if fd is None:
        return
    try:
        path.unlink(missing_ok=True)  # while still locked: no one else holds this file
    except OSError:
        pass
    os.close(fd)


def replace_files(
    out: Path, files: Mapping[str, bytes] | Iterable[tuple[str, bytes]], stale: Iterable[str] = ()
) -> list[Path]:
    """Write every (name, bytes) to `out` atomically; then remove the `stale` names.
    Raises OSError (nothing replaced, no temporary file left) if any write fails."""
    items = files.items() if isinstance(files, Mapping) else files
    temps: list[tuple[str, str]] = []  # (temporary path, final name)
    try:
        for name, data in items:
            fd, tmp = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{name}.", suffix=".tmp", dir=out)
            temps.append((tmp, name))
            with open(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> what open() would give
        written = []
        while temps:
            tmp, name = temps[0]
            os.replace(tmp, out / name)
            temps.pop(0)
            written.append(out / name)
    except BaseException:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    for name in stale:
        if name not in {p.name for p in written}:
            (out / name).unlink(missing_ok=True)  # a symlink: the link, not its target
    _fsync_dir(out)
    return written


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # not every platform or file system syncs a directory
        pass
    finally:
        os.close(fd)
