"""Seeded paired bootstrap over images for the difference of two ratio-of-sums statistics.

Every number of issue #12 is a ratio of sums of per-image additive arrays: mIoU is the mean over classes
of ΣI/ΣU, the boundary F of Table V the mean over classes of the mean per-image F (numerator F, the
denominator one per image), a mechanism mean Σsums/Σcounts. :func:`paired_bootstrap` resamples images
with replacement, the same images for both models (paired), recomputes both statistics on each resample
and reports the difference with a percentile interval (Efron & Tibshirani, 1993, ch. 13).

Resamples are one multinomial count matrix W (R×N, how often each image is drawn) built with one
``bincount``; the sums of every resample are then one matrix product W @ X, in chunks of resamples so
memory stays bounded. Both models go through the same arithmetic, so identical inputs give a difference
of exactly 0 in every resample.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_RESAMPLES", "BootstrapResult", "paired_bootstrap", "ratio_of_sums", "resample_draws"]

DEFAULT_RESAMPLES = 2000
#: Resamples per matrix product: R×N count matrices of at most this many rows (memory ≈ 8·rows·N bytes).
_CHUNK = 256


@dataclass(frozen=True)
class BootstrapResult:
    """A paired bootstrap of statistic(A) − statistic(B).

    Attributes:
        estimate: the difference on all images.
        low: lower end of the percentile interval.
        high: upper end of it.
        contains_zero: ``low <= 0 <= high`` (the difference is not significant at this level).
        level: the interval's coverage (0.95).
        resamples: number of resamples R.
        seed: the seed of the resampling.
    """

    estimate: float
    low: float
    high: float
    contains_zero: bool
    level: float
    resamples: int
    seed: int


def _as_2d(name: str, array: np.ndarray | None, n: int | None = None) -> np.ndarray:
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim == 0 or (n is not None and arr.shape[0] != n):
        raise ValueError(f"{name} must be an N×… per-image array (N = {n}), got shape {arr.shape}")
    return arr.reshape(arr.shape[0], -1)


def _statistic(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Mean over the last axis of num/den where den > 0 (NaN where no entry has den > 0)."""
    valid = den > 0
    ratio = np.where(valid, num / np.where(valid, den, 1.0), 0.0)
    n_valid = valid.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n_valid > 0, ratio.sum(axis=-1) / np.maximum(n_valid, 1), np.nan)


def resample_draws(n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Iterator[np.ndarray]:
    """The resampled image indices, in chunks: (r, n) int arrays, r ≤ 256 rows, ``resamples`` rows in all.

    Row j of the concatenated chunks lists the n images (with repetition) of resample j; the same
    ``(n, resamples, seed)`` always gives the same draws.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, _CHUNK):
        yield rng.integers(0, n, size=(min(_CHUNK, resamples - start), n))


def ratio_of_sums(num: np.ndarray, den: np.ndarray | None = None) -> float:
    """The statistic: mean over entries (classes…) of Σ_images num / Σ_images den (Σden = 0 left out).

    Args:
        num: (N, …) per-image numerators (e.g. intersections per class).
        den: (N, …) per-image denominators (e.g. unions per class); None means one per image.

    Returns:
        The mean ratio (NaN when every Σden is 0).

    >>> ratio_of_sums(np.array([[1, 0], [1, 2]]), np.array([[2, 0], [2, 4]]))
    0.5
    """
    num2 = _as_2d("num", num)
    den2 = np.ones_like(num2) if den is None else _as_2d("den", den, num2.shape[0])
    return float(_statistic(num2.sum(0), den2.sum(0)))


def paired_bootstrap(
    num_a: np.ndarray,
    den_a: np.ndarray | None,
    num_b: np.ndarray,
    den_b: np.ndarray | None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapResult:
    """Paired bootstrap over images of :func:`ratio_of_sums` (A) − :func:`ratio_of_sums` (B).

    Args:
        num_a: (N, …) per-image numerators of model A (any trailing shape, e.g. (N, C) per class).
        den_a: its denominators, same shape, or None for one per image (a mean over images).
        num_b: the same for model B, same N (image i of A and of B is the same image).
        den_b: its denominators, or None.
        resamples: number of resamples R.
        seed: seed of ``numpy.random.default_rng``; the same seed gives the same resamples.
        level: coverage of the percentile interval.

    Returns:
        :class:`BootstrapResult`. Resamples where a statistic is undefined (NaN) are left out of the
        interval.
    """
    na = _as_2d("num_a", num_a)
    n = na.shape[0]
    da = np.ones_like(na) if den_a is None else _as_2d("den_a", den_a, n)
    nb = _as_2d("num_b", num_b, n)
    db = np.ones_like(nb) if den_b is None else _as_2d("den_b", den_b, n)
    if da.shape != na.shape or db.shape != nb.shape:
        raise ValueError(
            f"numerators and denominators differ in shape: {na.shape}/{da.shape}, {nb.shape}/{db.shape}"
        )
    if resamples < 1 or not 0 < level < 1:
        raise ValueError(f"resamples={resamples} must be >= 1 and level={level} in (0, 1)")
    estimate = float(_statistic(na.sum(0), da.sum(0)) - _statistic(nb.sum(0), db.sum(0)))
    a = np.concatenate([na, da], axis=1)
    b = np.concatenate([nb, db], axis=1)
    qa, qb = na.shape[1], nb.shape[1]
    diffs = []
    for draws in resample_draws(n, resamples, seed):
        r = draws.shape[0]
        flat = (draws + n * np.arange(r)[:, None]).ravel()
        weights = np.bincount(flat, minlength=r * n).reshape(r, n).astype(np.float64)
        sa, sb = weights @ a, weights @ b
        diffs.append(_statistic(sa[:, :qa], sa[:, qa:]) - _statistic(sb[:, :qb], sb[:, qb:]))
    diffs = np.concatenate(diffs)
    tail = 100 * (1 - level) / 2
    kept = diffs[~np.isnan(diffs)]
    low, high = np.percentile(kept, [tail, 100 - tail]) if kept.size else (np.nan, np.nan)
    return BootstrapResult(
        estimate=estimate,
        low=float(low),
        high=float(high),
        contains_zero=bool(low <= 0 <= high),
        level=level,
        resamples=resamples,
        seed=seed,
    )
