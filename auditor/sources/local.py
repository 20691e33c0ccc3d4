"""A trail copy on the local disk (an `aws s3 sync` of the bucket, or a handed-over folder)."""

from __future__ import annotations

import os
from pathlib import Path

from auditor.errors import SourceError
from auditor.sources.layout import ListingError


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


class LocalLister:
    def __init__(self, root: str) -> None:
        p = Path(root)
        if not p.exists():
            raise SourceError(f"--source {root}: no such folder")
        if not p.is_dir():
            raise SourceError(f"--source {root}: not a folder")
        self.root = str(p)

    def join(self, *parts: str) -> str:
        return os.path.join(*parts)

    def dirs(self, prefix: str) -> list[str]:
        """Sub-folders; [] when prefix does not exist; ListingError when it cannot be read."""
        try:
            with os.scandir(prefix) as it:
                return [e.name for e in it if e.is_dir(follow_symlinks=True)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:  # PermissionError, EIO, ...: not the same as empty
            raise ListingError(prefix, _why(exc)) from None

    def files(self, prefix: str) -> list[tuple[str, int]]:
        try:
            with os.scandir(prefix) as it:
                out = []
                for e in it:
                    try:
                        is_dir = e.is_dir(follow_symlinks=True)
                        size = e.stat().st_size if e.is_file(follow_symlinks=True) else 0
                    except OSError:  # a symbolic link loop
                        is_dir, size = False, 0
                    # Anything but a folder is listed (a broken or looping link, a FIFO, a
                    # device), and a folder named like a log file too: the read refuses it
                    # and names it in the coverage instead of the file vanishing.
                    if not is_dir or e.name.endswith(".json.gz"):
                        out.append((e.name, size))
                return out
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise ListingError(prefix, _why(exc)) from None
