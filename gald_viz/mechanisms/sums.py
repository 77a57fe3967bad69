"""Additive per-band, per-class sums of per-cell quantities (the currency of :mod:`gald_viz.mechanisms`).

Means are ratios of sums, so the sums of any subset of images, any class filter and any bootstrap
resample (:mod:`gald_viz.stats.bootstrap`) give exact means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gald_viz.mechanisms.bands import CellLabels

__all__ = ["CellSums", "cell_sums"]


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
