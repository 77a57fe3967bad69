"""The LDv2 affinities by distance band and class: does the learned kernel stay inside the object?

GALD (Li et al., IEEE TIP 2021) Eq. 6–8: every feature cell distributes context with softmax weights w_n
over k×k neighbours sampled with dilation r (row-major window, :func:`gald_viz.models.ldv2.window_offsets`).
Neighbours outside the feature map are zero-padded: they keep a weight (logit 0) but carry no value.

Per counted cell (class and band as :func:`gald_viz.mechanisms.bands.sample_cells` reads them) six
quantities are summed by band and class (:data:`QUANTITIES`):

- ``same_class``: weight on neighbours of the cell's GT class (neighbours off the image, outside the
  feature map or in the padding of a small image, and ignore-labelled ones count as different);
- ``uniform_same_class``: what a uniform kernel would give, same-class neighbours / k²;
- ``centre``: the weight of the cell itself;
- ``entropy``: entropy of the k² weights / log k² (1 = uniform; 0 when k = 1);
- ``outside``: weight on neighbours outside the feature map;
- ``radius``: Σ_n w_n · (native-pixel distance of neighbour n's centre from the cell's), the effective
  radius of the kernel (outside neighbours at their virtual positions).
"""

from __future__ import annotations

import math

import numpy as np

from gald_viz.mechanisms.bands import CellLabels
from gald_viz.mechanisms.sums import CellSums, cell_sums
from gald_viz.models.ldv2 import window_offsets

__all__ = ["QUANTITIES", "ldv2_stats"]

QUANTITIES: tuple[str, ...] = ("same_class", "uniform_same_class", "centre", "entropy", "outside", "radius")


def ldv2_stats(affinity: np.ndarray, cells: CellLabels, *, kernel: int, dilation: int) -> CellSums:
    """Sums of the :data:`QUANTITIES` by band and class for one image.

    Args:
        affinity: k²×h×w LDv2 softmax weights of one image (the ``ldv2.affinity`` tap), row-major window.
        cells: class and band of the h×w cells (:func:`~gald_viz.mechanisms.bands.sample_cells`), with
            their geometry (for the native-pixel radius).
        kernel: k (odd).
        dilation: r.

    Returns:
        :class:`~gald_viz.mechanisms.sums.CellSums` with (6, B, C) sums in :data:`QUANTITIES` order and
        (B, C) cell counts.
    """
    w = np.asarray(affinity, dtype=np.float64)
    k2 = kernel * kernel
    if w.ndim != 3 or w.shape != (k2, *cells.cls.shape):
        raise ValueError(f"affinity has shape {w.shape}, expected {(k2, *cells.cls.shape)}")
    geometry = cells.geometry
    dy, dx = window_offsets(kernel, dilation)
    h, fw = cells.cls.shape
    pad = dilation * (kernel // 2)
    label = np.pad(cells.label, pad, constant_values=-1)
    inside = np.pad(np.ones((h, fw), bool), pad, constant_values=False)
    x0, y0 = geometry.centres(0, 0)
    nx, ny = geometry.centres(dy, dx)
    radius = np.hypot(nx - x0, ny - y0)
    same = np.zeros((h, fw))
    same_count = np.zeros((h, fw))
    outside = np.zeros((h, fw))
    for n in range(k2):
        window = (slice(pad + dy[n], pad + dy[n] + h), slice(pad + dx[n], pad + dx[n] + fw))
        match = label[window] == cells.cls
        same += np.where(match, w[n], 0.0)
        same_count += match
        outside += np.where(inside[window], 0.0, w[n])
    plogp = np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0)
    entropy = -plogp.sum(axis=0) / math.log(k2) if k2 > 1 else np.zeros((h, fw))
    values = np.stack([same, same_count / k2, w[k2 // 2], entropy, outside, np.tensordot(radius, w, axes=1)])
    return cell_sums(QUANTITIES, values, cells)
