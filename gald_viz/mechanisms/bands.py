"""Distance bands from the GT boundary, and where a feature cell reads its class and distance.

GALD (Li et al., IEEE TIP 2021) argues that LD acts near object boundaries; issue #12 measures its
mechanisms by distance band. The distance of a native pixel is its exact Euclidean distance to the GT
label boundary, the one :func:`gald_viz.metrics.errors.distance_band_accuracy` uses (the boundary of
:func:`gald_viz.metrics.boundary.label_boundary_map`). Bands are given by edges in native pixels,
default ``0 8 16 32 64``: band b holds e_b < d ≤ e_{b+1}, d = 0 falls in the first band, and the last band
(> 64 px) is open-ended.

Feature-resolution quantities (the LDv1 mask, the LDv2 weights) are counted per feature cell, with the
class and the distance read at the native pixel nearest the cell centre (the inspector's convention,
:mod:`gald_viz.analysis`; where a cell sits is :class:`~gald_viz.mechanisms.geometry.CellGeometry`).
Cells off the image (in the padding of a small image) and cells whose class is ignore are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gald_viz.mechanisms.geometry import CellGeometry
from gald_viz.metrics.errors import boundary_distance

__all__ = [
    "DEFAULT_EDGES",
    "CellLabels",
    "band_index",
    "band_labels",
    "boundary_distance",
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
