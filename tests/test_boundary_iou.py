"""Boundary IoU (Cheng et al., CVPR 2021): hand-made cases and a slow literal computation."""

import math

import numpy as np
import pytest

from gald_viz.metrics.boundary_iou import boundary_iou, boundary_iou_counts, boundary_region, width_px


def slow_erode(mask):
    """One 3×3 erosion with zeros beyond the border, by loops."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    for y in range(h):
        for x in range(w):
            out[y, x] = all(
                0 <= y + a < h and 0 <= x + b < w and mask[y + a, x + b]
                for a in (-1, 0, 1)
                for b in (-1, 0, 1)
            )
    return out


def slow_boundary(mask, d):
    eroded = mask.copy()
    for _ in range(d):
        eroded = slow_erode(eroded)
    return mask & ~eroded


def slow_counts(pred, gt, c_count, d):
    inter, union = [0] * c_count, [0] * c_count
    for c in range(c_count):
        p = np.zeros(gt.shape, bool)
        for y in range(gt.shape[0]):
            for x in range(gt.shape[1]):
                p[y, x] = pred[y, x] == c and gt[y, x] < c_count
        g = gt == c
        bp, bg = slow_boundary(p, d), slow_boundary(g, d)
        for y in range(gt.shape[0]):
            for x in range(gt.shape[1]):
                inter[c] += bool(bp[y, x] and bg[y, x])
                union[c] += bool(bp[y, x] or bg[y, x])
    return inter, union


def test_width_px():
    assert width_px(0.02, 1024, 2048) == round(0.02 * math.hypot(1024, 2048)) == 46
    assert width_px(0.001, 10, 10) == 1  # at least one pixel
    assert width_px(2, 10, 10) == 2
    for bad in (0, -0.1, 1.5, math.inf):
        with pytest.raises(ValueError, match="boundary width"):
            width_px(bad, 10, 10)


def test_square_shifted_by_one_pixel():
    gt = np.zeros((12, 12), np.uint8)
    gt[3:9, 3:9] = 1
    pred = np.roll(gt, 1, axis=1)  # columns 4..9
    inter, union = boundary_iou_counts(pred, gt, num_classes=2, ratio=1)
    # Class 1, d = 1: each boundary is the 20-pixel ring of a 6×6 square; the rings share only their top
    # and bottom rows where the squares overlap (columns 4..8): 2 · 5 = 10 pixels.
    ring_gt = np.zeros((12, 12), bool)
    ring_gt[3:9, 3:9] = True
    ring_gt[4:8, 4:8] = False
    ring_pred = np.roll(ring_gt, 1, axis=1)
    assert inter[1] == np.count_nonzero(ring_gt & ring_pred) == 10
    assert union[1] == np.count_nonzero(ring_gt | ring_pred) == 30
    # Class 0 fills the rest; its boundary also runs along the image border (zero padding).
    assert boundary_region(gt == 0, 1)[0].all() and boundary_region(gt == 0, 1)[:, -1].all()


def test_mask_touching_the_border_has_a_boundary_there():
    mask = np.zeros((6, 8), bool)
    mask[:, :3] = True  # the left three columns, touching top, bottom and left
    region = boundary_region(mask, 1)
    expected = mask.copy()
    expected[1:5, 1] = False  # only the inner column's interior pixels survive erosion
    np.testing.assert_array_equal(region, expected)
    assert boundary_region(mask, 2).tolist() == mask.tolist()  # width 2: the whole 3-px-wide strip


def test_ignore_zeroes_both_masks():
    gt = np.array([[1, 1, 255, 255]] * 4, np.uint8)
    pred = np.ones((4, 4), np.uint8)
    inter, union = boundary_iou_counts(pred, gt, num_classes=2, ratio=1)
    assert inter.tolist() == [0, 8] and union.tolist() == [0, 8]


@pytest.mark.parametrize("d", [1, 2, 3])
def test_random_maps_match_slow_literal(d):
    rng = np.random.default_rng(d)
    c_count = 3
    gt = np.kron(rng.integers(0, c_count, (4, 5)), np.ones((3, 3), np.int64)).astype(np.uint8)
    gt[rng.random(gt.shape) < 0.05] = 255
    pred = np.where(rng.random(gt.shape) < 0.2, rng.integers(0, c_count, gt.shape), gt).astype(np.uint8)
    inter, union = boundary_iou_counts(pred, gt, num_classes=c_count, ratio=d)
    assert (inter.tolist(), union.tolist()) == slow_counts(pred, gt, c_count, d)
    for c in range(c_count):
        np.testing.assert_array_equal(boundary_region(gt == c, d), slow_boundary(gt == c, d))


def test_reduction_sums_over_images():
    result = boundary_iou(np.array([[1, 0, 2], [3, 0, 0]]), np.array([[2, 0, 4], [2, 0, 0]]))
    np.testing.assert_allclose(result.per_class, [4 / 4, np.nan, 2 / 4])
    assert result.mean == pytest.approx(0.75)
    assert math.isnan(boundary_iou(np.zeros(2), np.zeros(2)).mean)
    same = np.array([[0, 1, 1], [0, 2, 2]], np.uint8)
    inter, union = boundary_iou_counts(same, same, num_classes=3)
    assert boundary_iou(inter, union).mean == 1.0
