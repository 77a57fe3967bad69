"""Reading runs back: provenance, the images done, their arrays stacked per statistic, predictions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gald_viz.store import files
from gald_viz.store.arrays import decode
from gald_viz.store.connection import Connection
from gald_viz.store.errors import StoreError

# Statistics whose last axis is the class (their class count must be the run's).
_PER_CLASS = frozenset(
    {"tp", "fp", "fn", "gt_pixels", "pred_pixels", "boundary_f", "boundary_precision", "boundary_recall"}
    | {"pred_boundary_px", "gt_boundary_px", "tolerance_f", "present"}
)


class Reads(Connection):
    """The reading half of :class:`~gald_viz.store.ResultsStore`: numbers come back as stored arrays."""

    def runs(self) -> pd.DataFrame:
        """All runs, newest first, with ``n_done`` (images stored); JSON columns decoded to lists/dicts.

        ``class_names`` are the run's label set's classes and ``label_set`` its name ("cityscapes" for
        runs whose identity names none: the built-in set).
        """
        frame = self._query(
            "SELECT r.*, (SELECT COUNT(*) FROM images AS i WHERE i.run_id = r.run_id) AS n_done"
            " FROM runs AS r ORDER BY r.created_at DESC, r.run_id"
        )
        for column in ("identity", "model_options", "class_names", "thresholds", "radii_px"):
            frame[column] = [
                self._json(text, run_id, column)
                for text, run_id in zip(frame[column], frame["run_id"], strict=True)
            ]
        frame["label_set"] = [(i.get("label_set") or {}).get("name", "cityscapes") for i in frame["identity"]]
        return frame

    def _json(self, text: str, run_id: str, column: str):
        try:
            return json.loads(text)
        except (TypeError, ValueError) as err:
            raise self._damaged(f"run {run_id}, column {column}", err) from err

    def _damaged(self, row: str, err: Exception) -> StoreError:
        return StoreError(
            self.path, f"has a damaged row ({row}: {err}); move the file away or rerun", reason="corrupt"
        )

    def run(self, run_id: str) -> dict:
        """One run's provenance as a dict (the ``runs()`` row)."""
        frame = self.runs()
        match = frame[frame["run_id"] == run_id]
        if match.empty:
            raise StoreError(self.path, f"has no run {run_id!r}", reason="unknown-run")
        return match.iloc[0].to_dict()

    def done_images(self, run_id: str) -> set[str]:
        """Names of the images of a run that are stored completely."""
        return {row[0] for row in self._rows("SELECT image FROM images WHERE run_id = ?", (run_id,))}

    def images(self, run_id: str) -> pd.DataFrame:
        """The stored images of a run in source order: ``image``, ``position``, ``height``, ``width``."""
        return self._query(
            "SELECT image, position, height, width FROM images WHERE run_id = ? ORDER BY position", (run_id,)
        )

    def arrays(
        self, run_id: str, names: Sequence[str] | None = None
    ) -> tuple[list[str], dict[str, np.ndarray]]:
        """Every stored image's statistics, stacked per name along a first image axis.

        Args:
            run_id: the run.
            names: the statistics to read (default: all).

        Returns:
            ``(images, arrays)``: image names in source order, and name → array of shape (N, ...).
        """
        sql = (
            "SELECT i.image, a.name, a.dtype, a.shape, a.data FROM image_arrays AS a JOIN images AS i"
            " ON a.run_id = i.run_id AND a.image = i.image WHERE a.run_id = ?"
        )
        params: list = [run_id]
        if names is not None:
            sql += f" AND a.name IN ({', '.join('?' * len(names))})"
            params += list(names)
        rows = self._rows(sql + " ORDER BY i.position, a.name", params)
        images, arrays = self._stacked(rows, f"run {run_id}")
        classes = len(self.run(run_id)["class_names"])
        for name, array in arrays.items():
            if name in _PER_CLASS and (array.ndim < 2 or array.shape[-1] != classes):
                raise self._damaged(
                    f"run {run_id}, statistic {name}",
                    ValueError(f"shape {array.shape[1:]} per image, but the run has {classes} classes"),
                )
        return images, arrays

    def pair_arrays(self, run_ga: str, run_gald: str) -> tuple[list[str], dict[str, np.ndarray]]:
        """The pair statistics of a (GA run, GALD run) pair, stacked like :meth:`arrays`."""
        rows = self._rows(
            "SELECT p.image, p.name, p.dtype, p.shape, p.data FROM pair_arrays AS p JOIN images AS i"
            " ON p.run_gald = i.run_id AND p.image = i.image WHERE p.run_ga = ? AND p.run_gald = ?"
            " ORDER BY i.position, p.name",
            (run_ga, run_gald),
        )
        return self._stacked(rows, f"pair {run_ga}/{run_gald}")

    def fourway_missing(self, run_ga: str, run_gald: str) -> list[str]:
        """Images done by both runs that have no pair arrays for the pair yet, in the GALD run's order."""
        rows = self._rows(
            "SELECT b.image FROM images AS a JOIN images AS b ON a.image = b.image"
            " WHERE a.run_id = ? AND b.run_id = ? AND NOT EXISTS (SELECT 1 FROM pair_arrays AS p"
            " WHERE p.run_ga = a.run_id AND p.run_gald = b.run_id AND p.image = a.image)"
            " ORDER BY b.position",
            (run_ga, run_gald),
        )
        return [row[0] for row in rows]

    def prediction_path(self, run_id: str, image: str) -> Path:
        """Where the stored prediction of an image lives (raises StoreError if the image is not done)."""
        found = self._rows(
            "SELECT prediction_png FROM images WHERE run_id = ? AND image = ?", (run_id, image)
        )
        if not found:
            raise StoreError(self.path, f"has no prediction of {image!r} in run {run_id}", reason="missing")
        return self.root / found[0][0]

    def load_prediction(self, run_id: str, image: str) -> np.ndarray:
        """The stored predicted trainId map (H x W uint8) of an image; ids beyond the run's classes
        (other than the ignore label) are a damaged file, refused."""
        path = self.prediction_path(run_id, image)
        pred = files.read_prediction(path)
        run = self.run(run_id)
        bad = (pred >= len(run["class_names"])) & (pred != run["ignore_index"])
        if bad.any():
            raise StoreError(
                path,
                f"holds class ids {np.unique(pred[bad]).tolist()[:8]} but run {run_id} has"
                f" {len(run['class_names'])} classes (a damaged or foreign file)",
                reason="corrupt",
                what="prediction",
            )
        return pred

    def _stacked(self, rows: list[tuple], what: str) -> tuple[list[str], dict[str, np.ndarray]]:
        images: list[str] = []
        per_name: dict[str, list[np.ndarray]] = {}
        for image, name, dtype, shape, data in rows:
            if not images or images[-1] != image:
                images.append(image)
            try:
                per_name.setdefault(name, []).append(decode(dtype, shape, data))
            except (TypeError, ValueError) as err:
                raise self._damaged(f"{what}, image {image!r}, statistic {name}", err) from err
        try:
            return images, {name: np.stack(values) for name, values in per_name.items()}
        except ValueError as err:
            raise self._damaged(f"{what}: per-image shapes differ", err) from err
