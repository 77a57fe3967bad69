"""Where a feature cell sits on the native image: the scale chain of :mod:`gald_viz.analysis`, as data.

A cell centre sits on model-input pixel u = stride·i (``"cell_centres"`` geometry, zoo models) or
u = i·(P − 1)/(n − 1) for a padded input side P and n cells (``"stretch"``, official models; see
:func:`gald_viz.inference.upsample_logits`), and in native pixels at x = (u + 0.5)·W/W' − 0.5
(``input_scale`` resizes W to W', cv2 pixel-centre convention). Cells whose centre lies in the padding of a
small image (u > W' − 1) are off the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from gald_viz.inference import logit_geometry, padded_size, resized_size

__all__ = ["CellGeometry"]


@dataclass(frozen=True)
class CellGeometry:
    """How feature cells sit on the native image (the scale chain of :mod:`gald_viz.analysis`).

    Attributes:
        native_size: (H, W) of the image.
        input_size: (H', W') of the model input after ``input_scale``, before padding.
        feature_size: (h, w) of the feature maps.
        stride: model-input pixels per cell (``"cell_centres"`` geometry).
        geometry: ``"cell_centres"`` (cell i on input pixel stride·i) or ``"stretch"`` (cell i on
            input pixel i·(P − 1)/(n − 1) of the padded input, ``align_corners=True``).
        padded_size: (P_h, P_w) fed to the model (used by ``"stretch"``; default ``input_size``).
    """

    native_size: tuple[int, int]
    input_size: tuple[int, int]
    feature_size: tuple[int, int]
    stride: int = 8
    geometry: str = "cell_centres"
    padded_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.geometry not in ("cell_centres", "stretch"):
            raise ValueError(f"geometry={self.geometry!r} must be 'cell_centres' or 'stretch'")

    @classmethod
    def of(cls, analysis) -> CellGeometry:
        """The geometry of an :class:`~gald_viz.analysis.Analysis` (zoo models: ``"cell_centres"``)."""
        return cls(
            tuple(analysis.native_size),
            tuple(analysis.input_size),
            tuple(analysis.feature_size),
            int(analysis.stride),
        )

    @classmethod
    def from_model(
        cls, model: nn.Module, native_size: tuple[int, int], feature_size: tuple[int, int]
    ) -> CellGeometry:
        """The geometry ``inference`` uses for ``model`` on an image of ``native_size``."""
        size = resized_size(model, *native_size)
        geo = logit_geometry(model)
        return cls(
            (int(native_size[0]), int(native_size[1])),
            size,
            (int(feature_size[0]), int(feature_size[1])),
            geo["stride"],
            geo["geometry"],
            padded_size(model, *size),
        )

    def _input_coord(self, index: np.ndarray, axis: int) -> np.ndarray:
        index = np.asarray(index, dtype=np.float64)
        if self.geometry == "cell_centres":
            return self.stride * index
        n = self.feature_size[axis]
        side = (self.padded_size or self.input_size)[axis]
        return index * ((side - 1) / (n - 1) if n > 1 else 0.0)

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Native (x, y) of the centres of cells (rows, cols); any integers, also outside the map."""
        sy = self.native_size[0] / self.input_size[0]
        sx = self.native_size[1] / self.input_size[1]
        x = (self._input_coord(cols, 1) + 0.5) * sx - 0.5
        y = (self._input_coord(rows, 0) + 0.5) * sy - 0.5
        return x, y

    def on_image(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Cells inside the feature map whose centre is on the unpadded model input."""
        rows, cols = np.asarray(rows), np.asarray(cols)
        h, w = self.feature_size
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        return (
            inside
            & (self._input_coord(rows, 0) <= self.input_size[0] - 1)
            & (self._input_coord(cols, 1) <= self.input_size[1] - 1)
        )

    def nearest_pixels(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) intp of the native pixel nearest each cell centre, clamped into the image."""
        x, y = self.centres(rows, cols)
        h, w = self.native_size
        return (
            np.clip(np.rint(y), 0, h - 1).astype(np.intp),
            np.clip(np.rint(x), 0, w - 1).astype(np.intp),
        )
