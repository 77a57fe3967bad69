"""SQLite results store: evaluation runs, per-image per-class metric rows and predicted label maps.

One database file (default ``results/gald_viz.sqlite``) in WAL mode, so the app reads while a job writes.
Predicted trainId maps are PNG files beside it, ``<db folder>/predictions/<run_id>/<image>.png``, so the
app shows and compares predictions without running a network again.

Tables (schema version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``):

- ``runs``: one row per evaluation run with its provenance (model, checkpoint path and sha256, arch,
  data spec and the source's ``describe()`` text, image size, thresholds, radii, convention, device,
  times, status). A run's identity is (checkpoint sha256, data spec, limit, thresholds, image size,
  ignore index, class names); ``run_id`` is a hash of it, so the same command resumes the same run.
- ``images``: one row per finished image, UNIQUE (run, image). It is written in the same transaction as
  the image's metric rows, so an interrupted job never leaves half an image.
- ``class_stats``: per image and class: tp, fp, fn (IoU statistics over non-ignored pixels), GT pixels,
  predicted pixels (whole image).
- ``boundary_stats``: per image, threshold and class: radius in px, boundary precision, recall and F
  (G-SCNN's values, also where a map has no boundary; see ``shared/DESIGN.md``).
- ``tolerance_f``: per image, fixed pixel radius (1-20 px) and class: boundary F, for F-vs-tolerance
  curves that do not scale with the image size.
- ``fourway``: per image and class, for a GA-only run and a GALD run on the same data: pixels both right,
  GALD fixes, GALD breaks, both wrong.

Every database problem a user can cause (a locked, read-only, corrupt or foreign file) raises
:class:`StoreError`, a ``ValueError`` naming the file, so the app can catch it and carry on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import pandas as pd

DEFAULT_DB = Path("results/gald_viz.sqlite")
SCHEMA_VERSION = 1

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
CREATE TABLE class_stats (
    run_id TEXT NOT NULL,
    image TEXT NOT NULL,
    class_id INTEGER NOT NULL,
    tp INTEGER NOT NULL,
    fp INTEGER NOT NULL,
    fn INTEGER NOT NULL,
    gt_pixels INTEGER NOT NULL,
    pred_pixels INTEGER NOT NULL,
    PRIMARY KEY (run_id, image, class_id),
    FOREIGN KEY (run_id, image) REFERENCES images (run_id, image)
) WITHOUT ROWID;
CREATE TABLE boundary_stats (
    run_id TEXT NOT NULL,
    image TEXT NOT NULL,
    threshold_index INTEGER NOT NULL,
    class_id INTEGER NOT NULL,
    radius_px INTEGER NOT NULL,
    precision REAL NOT NULL,
    recall REAL NOT NULL,
    f REAL NOT NULL,
    PRIMARY KEY (run_id, image, threshold_index, class_id),
    FOREIGN KEY (run_id, image) REFERENCES images (run_id, image)
) WITHOUT ROWID;
CREATE TABLE tolerance_f (
    run_id TEXT NOT NULL,
    image TEXT NOT NULL,
    radius_px INTEGER NOT NULL,
    class_id INTEGER NOT NULL,
    f REAL NOT NULL,
    PRIMARY KEY (run_id, image, radius_px, class_id),
    FOREIGN KEY (run_id, image) REFERENCES images (run_id, image)
) WITHOUT ROWID;
CREATE TABLE fourway (
    run_ga TEXT NOT NULL,
    run_gald TEXT NOT NULL,
    image TEXT NOT NULL,
    class_id INTEGER NOT NULL,
    both_right INTEGER NOT NULL,
    gald_fixes INTEGER NOT NULL,
    gald_breaks INTEGER NOT NULL,
    both_wrong INTEGER NOT NULL,
    PRIMARY KEY (run_ga, run_gald, image, class_id),
    FOREIGN KEY (run_ga, image) REFERENCES images (run_id, image),
    FOREIGN KEY (run_gald, image) REFERENCES images (run_id, image)
) WITHOUT ROWID;
"""

