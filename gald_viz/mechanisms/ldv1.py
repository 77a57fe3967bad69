"""The LDv1 mask by distance band and class: where does M = σ(upsample(W_d X_g)) open or close?

GALD (Li et al., IEEE TIP 2021) Eq. 1–2: X_gald = M ⊙ X_g + X_g. The channel mean of M at a feature cell
says how much of the global context that cell keeps beyond the identity. Per image this module sums it
by distance band and GT class (cells as :func:`gald_viz.mechanisms.bands.sample_cells` reads them) and
keeps the image's 5th and 95th percentiles, the spread the mask uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gald_viz.mechanisms.bands import CellLabels
from gald_viz.mechanisms.sums import CellSums, cell_sums

__all__ = ["FLAT_SPREAD", "LDv1Stats", "channel_spreads", "ldv1_stats", "mask_percentiles", "mask_spread"]

FLAT_SPREAD = 0.05
"""A mask whose channel mean spans less than this between its 5th and 95th percentile over an image is
*flat*: it scales every cell's context alike, and drawn on its data range it shows noise (issue 14: an
LDv1 branch left at its initialisation spans about 0.02)."""


def mask_percentiles(mean: np.ndarray) -> tuple[float, float]:
    """5th and 95th percentile (linear interpolation, ``numpy.percentile``) of the channel mean of M over
    the given cells."""
    p05, p95 = np.percentile(np.asarray(mean, dtype=np.float64), [5, 95])
    return float(p05), float(p95)


def mask_spread(mean: np.ndarray) -> float:
    """95th minus 5th percentile of the channel mean of M over the given cells (:func:`mask_percentiles`)."""
    p05, p95 = mask_percentiles(mean)
    return p95 - p05


def channel_spreads(mask: np.ndarray) -> np.ndarray:
    """Per channel of M (C×h×w), its 95th minus 5th percentile over the cells: how much each channel gates
    on its own, beside :func:`mask_spread` of their mean (channels that vary but not together leave the
    mean flat)."""
    flat = np.asarray(mask, dtype=np.float64).reshape(mask.shape[0], -1)
    p05, p95 = np.percentile(flat, [5, 95], axis=1)
    return p95 - p05


@dataclass(frozen=True)
class LDv1Stats:
    """LDv1 mask statistics of one image.

    Attributes:
        sums: :class:`~gald_viz.mechanisms.sums.CellSums` with one quantity, ``"mask_mean"`` (the channel
            mean of M), summed per band and class over the counted cells.
        p05: 5th percentile of the channel mean of M over the image's cells (per image, not additive).
        p95: 95th percentile of it.
    """

    sums: CellSums
    p05: float
    p95: float


def ldv1_stats(mask: np.ndarray, cells: CellLabels) -> LDv1Stats:
    """Sums and counts of the channel mean of M by band and class, and its 5th/95th percentiles.

    Args:
        mask: C_M×h×w LDv1 mask M (the ``ldv1.mask`` tap of one image, values in [0, 1]).
        cells: class and band of the h×w cells (:func:`~gald_viz.mechanisms.bands.sample_cells`).

    Returns:
        :class:`LDv1Stats`; the percentiles are over every cell on the image (whatever its GT), linear
        interpolation (``numpy.percentile``).
    """
    mask = np.asarray(mask)
    if mask.ndim != 3 or mask.shape[1:] != cells.cls.shape:
        raise ValueError(f"mask has shape {mask.shape}, expected C×{cells.cls.shape}")
    mean = mask.astype(np.float64).mean(axis=0)
    p05, p95 = mask_percentiles(mean[cells.label >= 0]) if (cells.label >= 0).any() else (np.nan,) * 2
    return LDv1Stats(sums=cell_sums(("mask_mean",), mean[None], cells), p05=p05, p95=p95)
