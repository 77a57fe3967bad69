"""Distance bands from the GT boundary, and where a feature cell reads its class and distance.

GALD (Li et al., IEEE TIP 2021) argues that LD acts near object boundaries; issue #12 measures its
mechanisms by distance band. The distance of a native pixel is its exact Euclidean distance to the GT
label boundary, the one :func:`gald_viz.metrics.errors.distance_band_accuracy` uses (the boundary of
:func:`gald_viz.metrics.boundary.label_boundary_map`). Bands are given by edges in native pixels,
default ``0 8 16 32 64``: band b holds e_b < d ≤ e_{b+1}, d = 0 falls in the first band, and the last band
(> 64 px) is open-ended.

Feature-resolution quantities (the LDv1 mask, the LDv2 weights) are counted per feature cell, with the
class and the distance read at the native pixel nearest the cell centre (the inspector's convention,
:mod:`gald_viz.analysis`). A cell centre sits on model-input pixel u = stride·i (``"cell_centres"``
geometry, zoo models) or u = i·(P − 1)/(n − 1) for a padded input side P and n cells (``"stretch"``,
official models), and in native pixels at x = (u + 0.5)·W/W' − 0.5 (``input_scale`` resizes W to W').
Cells whose centre lies in the padding of a small image (u > W' − 1) are off the image and left out, as
are cells whose class is ignore.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from torch import nn

from gald_viz.inference import logit_geometry, padded_size, resized_size
from gald_viz.metrics.boundary import label_boundary_map

__all__ = [
    "DEFAULT_EDGES",
    "CellGeometry",
    "CellLabels",
    "CellSums",
    "band_index",
    "band_labels",
    "boundary_distance",
    "cell_sums",
    "check_edges",
    "sample_cells",
]

DEFAULT_EDGES: tuple[float, ...] = (0.0, 8.0, 16.0, 32.0, 64.0)
"""Band edges in native pixels: 0–8, 8–16, 16–32, 32–64 and > 64 px."""


def check_edges(edges: Sequence[float]) -> tuple[float, ...]:
    """Validate band edges (increasing, starting at 0, finite) and return them as floats.

    >>> check_edges([0, 8, 16])
    (0.0, 8.0, 16.0)
    """
    out = tuple(float(e) for e in edges)
    if (
        not out
        or out[0] != 0
        or not np.all(np.isfinite(out))
        or any(b <= a for a, b in zip(out[:-1], out[1:], strict=True))
    ):
        raise ValueError(f"band edges must be finite, increasing and start at 0, got {tuple(edges)}")
    return out


def band_labels(edges: Sequence[float] = DEFAULT_EDGES) -> list[str]:
    """Names of the bands, the last one open-ended.

    >>> band_labels((0, 8, 16))
    ['0–8 px', '8–16 px', '> 16 px']
    """
    e = check_edges(edges)
    return [f"{lo:g}–{hi:g} px" for lo, hi in zip(e[:-1], e[1:], strict=True)] + [f"> {e[-1]:g} px"]


def boundary_distance(gt: np.ndarray, num_classes: int = 19, ignore_index: int = 255) -> np.ndarray:
    """Exact Euclidean distance of every native pixel to the nearest GT boundary pixel.

    The same distance :func:`gald_viz.metrics.errors.distance_band_accuracy` computes (the union of the
    class boundaries of :func:`~gald_viz.metrics.boundary.label_boundary_map`, one exact distance
    transform; an image without GT boundary is at infinite distance everywhere).

    Args:
        gt: H×W ground-truth trainIds.
        num_classes: number of classes C.
        ignore_index: the GT ignore id.

    Returns:
        H×W float64 distances in native pixels (0 on boundary pixels).
    """
    gt = np.asarray(gt)
    boundary = label_boundary_map(gt, num_classes, ignore_index)
    return ndimage.distance_transform_edt(~boundary) if boundary.any() else np.full(gt.shape, np.inf)


def band_index(dist: np.ndarray, edges: Sequence[float] = DEFAULT_EDGES) -> np.ndarray:
    """Band of each distance: b with e_b < d ≤ e_{b+1}; d = 0 in band 0; d > e_last (and inf) in the last.

    Args:
        dist: distances of any shape (≥ 0).
        edges: band edges (:func:`check_edges`); there are ``len(edges)`` bands.

    Returns:
        intp array of ``dist``'s shape with values in ``0 … len(edges) − 1``.

    >>> band_index(np.array([0, 8, 8.5, 64, 65, np.inf])).tolist()
    [0, 0, 1, 3, 4, 4]
    """
    e = np.asarray(check_edges(edges))
    return np.maximum(np.searchsorted(e, np.asarray(dist), side="left") - 1, 0).astype(np.intp)


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


@dataclass(frozen=True)
class CellLabels:
    """Class and distance band of every feature cell, read at the native pixel nearest its centre.

    Attributes:
        label: h×w int64 GT id at the cell (ignore ids kept), −1 for cells off the image.
        cls: h×w int64 class 0…C−1 of counted cells, −1 for left-out cells (ignore, off the image).
        band: h×w intp distance band (meaningful where ``cls >= 0``).
        num_classes: C.
        num_bands: B.
        geometry: the cell geometry they were read with.
    """

    label: np.ndarray
    cls: np.ndarray
    band: np.ndarray
    num_classes: int
    num_bands: int
    geometry: CellGeometry

    @property
    def counted(self) -> np.ndarray:
        """h×w bool: the cells that enter the statistics."""
        return self.cls >= 0


def sample_cells(
    gt: np.ndarray,
    geometry: CellGeometry,
    edges: Sequence[float] = DEFAULT_EDGES,
    *,
    num_classes: int = 19,
    ignore_index: int = 255,
    dist: np.ndarray | None = None,
) -> CellLabels:
    """Class and distance band of each feature cell (nearest native pixel to the cell centre).

    Args:
        gt: H×W ground-truth trainIds at native size.
        geometry: the cell geometry (``native_size`` must equal ``gt.shape``).
        edges: band edges in native pixels.
        num_classes: C; GT ids outside 0…C−1 and ``ignore_index`` are left out.
        ignore_index: the GT ignore id.
        dist: :func:`boundary_distance` of ``gt`` if already computed.

    Returns:
        :class:`CellLabels`, to be shared by every statistic of the image (and by every model with the
        same geometry).
    """
    gt = np.asarray(gt)
    if gt.shape != tuple(geometry.native_size):
        raise ValueError(f"gt has shape {gt.shape}, the geometry's image is {tuple(geometry.native_size)}")
    if dist is None:
        dist = boundary_distance(gt, num_classes, ignore_index)
    h, w = geometry.feature_size
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    py, px = geometry.nearest_pixels(rows, cols)
    label = np.where(geometry.on_image(rows, cols), gt[py, px].astype(np.int64), -1)
    counted = (label >= 0) & (label < num_classes) & (label != ignore_index)
    return CellLabels(
        label=label,
        cls=np.where(counted, label, -1),
        band=band_index(dist[py, px], edges),
        num_classes=num_classes,
        num_bands=len(check_edges(edges)),
        geometry=geometry,
    )


@dataclass(frozen=True)
class CellSums:
    """Additive per-band, per-class sums of named quantities, and the number of cells they sum over.

    Add the ``CellSums`` of several images with ``+``; :meth:`mean` then gives exact means over any
    class subset.

    Attributes:
        names: the quantities, in the order of ``sums``.
        sums: (Q, B, C) float64 sums per quantity, band and class.
        count: (B, C) int64 cells per band and class.
    """

    names: tuple[str, ...]
    sums: np.ndarray
    count: np.ndarray

    def __add__(self, other: CellSums) -> CellSums:
        if self.names != other.names or self.count.shape != other.count.shape:
            raise ValueError(f"cannot add CellSums of {self.names} and {other.names}")
        return CellSums(self.names, self.sums + other.sums, self.count + other.count)

    def mean(self, name: str, classes: Sequence[int] | None = None) -> np.ndarray:
        """(B,) mean of ``name`` per band over the cells of ``classes`` (all if None); NaN if no cell."""
        q = self.names.index(name)
        cls = slice(None) if classes is None else list(classes)
        total = self.sums[q][:, cls].sum(axis=1)
        n = self.count[:, cls].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def cell_sums(names: Sequence[str], values: np.ndarray, cells: CellLabels) -> CellSums:
    """Sum per-cell quantities by band and class over the counted cells.

    Args:
        names: Q quantity names.
        values: (Q, h, w) per-cell values (NaN is allowed only on left-out cells).
        cells: from :func:`sample_cells`.

    Returns:
        :class:`CellSums` with (Q, B, C) sums and (B, C) counts.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(names), *cells.cls.shape):
        raise ValueError(f"values have shape {values.shape}, expected {(len(names), *cells.cls.shape)}")
    size = cells.num_bands * cells.num_classes
    keep = cells.counted
    flat = cells.band[keep] * cells.num_classes + cells.cls[keep]
    count = np.bincount(flat, minlength=size).reshape(cells.num_bands, cells.num_classes)
    sums = np.stack([np.bincount(flat, weights=v[keep], minlength=size) for v in values])
    return CellSums(tuple(names), sums.reshape(len(names), *count.shape), count.astype(np.int64))