FOURWAY_COLUMNS = ("both_right", "gald_fixes", "gald_breaks", "both_wrong")
COMPARE_FOURWAY_COLUMNS = ("both_right", "b_fixes", "b_breaks", "both_wrong")
# Restricts a per-image query on one run to the images another run has stored too.
_ALSO_DONE_BY = " AND image IN (SELECT image FROM images WHERE run_id = ?)"

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
            ``incomparable``.
    """

    def __init__(
        self, path: str | os.PathLike, problem: str, *, reason: str, what: str = "results database"
    ) -> None:
        super().__init__(f"{what} {path} {problem}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class RunSpec:
    """Everything a run records about what was evaluated and how (its provenance).

    Thresholds are diagonal fractions (< 1) or whole pixels (>= 1); ``radii_px`` are their radii at
    ``image_height`` x ``image_width`` (G-SCNN: r = ceil(th * sqrt(H^2 + W^2))).
    """

    model_name: str
    checkpoint_path: str | None
    checkpoint_sha256: str
    arch: str
    ld_kind: str
    model_options: Mapping[str, object]
    data_spec: str
    data_description: str
    data_limit: int | None
    image_height: int
    image_width: int
    class_names: Sequence[str]
    ignore_index: int
    thresholds: Sequence[float]
    radii_px: Sequence[int]
    convention: str
    n_planned: int

    def identity(self) -> dict:
        """The fields that make two commands the same run (a rerun resumes it)."""
        return {
            "checkpoint_sha256": self.checkpoint_sha256,
            "data_spec": self.data_spec,
            "data_limit": self.data_limit,
            "image_size": [int(self.image_height), int(self.image_width)],
            "thresholds": [float(t) for t in self.thresholds],
            "ignore_index": int(self.ignore_index),
            "class_names": list(self.class_names),
        }

    @property
    def run_id(self) -> str:
        """A 16-hex-digit hash of :meth:`identity`, stable across databases and machines."""
        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ImageResult:
    """The metric rows of one image: per-class IoU statistics and boundary P/R/F per threshold.

    Arrays: ``tp``, ``fp``, ``fn``, ``gt_pixels``, ``pred_pixels`` of shape (C,); ``radius_px`` (T,);
    ``precision``, ``recall``, ``f`` of shape (T, C);
    ``tolerance_radii`` (R,) fixed pixel radii and ``tolerance_f`` (R, C) the F at each.
    """

    image: str
    position: int
    height: int
    width: int
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    gt_pixels: np.ndarray
    pred_pixels: np.ndarray
    radius_px: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f: np.ndarray
    tolerance_radii: np.ndarray
    tolerance_f: np.ndarray
    seconds: float


def prediction_filename(image: str) -> str:
    """A file name for an image name: kept as is when safe, else sanitised plus a hash (stays unique).

    >>> prediction_filename("frankfurt_000000_000294")
    'frankfurt_000000_000294.png'
    >>> prediction_filename("a/b")
    'a_b-...png'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", image)
    if safe == image and not image.startswith("."):
        return image + ".png"
    return f"{safe.lstrip('.')}-{hashlib.sha1(image.encode()).hexdigest()[:8]}.png"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ResultsStore:
    """The results database and its predictions folder.

    Args:
        path: the SQLite file; created (with its folder) unless ``read_only``.
        read_only: open with ``mode=ro``: nothing is created or written (for viewers).
        timeout: seconds to wait for another writer's lock before raising ``StoreError(reason="locked")``.

    The object is thread-safe (one connection behind a lock), so the app may share one instance.
    """

    def __init__(
        self, path: str | os.PathLike = DEFAULT_DB, *, read_only: bool = False, timeout: float = 10.0
    ) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.read_only = read_only
        self.timeout = timeout
        self._lock = threading.RLock()
        self._con = self._open()

    # -- connection and errors ------------------------------------------------------------------
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
        with self._translate():
            con = sqlite3.connect(
                uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            try:
                con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                con.execute("PRAGMA foreign_keys = ON")
                if not self.read_only:
                    con.execute("PRAGMA journal_mode = WAL")
                self._check_schema(con)
            except BaseException:
                con.close()
                raise
        return con

    def _check_schema(self, con: sqlite3.Connection) -> None:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if tables:
                raise StoreError(
                    self.path,
                    f"is an SQLite file but not a gald-viz results database (tables: {', '.join(tables)})",
                    reason="schema",
                    what="file",
                )
            if self.read_only:
                raise StoreError(self.path, "is empty: no gald-viz results yet", reason="missing")
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
        elif version != SCHEMA_VERSION:
            raise StoreError(
                self.path,
                f"has results schema version {version}; this gald-viz reads version {SCHEMA_VERSION}",
                reason="schema",
            )

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        """Turn SQLite errors caused by the file or its environment into StoreError naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            # Python >= 3.11 names the SQLite result code; extended codes extend the base name.
            base = "_".join(getattr(exc, "sqlite_errorname", "").split("_")[:2])
            if base not in _PROBLEMS:
                raise
            reason, problem = _PROBLEMS[base]
            raise StoreError(
                self.path, problem.format(timeout=self.timeout, detail=str(exc)), reason=reason
            ) from exc

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

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing (evaluation jobs) ---------------------------------------------------------------
    def start_run(self, spec: RunSpec, *, device: str) -> str:
        """Create the run, or mark an existing run with the same identity as running again.

        Returns:
            The run id.
        """
        run_id = spec.run_id
        with self._transaction() as con:
            exists = con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if exists:
                con.execute(
                    "UPDATE runs SET status = 'running', error = NULL, finished_at = NULL, device = ?"
                    " WHERE run_id = ?",
                    (device, run_id),
                )
            else:
                con.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " 'running', NULL, ?, NULL)",
                    (
                        run_id,
                        json.dumps(spec.identity(), sort_keys=True),
                        spec.model_name,
                        spec.checkpoint_path,
                        spec.checkpoint_sha256,
                        spec.arch,
                        spec.ld_kind,
                        json.dumps(dict(spec.model_options), sort_keys=True),
                        spec.data_spec,
                        spec.data_description,
                        spec.data_limit,
                        int(spec.image_height),
                        int(spec.image_width),
                        json.dumps(list(spec.class_names)),
                        int(spec.ignore_index),
                        json.dumps([float(t) for t in spec.thresholds]),
                        json.dumps([int(r) for r in spec.radii_px]),
                        spec.convention,
                        device,
                        int(spec.n_planned),
                        _now(),
                    ),
                )
        return run_id

    def finish_run(self, run_id: str, *, error: str | None = None) -> None:
        """Mark a run finished, or failed with ``error``."""
        status = "finished" if error is None else "failed"
        with self._transaction() as con:
            con.execute(
                "UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE run_id = ?",
                (status, error, _now(), run_id),
            )

    @contextlib.contextmanager
    def run_lock(self, run_id: str) -> Iterator[None]:
        """Hold the run's job lock; a second job on the same run raises ``StoreError(reason="busy")``.

        An OS file lock (flock) is released by the kernel when its process dies, SIGKILL included, so a
        killed job never blocks its own resumption. Stale temporary PNGs of a killed job are removed.
        """
        folder = self.root / "predictions" / run_id
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / ".job.lock", "a+b")  # noqa: SIM115 (held for the whole job)
        except OSError as exc:
            raise StoreError(
                folder, f"cannot be written ({exc})", reason="read-only", what="predictions folder"
            ) from exc
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreError(
                    folder,
                    f"is in use: run {run_id} is being evaluated by another process",
                    reason="busy",
                    what="predictions folder",
                ) from exc
            for stale in folder.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
            yield
        finally:
            handle.close()

    def save_prediction(self, run_id: str, image: str, label_map: np.ndarray) -> str:
        """Write a predicted trainId map as PNG atomically (temporary file, fsync, rename).

        Call it before :meth:`add_image` commits the image, so a committed image always has its PNG.

        Returns:
            The PNG path relative to the database folder (what ``images.prediction_png`` stores).
        """
        relative = Path("predictions") / run_id / prediction_filename(image)
        final = self.root / relative
        temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        ok, encoded = cv2.imencode(".png", np.ascontiguousarray(label_map, dtype=np.uint8))
        if not ok:
            raise StoreError(final, "could not be encoded as PNG", reason="io", what="prediction")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as handle:
                handle.write(encoded.tobytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise StoreError(final, f"cannot be written ({exc})", reason="io", what="prediction") from exc
        return relative.as_posix()

    def add_image(
        self,
        run_id: str,
        result: ImageResult,
        *,
        prediction_png: str,
        fourway: Mapping[tuple[str, str], np.ndarray] | None = None,
    ) -> None:
        """Store one image: its ``images`` row and all its metric rows, in one transaction.

        Args:
            run_id: the run.
            result: the image's metrics.
            prediction_png: what :meth:`save_prediction` returned.
            fourway: optional ``{(run_ga, run_gald): counts (C, 4)}`` for this image, columns as
                :data:`FOURWAY_COLUMNS`.
        """
        name = result.image
        class_rows = [
            (run_id, name, c, *(int(a[c]) for a in (result.tp, result.fp, result.fn)))
            + (int(result.gt_pixels[c]), int(result.pred_pixels[c]))
            for c in range(len(result.tp))
        ]
        boundary_rows = [
            (
                run_id,
                name,
                t,
                c,
                int(result.radius_px[t]),
                float(result.precision[t, c]),
                float(result.recall[t, c]),
                float(result.f[t, c]),
            )
            for t in range(result.f.shape[0])
            for c in range(result.f.shape[1])
        ]
        tolerance_rows = [
            (run_id, name, int(r), c, float(result.tolerance_f[k, c]))
            for k, r in enumerate(result.tolerance_radii)
            for c in range(result.tolerance_f.shape[1])
        ]
        with self._transaction() as con:
            con.execute(
                "INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, name, result.position, result.height, result.width, prediction_png, result.seconds),
            )
            con.executemany("INSERT INTO class_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?)", class_rows)
            con.executemany("INSERT INTO boundary_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?)", boundary_rows)
            con.executemany("INSERT INTO tolerance_f VALUES (?, ?, ?, ?, ?)", tolerance_rows)
            for (run_ga, run_gald), counts in (fourway or {}).items():
                self._insert_fourway(con, run_ga, run_gald, name, counts)

    def add_fourway(self, run_ga: str, run_gald: str, image: str, counts: np.ndarray) -> None:
        """Store the four-way counts (C, 4) of one image for a GA-only and a GALD run, in one transaction."""
        with self._transaction() as con:
            self._insert_fourway(con, run_ga, run_gald, image, counts)

    @staticmethod
    def _insert_fourway(con: sqlite3.Connection, run_ga: str, run_gald: str, image: str, counts) -> None:
        # Both runs' jobs may catch up on the same pair at once; the counts are a function of the two
        # stored predictions and the GT, so a second identical insert is dropped, never doubled.
        con.executemany(
            "INSERT OR IGNORE INTO fourway VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (run_ga, run_gald, image, c, *(int(v) for v in row))
                for c, row in enumerate(np.asarray(counts))
            ],
        )

    def done_images(self, run_id: str) -> set[str]:
        """Names of the images of a run that are stored completely."""
        return set(self._query("SELECT image FROM images WHERE run_id = ?", (run_id,))["image"])

    def fourway_missing(self, run_ga: str, run_gald: str) -> list[str]:
        """Images done by both runs that have no four-way rows for the pair yet, in the GALD run's order."""
        return list(
            self._query(
                "SELECT b.image FROM images AS a JOIN images AS b ON a.image = b.image"
                " WHERE a.run_id = ? AND b.run_id = ? AND NOT EXISTS (SELECT 1 FROM fourway AS w"
                " WHERE w.run_ga = a.run_id AND w.run_gald = b.run_id AND w.image = a.image)"
                " ORDER BY b.position",
                (run_ga, run_gald),
            )["image"]
        )

    # -- reading (the app, summaries) ------------------------------------------------------------
    def runs(self) -> pd.DataFrame:
        """All runs, newest first, with ``n_done`` (images stored); JSON columns decoded to lists/dicts."""
        frame = self._query(
            "SELECT r.*, (SELECT COUNT(*) FROM images AS i WHERE i.run_id = r.run_id) AS n_done"
            " FROM runs AS r ORDER BY r.created_at DESC, r.run_id"
        )
        for column in ("identity", "model_options", "class_names", "thresholds", "radii_px"):
            frame[column] = frame[column].map(json.loads)
        return frame

    def run(self, run_id: str) -> dict:
        """One run's provenance as a dict (the ``runs()`` row)."""
        frame = self.runs()
        match = frame[frame["run_id"] == run_id]
        if match.empty:
            raise StoreError(self.path, f"has no run {run_id!r}", reason="unknown-run")
        return match.iloc[0].to_dict()

    def table_v(self, run_id: str) -> pd.DataFrame:
        """Table V of the paper for one run: boundary F per class and threshold, plus IoU.

        Boundary F per class = mean over all stored images of the per-image F (absent from GT and
        prediction counts as 1, G-SCNN); ``mean`` = unweighted mean over classes. IoU per class =
        TP / (TP + FP + FN) of the summed counts over images (cityscapesScripts), NaN where a class has
        no GT and no prediction, left out of ``mean``. Values in [0, 1].

        Returns:
            Rows: one per threshold (``metric == "boundary_f"``), then ``metric == "iou"``. Columns:
            ``metric``, ``threshold``, ``radius_px``, the class names, ``mean``. ``frame.attrs`` holds
            ``run`` (provenance dict) and ``n_images``.
        """
        info = self.run(run_id)
        names = list(info["class_names"])
        n_classes, n_thresholds = len(names), len(info["thresholds"])
        f = self._query(
            "SELECT threshold_index, class_id, AVG(f) AS f FROM boundary_stats WHERE run_id = ?"
            " GROUP BY threshold_index, class_id",
            (run_id,),
        )
        f_table = np.full((n_thresholds, n_classes), np.nan)
        f_table[f["threshold_index"].to_numpy(int), f["class_id"].to_numpy(int)] = f["f"].to_numpy(float)
        iou = self._summed_iou(run_id, n_classes)
        rows = [
            {
                "metric": "boundary_f",
                "threshold": th,
                "radius_px": r,
                **dict(zip(names, f_table[t], strict=True)),
            }
            | {"mean": float(f_table[t].mean())}
            for t, (th, r) in enumerate(zip(info["thresholds"], info["radii_px"], strict=True))
        ]
        mean_iou = float(np.nanmean(iou)) if np.isfinite(iou).any() else np.nan
        rows.append(
            {"metric": "iou", "threshold": np.nan, "radius_px": np.nan, **dict(zip(names, iou, strict=True))}
            | {"mean": mean_iou}
        )
        frame = pd.DataFrame(rows)
        frame.attrs = {"run": info, "n_images": int(info["n_done"])}
        return frame

    def f_vs_tolerance(self, run_id: str) -> pd.DataFrame:
        """Boundary F against a fixed tolerance radius in pixels (not scaled with the image size).

        Returns:
            One row per radius: ``radius_px``, the class names (mean over images of the per-image F, as
            Table V), ``mean`` (class mean). Empty when the run stored no tolerance rows.
        """
        info = self.run(run_id)
        names = list(info["class_names"])
        rows = self._query(
            "SELECT radius_px, class_id, AVG(f) AS f FROM tolerance_f WHERE run_id = ?"
            " GROUP BY radius_px, class_id",
            (run_id,),
        )
        wide = rows.pivot(index="radius_px", columns="class_id", values="f").reindex(
            columns=range(len(names))
        )
        wide.columns = names
        wide["mean"] = wide[names].mean(axis=1, skipna=False)
        return wide.reset_index()

    def _summed_iou(self, run_id: str, n_classes: int, also_done_by: str | None = None) -> np.ndarray:
        sql = "SELECT class_id, SUM(tp) AS tp, SUM(tp + fp + fn) AS union_ FROM class_stats WHERE run_id = ?"
        params = [run_id]
        if also_done_by is not None:
            sql += _ALSO_DONE_BY
            params.append(also_done_by)
        sums = self._query(sql + " GROUP BY class_id", params)
        iou = np.full(n_classes, np.nan)
        tp, union = sums["tp"].to_numpy(float), sums["union_"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            iou[sums["class_id"].to_numpy(int)] = np.where(union > 0, tp / union, np.nan)
        return iou

    def per_image(self, run_id: str, *, sort_by: str = "miou") -> pd.DataFrame:
        """Per-image scores, worst first.

        ``miou`` is the mean IoU over the classes present in the image's GT or prediction (non-ignored
        pixels); ``F@<threshold>`` is the mean boundary F over those same classes (absent classes score a
        trivial 1 and would hide bad images). Sorted ascending by ``sort_by``, NaN last.
        """
        info = self.run(run_id)
        images = self._query(
            "SELECT image, position, height, width FROM images WHERE run_id = ? ORDER BY position", (run_id,)
        )
        iou = self._query(
            "SELECT image, AVG(CAST(tp AS REAL) / (tp + fp + fn)) AS miou FROM class_stats"
            " WHERE run_id = ? AND tp + fp + fn > 0 GROUP BY image",
            (run_id,),
        )
        f = self._query(
            "SELECT b.image, b.threshold_index, AVG(b.f) AS f FROM boundary_stats AS b JOIN class_stats AS c"
            " ON b.run_id = c.run_id AND b.image = c.image AND b.class_id = c.class_id"
            " WHERE b.run_id = ? AND c.tp + c.fp + c.fn > 0 GROUP BY b.image, b.threshold_index",
            (run_id,),
        )
        frame = images.merge(iou, on="image", how="left")
        if not f.empty:
            wide = f.pivot(index="image", columns="threshold_index", values="f")
            wide.columns = [f"F@{info['thresholds'][t]:g}" for t in wide.columns]
            frame = frame.merge(wide, left_on="image", right_index=True, how="left")
        for th in info["thresholds"]:
            frame[f"F@{th:g}"] = frame.get(f"F@{th:g}", np.nan)
        return frame.sort_values(sort_by, na_position="last", kind="stable").reset_index(drop=True)

    def prediction_path(self, run_id: str, image: str) -> Path:
        """Where the stored prediction of an image lives (raises StoreError if the image is not done)."""
        found = self._query(
            "SELECT prediction_png FROM images WHERE run_id = ? AND image = ?", (run_id, image)
        )
        if found.empty:
            raise StoreError(self.path, f"has no prediction of {image!r} in run {run_id}", reason="missing")
        return self.root / found.iloc[0, 0]

    def load_prediction(self, run_id: str, image: str) -> np.ndarray:
        """The stored predicted trainId map (H x W uint8) of an image."""
        path = self.prediction_path(run_id, image)
        label_map = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if label_map is None or label_map.ndim != 2:
            raise StoreError(path, "is missing or unreadable", reason="missing", what="prediction")
        return label_map

    def compare(self, run_a: str, run_b: str) -> pd.DataFrame:
        """Per-class IoU and boundary F of two runs on the same data, over the images both have done.

        Returns:
            One row per class plus a final ``mean`` row; columns ``class``, ``iou_a``, ``iou_b``,
            ``iou_delta`` (b - a), ``F@<th>_a``, ``F@<th>_b``, ``F@<th>_delta`` for each threshold both runs
            used, and ``both_right``, ``b_fixes`` (b right where a is wrong), ``b_breaks``, ``both_wrong``
            when four-way rows are stored for the pair (either run as the GA side).
            ``attrs``: ``run_a``, ``run_b``, ``n_images``.
        """
        info_a, info_b = self.run(run_a), self.run(run_b)
        for key in ("data_spec", "image_height", "image_width", "class_names", "ignore_index"):
            if info_a[key] != info_b[key]:
                raise StoreError(
                    self.path,
                    f"holds runs {run_a} and {run_b} that differ in {key}"
                    f" ({info_a[key]!r} vs {info_b[key]!r}); only runs on the same data compare",
                    reason="incomparable",
                )
        names = list(info_a["class_names"])
        frame = pd.DataFrame({"class": names})
        frame["iou_a"] = self._summed_iou(run_a, len(names), also_done_by=run_b)
        frame["iou_b"] = self._summed_iou(run_b, len(names), also_done_by=run_a)
        frame["iou_delta"] = frame["iou_b"] - frame["iou_a"]
        for th in [th for th in info_a["thresholds"] if th in info_b["thresholds"]]:
            for side, info, other in (("a", info_a, run_b), ("b", info_b, run_a)):
                frame[f"F@{th:g}_{side}"] = self._mean_f(info, info["thresholds"].index(th), other)
            frame[f"F@{th:g}_delta"] = frame[f"F@{th:g}_b"] - frame[f"F@{th:g}_a"]
        n_common = len(self.done_images(run_a) & self.done_images(run_b))
        counts = self._fourway_sums(run_a, run_b, len(names), n_common)
        if counts is not None:
            for k, column in enumerate(COMPARE_FOURWAY_COLUMNS):
                frame[column] = counts[:, k]
        means = {column: frame[column].mean() for column in frame.columns if column != "class"}
        frame = pd.concat([frame, pd.DataFrame([{"class": "mean", **means}])], ignore_index=True)
        frame.attrs = {"run_a": info_a, "run_b": info_b, "n_images": n_common}
        return frame

    def _mean_f(self, info: dict, threshold_index: int, also_done_by: str) -> np.ndarray:
        rows = self._query(
            "SELECT class_id, AVG(f) AS f FROM boundary_stats WHERE run_id = ? AND threshold_index = ?"
            + _ALSO_DONE_BY
            + " GROUP BY class_id",
            (info["run_id"], threshold_index, also_done_by),
        )
        values = np.full(len(info["class_names"]), np.nan)
        values[rows["class_id"].to_numpy(int)] = rows["f"].to_numpy(float)
        return values

    def _fourway_sums(self, run_a: str, run_b: str, n_classes: int, n_common: int) -> np.ndarray | None:
        """Summed four-way counts (C, 4) with run_b as the new model, if stored for all common images."""
        for run_ga, run_gald, swap in ((run_a, run_b, False), (run_b, run_a, True)):
            rows = self._query(
                f"SELECT class_id, {', '.join(f'SUM({c})' for c in FOURWAY_COLUMNS)}, COUNT(*)"
                " FROM fourway WHERE run_ga = ? AND run_gald = ? GROUP BY class_id",
                (run_ga, run_gald),
            )
            if not rows.empty and (rows.iloc[:, 5] == n_common).all():
                counts = np.zeros((n_classes, 4), dtype=np.int64)
                counts[rows["class_id"].to_numpy(int)] = rows.iloc[:, 1:5].to_numpy(np.int64)
                # Stored the other way round, the GALD side's fixes are run_b's breaks.
                return counts[:, [0, 2, 1, 3]] if swap else counts
        return None
