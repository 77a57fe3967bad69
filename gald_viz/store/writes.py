"""Writing a run (evaluation jobs): its provenance, each image with its arrays, pair arrays, the job lock."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Collection, Mapping

import numpy as np

from gald_viz.store import files
from gald_viz.store.arrays import encode
from gald_viz.store.connection import Connection
from gald_viz.store.shards import Shard
from gald_viz.store.spec import ImageResult, RunSpec


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Writes(Connection):
    """The writing half of :class:`~gald_viz.store.ResultsStore`."""

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

    def run_lock(
        self, run_id: str, shard: Shard | None = None, images: Collection[str] = ()
    ) -> contextlib.AbstractContextManager[None]:
        """Hold the run's job lock, or a shard's (see :func:`gald_viz.store.files.job_lock`)."""
        return files.job_lock(self.root, run_id, shard, images)

    def save_prediction(self, run_id: str, image: str, label_map: np.ndarray) -> str:
        """Write a predicted trainId map as PNG atomically; call it before :meth:`add_image` commits.

        Returns:
            The PNG path relative to the database folder (what ``images.prediction_png`` stores).
        """
        return files.write_prediction(self.root, run_id, image, label_map)

    def add_image(
        self,
        run_id: str,
        result: ImageResult,
        *,
        prediction_png: str,
        pairs: Mapping[tuple[str, str], Mapping[str, np.ndarray]] | None = None,
    ) -> None:
        """Store one image: its ``images`` row and all its arrays, in one transaction.

        Args:
            run_id: the run.
            result: the image and its statistics.
            prediction_png: what :meth:`save_prediction` returned.
            pairs: optional ``{(run_ga, run_gald): {name: array}}`` for this image (``fourway``).
        """
        name = result.image
        rows = [(run_id, name, key, *encode(array)) for key, array in sorted(result.arrays.items())]
        with self._transaction() as con:
            con.execute(
                "INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, name, result.position, result.height, result.width, prediction_png, result.seconds),
            )
            con.executemany("INSERT INTO image_arrays VALUES (?, ?, ?, ?, ?, ?)", rows)
            for (run_ga, run_gald), arrays in (pairs or {}).items():
                _insert_pair(con, run_ga, run_gald, name, arrays)

    def add_pair(self, run_ga: str, run_gald: str, image: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Store the pair arrays of one image for a GA-only and a GALD run, in one transaction."""
        with self._transaction() as con:
            _insert_pair(con, run_ga, run_gald, image, arrays)


def _insert_pair(con: sqlite3.Connection, run_ga: str, run_gald: str, image: str, arrays) -> None:
    # Both runs' jobs may catch up on the same pair at once; the arrays are a function of the two stored
    # predictions and the GT, so a second identical insert is dropped, never doubled.
    con.executemany(
        "INSERT OR IGNORE INTO pair_arrays VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(run_ga, run_gald, image, key, *encode(array)) for key, array in sorted(arrays.items())],
    )
