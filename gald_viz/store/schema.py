"""The results database's tables (schema version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``).

- ``runs``: one row per evaluation run with its provenance (model, checkpoint path and sha256, arch,
  data spec and the source's ``describe()`` text, image size, thresholds, radii, convention, device,
  times, status). ``run_id`` is a hash of the run's identity (:class:`~gald_viz.store.RunSpec`).
- ``images``: one row per finished image, UNIQUE (run, image). It is written in the same transaction as
  the image's arrays, so an interrupted job never leaves half an image.
- ``image_arrays``: per image, every statistic of :func:`gald_viz.metrics.scoring.score_image` as one
  row (name, dtype, shape, raw bytes); a new statistic is a new name, not a new column.
- ``pair_arrays``: the same for statistics of two runs on one image (``fourway`` for a GA-only run and
  a GALD run).
- ``shard_runs`` (only in shard stores, :mod:`gald_viz.store.shards`): the shard K of N the file holds
  and each run's ``pair_with``; created by the first shard job, never in a main store.

The store keeps numbers as they were computed; every reduction (Table V, mIoU, per-image means) is
done in numpy by :mod:`gald_viz.metrics.reduce`.
"""

import sqlite3
from pathlib import Path

from gald_viz.store.errors import StoreError

SCHEMA_VERSION = 2
"""2: per-image statistics as arrays (``image_arrays``, ``pair_arrays``); 1 had per-class SQL rows."""

_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    model_name TEXT NOT NULL,
    checkpoint_path TEXT,
    checkpoint_sha256 TEXT NOT NULL,
    arch TEXT NOT NULL,
    ld_kind TEXT NOT NULL,
    model_options TEXT NOT NULL,
    data_spec TEXT NOT NULL,
    data_description TEXT NOT NULL,
    data_limit INTEGER,
    image_height INTEGER NOT NULL,
    image_width INTEGER NOT NULL,
    class_names TEXT NOT NULL,
    ignore_index INTEGER NOT NULL,
    thresholds TEXT NOT NULL,
    radii_px TEXT NOT NULL,
    convention TEXT NOT NULL,
    device TEXT NOT NULL,
    n_planned INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE images (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    image TEXT NOT NULL,
    position INTEGER NOT NULL,
    height INTEGER NOT NULL,
    width INTEGER NOT NULL,
    prediction_png TEXT NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, image)
) WITHOUT ROWID;
CREATE TABLE image_arrays (
    run_id TEXT NOT NULL,
    image TEXT NOT NULL,
    name TEXT NOT NULL,
    dtype TEXT NOT NULL,
    shape TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, image, name),
    FOREIGN KEY (run_id, image) REFERENCES images (run_id, image)
) WITHOUT ROWID;
CREATE TABLE pair_arrays (
    run_ga TEXT NOT NULL,
    run_gald TEXT NOT NULL,
    image TEXT NOT NULL,
    name TEXT NOT NULL,
    dtype TEXT NOT NULL,
    shape TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_ga, run_gald, image, name),
    FOREIGN KEY (run_ga, image) REFERENCES images (run_id, image),
    FOREIGN KEY (run_gald, image) REFERENCES images (run_id, image)
) WITHOUT ROWID;
"""


def prepare(con: sqlite3.Connection, path: Path, *, read_only: bool) -> None:
    """Create the schema in an empty file, or check that the file holds this version of it.

    Raises:
        StoreError: ``reason="schema"`` for a foreign SQLite file or another schema version,
            ``reason="missing"`` for an empty file opened read-only.
    """
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version == 0:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if tables:
            raise StoreError(
                path,
                f"is an SQLite file but not a gald-viz results database (tables: {', '.join(tables)})",
                reason="schema",
                what="file",
            )
        if read_only:
            raise StoreError(path, "is empty: no gald-viz results yet", reason="missing")
        con.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have created the schema while we waited for the write lock.
            if con.execute("PRAGMA user_version").fetchone()[0] == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    elif version < SCHEMA_VERSION:
        raise StoreError(
            path,
            f"has results schema version {version}, from an older gald-viz (per-class SQL rows); this"
            f" gald-viz reads version {SCHEMA_VERSION} (per-image arrays). Move the file away (or pass"
            " another --db) and run the evaluations again",
            reason="schema",
        )
    elif version != SCHEMA_VERSION:
        raise StoreError(
            path,
            f"has results schema version {version}; this gald-viz reads version {SCHEMA_VERSION}",
            reason="schema",
        )
