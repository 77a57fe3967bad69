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
        """The geometry of an :class:`~gald_viz.analysis.Analysis` (its ``logit_geometry`` and
        ``padded_size``; hand-made analyses default to ``"cell_centres"``)."""
        padded = analysis.padded_size
        return cls(
            tuple(analysis.native_size),
            tuple(analysis.input_size),
            tuple(analysis.feature_size),
            int(analysis.stride),
            analysis.logit_geometry,
            None if padded is None else tuple(padded),
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

    @property
    def scale(self) -> tuple[float, float]:
        """Native pixels per model-input pixel, (y, x)."""
        return self.native_size[0] / self.input_size[0], self.native_size[1] / self.input_size[1]

    @property
    def effective_stride(self) -> tuple[float, float]:
        """Native pixels between neighbouring cell centres, (y, x)."""
        sy, sx = self.scale
        return self._step(0) * sy, self._step(1) * sx

    def _step(self, axis: int) -> float:
        """Model-input pixels between neighbouring cell centres along ``axis``."""
        if self.geometry == "cell_centres":
            return self.stride
        n = self.feature_size[axis]
        side = (self.padded_size or self.input_size)[axis]
        return (side - 1) / (n - 1) if n > 1 else 0.0

    def _input_coord(self, index: np.ndarray, axis: int) -> np.ndarray:
        return self._step(axis) * np.asarray(index, dtype=np.float64)

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Native (x, y) of the centres of cells (rows, cols); any integers, also outside the map."""
        sy, sx = self.scale
        x = (self._input_coord(cols, 1) + 0.5) * sx - 0.5
        y = (self._input_coord(rows, 0) + 0.5) * sy - 0.5
        return x, y

    def nearest_cell(self, x: float, y: float) -> tuple[int, int]:
        """Cell (row, col) whose centre is nearest to native pixel (x, y), clamped into the map."""
        sy, sx = self.scale
        cell = []
        for axis, native, scale in ((0, y, sy), (1, x, sx)):
            step = self._step(axis)
            index = round(((native + 0.5) / scale - 0.5) / step) if step else 0
            cell.append(min(max(index, 0), self.feature_size[axis] - 1))
        return cell[0], cell[1]

    def in_map(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Cells (rows, cols) inside the h×w feature map (outside ones are LDv2's zero padding)."""
        rows, cols = np.asarray(rows), np.asarray(cols)
        h, w = self.feature_size
        return (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)

    def on_image(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Cells inside the feature map whose centre is on the unpadded model input."""
        return (
            self.in_map(rows, cols)
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
