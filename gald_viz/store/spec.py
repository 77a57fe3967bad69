"""What a run records about itself (:class:`RunSpec`, its identity) and what one stored image holds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


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
    data_spec: str  # the canonical text of a gald_viz.data.spec.DataSpec (str(spec))
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
    data_fingerprint: str = ""  # gald_viz.data.sources.fingerprint: the files' names, sizes, mtimes
    # The mechanism statistics a job adds (gald_viz.mechanisms.plan.MechanismPlan.identity()); None for
    # a plain evaluation, whose identity then holds no such key.
    mechanisms: Mapping[str, object] | None = None
    # The label set's name and content hash (gald_viz.data.label_set.LabelSet.identity()); None for the
    # built-in Cityscapes set, whose runs keep the identity (and run ids) they had before label sets.
    label_set: Mapping[str, str] | None = None
    # How the forwards ran when not float32 (gald_viz.pipeline.AMP_PRECISION); None for float32, whose
    # identity then holds no such key.
    precision: str | None = None

    def identity(self) -> dict:
        """The fields that make two commands the same run (a rerun resumes it).

        ``data_spec`` holds resolved absolute paths and ``data_fingerprint`` the image and label files'
        names, sizes and modification times, so the same text run from another folder, with
        ``$CITYSCAPES_DATASET`` elsewhere, or over data edited in place is another run. A label set
        other than Cityscapes adds ``label_set`` (name and content hash): the same files read with
        another id map or other classes are another run.
        """
        identity = {
            "checkpoint_sha256": self.checkpoint_sha256,
            "data_spec": self.data_spec,
            "data_fingerprint": self.data_fingerprint,
            "data_limit": self.data_limit,
            "image_size": [int(self.image_height), int(self.image_width)],
            "thresholds": [float(t) for t in self.thresholds],
            "ignore_index": int(self.ignore_index),
            "class_names": list(self.class_names),
        }
        if self.mechanisms is not None:
            identity["mechanisms"] = dict(self.mechanisms)
        if self.label_set is not None:
            identity["label_set"] = dict(self.label_set)
        if self.precision is not None:
            identity["precision"] = self.precision
        return identity

    @property
    def run_id(self) -> str:
        """A 16-hex-digit hash of :meth:`identity`, stable across databases and machines."""
        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ImageResult:
    """One finished image of a run: where it sits, how long it took, and its statistics.

    Attributes:
        image: the image's name in its source.
        position: its index in the source (per-image tables keep this order).
        height, width: its size.
        seconds: inference and scoring time.
        arrays: statistic name → numpy array (what :func:`gald_viz.metrics.scoring.score_image`
            returns; the store keeps any names, bit for bit).
    """

    image: str
    position: int
    height: int
    width: int
    seconds: float
    arrays: Mapping[str, np.ndarray]
