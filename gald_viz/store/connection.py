"""The database connection: opening (WAL, foreign keys, schema check), transactions and queries."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from gald_viz.store.errors import StoreError, translated
from gald_viz.store.schema import prepare

DEFAULT_DB = Path("results/gald_viz.sqlite")


class Connection:
    """One SQLite connection behind a lock (thread-safe), opened on the results database.

    Args:
        path: the SQLite file; created (with its folder) unless ``read_only``.
        read_only: open with ``mode=ro``: nothing is created or written (for viewers). Where that
            fails because the folder cannot be written (read-only media: WAL readers need a ``-shm``
            file), the file is opened ``immutable=1`` instead (:attr:`immutable` is then True).
        timeout: seconds to wait for another writer's lock before raising ``StoreError(reason="locked")``.
    """

    def __init__(
        self, path: str | os.PathLike = DEFAULT_DB, *, read_only: bool = False, timeout: float = 10.0
    ) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.read_only = read_only
        self.timeout = timeout
        self.immutable = False  # True when read from read-only media (see _connect_immutable)
        self._lock = threading.RLock()
        self._con = self._open()

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise StoreError(self.path, "is a folder, not a file", reason="cannot-open")
        if self.read_only:
            if not self.path.exists():
                raise StoreError(self.path, "does not exist yet", reason="missing")
            mode = "ro"
        else:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    self.root, f"cannot be created ({exc})", reason="read-only", what="results folder"
                ) from exc
            mode = "rwc"
        uri = f"file:{quote(str(self.path.resolve()))}?mode={mode}"
        try:
            return self._connect(uri)
        except StoreError as err:
            if not self.read_only or err.reason not in ("cannot-open", "read-only"):
                raise
        return self._connect_immutable(uri)

    def _connect_immutable(self, uri: str) -> sqlite3.Connection:
        """Read-only media: WAL readers must create the ``-shm`` file, which a read-only folder forbids.

        ``immutable=1`` tells SQLite that nothing changes the file, so it reads it without ``-shm`` or
        locks. A finished store's WAL is folded back into the file by its last writer; a ``-wal`` file
        that still holds pages would be ignored, so that case is refused rather than read stale.
        """
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                self.path,
                f"is in a folder that cannot be written, and its write-ahead log {wal.name} still holds"
                " changes not folded into it; open it once where its folder is writable (or copy the"
                " folder elsewhere)",
                reason="read-only",
            )
        self.immutable = True
        return self._connect(uri + "&immutable=1")

    def _connect(self, uri: str) -> sqlite3.Connection:
        with self._translate():
            con = sqlite3.connect(
                uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            try:
                con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                con.execute("PRAGMA foreign_keys = ON")
                if not self.read_only:
                    con.execute("PRAGMA journal_mode = WAL")
                prepare(con, self.path, read_only=self.read_only)
            except BaseException:
                con.close()
                raise
        return con

    def _translate(self):
        return translated(self.path, self.timeout)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all statements inside commit together or not at all."""
        with self._lock, self._translate():
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
            except BaseException:
                if self._con.in_transaction:
                    self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock, self._translate():
            return self._con.execute(sql, params).fetchall()

    def _query(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        with self._lock, self._translate():
            cursor = self._con.execute(sql, params)
            rows = cursor.fetchall()
        return pd.DataFrame.from_records(rows, columns=[d[0] for d in cursor.description])

    def journal_mode(self) -> str:
        """The database's journal mode (``wal`` for a store opened for writing)."""
        with self._lock, self._translate():
            return self._con.execute("PRAGMA journal_mode").fetchone()[0]

    def close(self) -> None:
        """Close the connection (the last writer's close also folds the WAL back into the file)."""
        with self._lock:
            self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
