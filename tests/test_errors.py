"""Error maps, the GA-vs-GALD four-way map, and accuracy in distance bands from the GT boundary."""

import numpy as np
import pytest

from gald_viz.metrics.confusion import LabelMapError, confusion_matrix, iou_stats
from gald_viz.metrics.errors import (
    BOTH_RIGHT,
    BOTH_WRONG,
    FOURWAY_IGNORE,
    FOURWAY_NAMES,
    GALD_BREAKS,
    GALD_FIXES,
    IGNORED,
    RIGHT,
    WRONG,
    distance_band_accuracy,
    error_map,
    fourway_map,
)


def test_error_map_values():
    gt = np.array([[0, 1, 2, 255, 30]])
    pred = np.array([[0, 2, 2, 0, 30]])
    assert error_map(pred, gt).tolist() == [[RIGHT, WRONG, RIGHT, IGNORED, IGNORED]]
    assert error_map(pred, gt).dtype == np.uint8
    assert (RIGHT, WRONG, IGNORED) == (0, 1, 2)


def test_fourway_hand_example():
    gt = np.array([[0, 0, 0, 0, 1, 1, 255]])
    ga = np.array([[0, 1, 0, 1, 1, 0, 0]])
    gald = np.array([[0, 0, 1, 1, 1, 1, 0]])
    m, counts = fourway_map(ga, gald, gt, num_classes=2)
    assert m.tolist() == [
        [BOTH_RIGHT, GALD_FIXES, GALD_BREAKS, BOTH_WRONG, BOTH_RIGHT, GALD_FIXES, FOURWAY_IGNORE]
    ]
    assert counts.tolist() == [[1, 1], [1, 1], [1, 0], [1, 0]]
    assert len(FOURWAY_NAMES) == 4 and FOURWAY_NAMES[GALD_FIXES] == "GALD fixes"


def test_fourway_counts_agree_with_confusion_matrices():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 19, size=(30, 40)).astype(np.uint8)
    gt[rng.random(gt.shape) < 0.1] = 255
    ga = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 19, size=gt.shape)).astype(np.uint8)
    gald = np.where(rng.random(gt.shape) < 0.8, gt, rng.integers(0, 19, size=gt.shape)).astype(np.uint8)
    _, counts = fourway_map(ga, gald, gt)
    tp_ga, _, fn_ga = iou_stats(confusion_matrix(ga, gt))
    tp_gald, _, _ = iou_stats(confusion_matrix(gald, gt))
    np.testing.assert_array_equal(counts[BOTH_RIGHT] + counts[GALD_BREAKS], tp_ga)
    np.testing.assert_array_equal(counts[BOTH_RIGHT] + counts[GALD_FIXES], tp_gald)
    np.testing.assert_array_equal(counts.sum(axis=0), tp_ga + fn_ga)  # every evaluated GT pixel once


def test_fourway_shape_error_names_the_argument():
    with pytest.raises(LabelMapError, match="pred_gald"):
        fourway_map(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8), np.zeros((2, 2), np.uint8))


def test_distance_bands_by_hand():
    gt = np.zeros((1, 10), np.uint8)
    gt[0, 5:] = 1  # the only boundary pixel is (0, 4): distances 4 3 2 1 0 1 2 3 4 5
    pred = gt.copy()
    pred[0, [0, 4, 9]] = 1 - pred[0, [0, 4, 9]]
    r = distance_band_accuracy(pred, gt, bands=(0, 1, 3, np.inf), num_classes=2)
    assert r.labels == ["0–1 px", "1–3 px", "> 3 px"]
    assert r.total.tolist() == [3, 4, 3]
    assert r.correct.tolist() == [2, 4, 1]
    np.testing.assert_allclose(r.accuracy, [2 / 3, 1.0, 1 / 3])


def test_distance_bands_against_brute_force():
    rng = np.random.default_rng(1)
    coarse = rng.permutation(np.arange(12) % 4).reshape(3, 4)
    gt = np.kron(coarse, np.ones((16, 16), np.int64)).astype(np.uint8)
    gt[:4, :4] = 255
    pred = np.where(rng.random(gt.shape) < 0.8, gt, 0).astype(np.uint8)
    r = distance_band_accuracy(pred, gt, num_classes=4)
    # brute force: class boundary pixels by the east/south/south-east rule, then all pairwise distances
    lab = np.where(gt < 4, gt, 4)
    b = np.zeros(gt.shape, bool)
    b[:, :-1] |= lab[:, :-1] != lab[:, 1:]
    b[:-1, :] |= lab[:-1, :] != lab[1:, :]
    b[:-1, :-1] |= lab[:-1, :-1] != lab[1:, 1:]
    by, bx = np.nonzero(b)
    yy, xx = np.mgrid[: gt.shape[0], : gt.shape[1]]
    d = np.sqrt(((yy[..., None] - by) ** 2 + (xx[..., None] - bx) ** 2).min(axis=-1))
    valid = gt < 4
    edges = (0, 3, 5, 9, 12, np.inf)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        sel = valid & (d <= hi) & ((d > lo) if i else True)
        assert r.total[i] == sel.sum()
        assert r.correct[i] == (sel & (pred == gt)).sum()
    assert r.total.sum() == valid.sum() and (r.total > 0).all()


def test_distance_bands_without_boundary_and_bad_bands():
    gt = np.zeros((4, 4), np.uint8)
    r = distance_band_accuracy(gt, gt)
    assert r.total.tolist() == [0, 0, 0, 0, 16] and np.isnan(r.accuracy[0]) and r.accuracy[-1] == 1.0
    with pytest.raises(ValueError, match="bands"):
        distance_band_accuracy(gt, gt, bands=(1, 3))
    with pytest.raises(ValueError, match="bands"):
        distance_band_accuracy(gt, gt, bands=(0, 5, 3))
