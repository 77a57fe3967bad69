"""Paired bootstrap over images: a literal loop over the same draws, exact zeros, seeding."""

import numpy as np
import pytest

from gald_viz.stats.bootstrap import paired_bootstrap, ratio_of_sums, resample_draws


def slow_ratio(num, den, images):
    """Mean over classes of Σnum/Σden over the listed images (classes with Σden = 0 left out), by loops."""
    ratios = []
    for c in range(num.shape[1]):
        top = bottom = 0.0
        for i in images:
            top += num[i, c]
            bottom += den[i, c]
        if bottom > 0:
            ratios.append(top / bottom)
    return sum(ratios) / len(ratios) if ratios else float("nan")


def miou_arrays(rng, n, c, noise):
    union = rng.integers(0, 50, size=(n, c)).astype(float)
    union[:, -1] = 0  # a class no image has
    inter = np.floor(union * np.clip(rng.normal(0.6 + noise, 0.2, size=(n, c)), 0, 1))
    return inter, union


def test_matches_a_literal_bootstrap_on_the_same_draws():
    rng = np.random.default_rng(0)
    n, c, resamples = 9, 4, 300  # more than one chunk of draws
    ia, ua = miou_arrays(rng, n, c, 0.05)
    ib, ub = miou_arrays(rng, n, c, 0.0)
    result = paired_bootstrap(ia, ua, ib, ub, resamples=resamples, seed=3)
    draws = np.concatenate(list(resample_draws(n, resamples, seed=3)))
    assert draws.shape == (resamples, n)
    diffs = sorted(slow_ratio(ia, ua, row) - slow_ratio(ib, ub, row) for row in draws)
    assert result.estimate == pytest.approx(slow_ratio(ia, ua, range(n)) - slow_ratio(ib, ub, range(n)))
    assert result.low == pytest.approx(np.percentile(diffs, 2.5), abs=1e-12)
    assert result.high == pytest.approx(np.percentile(diffs, 97.5), abs=1e-12)
    assert result.contains_zero == (result.low <= 0 <= result.high)
    assert (result.resamples, result.seed, result.level) == (resamples, 3, 0.95)


def test_identical_inputs_give_exactly_zero():
    rng = np.random.default_rng(1)
    inter, union = miou_arrays(rng, 40, 19, 0.0)
    result = paired_bootstrap(inter, union, inter.copy(), union.copy(), resamples=500)
    assert (result.estimate, result.low, result.high, result.contains_zero) == (0.0, 0.0, 0.0, True)
    f = rng.random((40, 19))
    result = paired_bootstrap(f, None, f.copy(), None, resamples=500)
    assert (result.estimate, result.low, result.high) == (0.0, 0.0, 0.0)


def test_mean_per_image_and_pooled_mechanism_mean():
    f = np.array([[1.0, 0.5], [0.0, 0.5], [0.5, 1.0]])
    assert ratio_of_sums(f) == pytest.approx((0.5 + 2 / 3) / 2)  # mean over images, then over classes
    sums, counts = np.array([3.0, 1.0, 0.0]), np.array([4, 2, 0])
    assert ratio_of_sums(sums, counts) == pytest.approx(4 / 6)  # one pooled mean
    assert np.isnan(ratio_of_sums(np.zeros(3), np.zeros(3)))


def test_clear_difference_is_significant_and_seed_reproducible():
    rng = np.random.default_rng(2)
    ia, ua = miou_arrays(rng, 60, 5, 0.3)
    ib, ub = miou_arrays(rng, 60, 5, 0.0)
    one = paired_bootstrap(ia, ua, ib, ub, resamples=400, seed=7)
    assert not one.contains_zero and one.low > 0
    assert one == paired_bootstrap(ia, ua, ib, ub, resamples=400, seed=7)
    assert one != paired_bootstrap(ia, ua, ib, ub, resamples=400, seed=8)


def test_bad_inputs():
    with pytest.raises(ValueError, match="num_b"):
        paired_bootstrap(np.ones(3), None, np.ones(4), None)
    with pytest.raises(ValueError, match="differ in shape"):
        paired_bootstrap(np.ones((3, 2)), np.ones((3, 1)), np.ones((3, 2)), None)
    with pytest.raises(ValueError, match="resamples"):
        paired_bootstrap(np.ones(3), None, np.ones(3), None, resamples=0)
