"""StoreError, and the translation of SQLite errors a user's file or environment causes into it."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

# SQLite result codes (base names; extended codes such as SQLITE_BUSY_SNAPSHOT share the prefix) that a
# user's file or environment causes, with the reason StoreError carries and what to tell the user.
_PROBLEMS = {
    "SQLITE_BUSY": ("locked", "is locked by another program (waited {timeout:g} s); close it or retry"),
    "SQLITE_LOCKED": ("locked", "is locked by another connection; retry later"),
    "SQLITE_READONLY": ("read-only", "is read-only: results cannot be written ({detail})"),
    "SQLITE_PERM": ("read-only", "may not be written ({detail})"),
    "SQLITE_CORRUPT": ("corrupt", "is damaged ({detail}); move it away to start a new results file"),
    "SQLITE_NOTADB": ("corrupt", "is not an SQLite database ({detail}); move it away or choose another"),
    "SQLITE_CANTOPEN": ("cannot-open", "cannot be opened ({detail})"),
    "SQLITE_IOERR": ("io", "could not be read or written ({detail})"),
    "SQLITE_FULL": ("disk-full", "cannot grow: the disk is full"),
}


class StoreError(ValueError):
    """A results database or prediction file that cannot be used; the message names the file.

    Attributes:
        path: the file concerned.
        reason: a short tag the app can branch on: ``locked``, ``read-only``, ``corrupt``,
            ``cannot-open``, ``io``, ``disk-full``, ``schema``, ``missing``, ``busy``, ``unknown-run``,
            ``shards`` (shard stores that cannot be merged, :mod:`gald_viz.store.merge`).
    """

    def __init__(
        self, path: str | os.PathLike, problem: str, *, reason: str, what: str = "results database"
    ) -> None:
        super().__init__(f"{what} {path} {problem}")
        self.path = Path(path)
        self.reason = reason


@contextlib.contextmanager
def translated(path: Path, timeout: float) -> Iterator[None]:
    """Turn SQLite errors caused by the file or its environment into StoreError naming the file."""
    try:
        yield
    except sqlite3.Error as exc:
        # Python >= 3.11 names the SQLite result code; extended codes extend the base name.
        base = "_".join(getattr(exc, "sqlite_errorname", "").split("_")[:2])
        if base not in _PROBLEMS:
            raise
        reason, problem = _PROBLEMS[base]
        raise StoreError(path, problem.format(timeout=timeout, detail=str(exc)), reason=reason) from exc
