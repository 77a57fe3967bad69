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

__all__ = ["LDv1Stats", "ldv1_stats"]


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
    p05, p95 = np.percentile(mean[cells.label >= 0], [5, 95]) if (cells.label >= 0).any() else (np.nan,) * 2
    return LDv1Stats(sums=cell_sums(("mask_mean",), mean[None], cells), p05=float(p05), p95=float(p95))
