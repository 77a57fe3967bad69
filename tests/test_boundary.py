"""G-SCNN boundary F: every rule of the docs/DESIGN.md fact sheet by hand, and an independent oracle."""

import math
import warnings

import numpy as np
import pytest
from skimage import morphology

from gald_viz.metrics import reduce
from gald_viz.metrics.boundary import (
    DEFAULT_THRESHOLDS,
    GSCNN_CODE_DEFAULT_THRESHOLD,
    ThresholdError,
    boundary_map,
    boundary_prf,
    check_thresholds,
    f_vs_tolerance,
    label_boundary_map,
    radii_px,
    radius_px,
)
from gald_viz.metrics.confusion import LabelMapError
from gald_viz.metrics.conventions import PAPER_IMAGE_SIZE, PAPER_RADII_PX
from gald_viz.metrics.scoring import score_image

# ---------------------------------------------------------------------------------------------------------
# The oracle: the fact sheet written out literally, one binary dilation per class and threshold, as
# G-SCNN's utils/f_boundary.py does it. It shares no code with gald_viz.metrics.boundary.


def oracle_bmap(mask: np.ndarray) -> np.ndarray:
    """Rule 4: compare with the east, south and south-east neighbour; fix the last row/column/corner."""
    seg = mask.astype(bool)
    e, s, se = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def oracle_dilate(b: np.ndarray, r: int) -> np.ndarray:
    """skimage binary dilation with disk(r); `dilation` is its documented replacement once it is removed."""
    if hasattr(morphology, "binary_dilation"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return morphology.binary_dilation(b, morphology.disk(r))
    return morphology.dilation(b, morphology.disk(r)).astype(bool)


def oracle_prf(pred, gt, thresholds, num_classes=19, ignore_index=255):
    h, w = gt.shape
    out = np.zeros((3, len(thresholds), num_classes))
    for c in range(num_classes):
        fg = pred == c
        gm = gt == c
        fg[gt == ignore_index] = False
        gm[gt == ignore_index] = False
        fb, gb = oracle_bmap(fg), oracle_bmap(gm)
        n_fg, n_gt = int(fb.sum()), int(gb.sum())
        for t, th in enumerate(thresholds):
            r = th if th >= 1 else int(np.ceil(th * np.linalg.norm((h, w))))
            if n_fg == 0 and n_gt > 0:
                p, rec = 1.0, 0.0
            elif n_fg > 0 and n_gt == 0:
                p, rec = 0.0, 1.0
            elif n_fg == 0 and n_gt == 0:
                p, rec = 1.0, 1.0
            else:
                p = np.sum(fb & oracle_dilate(gb, r)) / float(n_fg)
                rec = np.sum(gb & oracle_dilate(fb, r)) / float(n_gt)
            out[:, t, c] = p, rec, (0.0 if p + rec == 0 else 2 * p * rec / (p + rec))
    return out


def random_pair(rng, h, w, num_classes=19):
    """Blocky multi-class maps with fine noise, ignore regions, and odd ids in the prediction."""
    cell = int(rng.integers(3, 9))
    coarse = rng.integers(0, num_classes, size=(h // cell + 1, w // cell + 1))
    gt = np.kron(coarse, np.ones((cell, cell), dtype=np.int64))[:h, :w].astype(np.uint8)
    gt[rng.random((h, w)) < 0.02] = rng.integers(0, num_classes)
    for _ in range(3):
        y, x = rng.integers(0, h), rng.integers(0, w)
        gt[y : y + int(rng.integers(2, h // 3)), x : x + int(rng.integers(2, w // 3))] = 255
    pred = np.roll(gt, (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), axis=(0, 1)).copy()
    noise = rng.random((h, w))
    pred[noise < 0.05] = rng.integers(0, num_classes, size=int((noise < 0.05).sum()))
    pred[noise > 0.995] = 255
    pred[(noise > 0.99) & (noise <= 0.995)] = num_classes  # outside 0..C-1: belongs to no class
    return pred, gt


# ---------------------------------------------------------------------------------------------------------
# Rule 1: radius


def test_radius_at_paper_sizes():
    assert radii_px(DEFAULT_THRESHOLDS, 1024, 2048) == (3, 5, 9, 12)
    assert radii_px(DEFAULT_THRESHOLDS, 512, 1024) == (2, 3, 5, 6)
    # 0.00088 * 2289.73 = 2.0149: a rounding radius would say 2, G-SCNN's ceil says 3.
    assert 2 < 0.00088 * math.hypot(1024, 2048) < 2.1
    assert radius_px(GSCNN_CODE_DEFAULT_THRESHOLD, 1024, 2048) == 2


def test_radius_equals_gscnn_float_expression():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        h, w = (int(v) for v in rng.integers(1, 4000, size=2))
        th = float(rng.choice([*DEFAULT_THRESHOLDS, rng.random() * 0.02, 1 / 3]))
        assert radius_px(th, h, w) == int(np.ceil(th * np.linalg.norm((h, w))))


def test_pixel_thresholds_and_errors():
    assert radius_px(7, 10, 10) == 7 and radius_px(7.0, 5000, 5000) == 7
    assert check_thresholds([0.005, 12.0]) == (0.005, 12)
    for bad in (0, -0.1, 2.5, float("nan"), float("inf")):
        with pytest.raises(ThresholdError):
            radius_px(bad, 100, 100)
    with pytest.raises(ThresholdError):
        check_thresholds([])
    with pytest.raises(ThresholdError):
        f_vs_tolerance(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), radii=(0, 1))


# ---------------------------------------------------------------------------------------------------------
# Rule 4: boundary map


def test_east_rule():
    assert boundary_map(np.array([[0, 0, 1, 1]])).astype(int).tolist() == [[0, 1, 0, 0]]


def test_south_rule():
    assert boundary_map(np.array([[0], [0], [1], [1]])).astype(int).ravel().tolist() == [0, 1, 0, 0]


def test_south_east_rule_single_pixel():
    m = np.zeros((3, 3), bool)
    m[1, 1] = True
    # (0,0) sees the pixel only south-east; (0,2) and (2,0) see nothing in their single direction.
    assert boundary_map(m).astype(int).tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    diag = np.array([[1, 0], [0, 1]])
    assert boundary_map(diag).astype(int).tolist() == [[1, 1], [1, 0]]


def test_image_border_is_never_boundary():
    assert not boundary_map(np.ones((5, 7))).any()
    assert not boundary_map(np.zeros((5, 7))).any()
    right = np.zeros((4, 6), bool)
    right[:, -1] = True  # last column: only column 4 (east differs) is boundary, column 5 looks south only
    expected = np.zeros((4, 6), bool)
    expected[:, 4] = True
    np.testing.assert_array_equal(boundary_map(right), expected)
    bottom = np.zeros((4, 6), bool)
    bottom[-1] = True
    expected = np.zeros((4, 6), bool)
    expected[2] = True
    np.testing.assert_array_equal(boundary_map(bottom), expected)
    corner = np.zeros((3, 3), bool)
    corner[-1, -1] = True
    assert boundary_map(corner).astype(int).tolist() == [[0, 0, 0], [0, 1, 1], [0, 1, 0]]


def test_mask_and_complement_same_boundary_and_matches_oracle():
    rng = np.random.default_rng(1)
    for shape in ((1, 1), (1, 9), (9, 1), (13, 17)):
        m = rng.random(shape) < 0.5
        np.testing.assert_array_equal(boundary_map(m), boundary_map(~m))
        np.testing.assert_array_equal(boundary_map(m), oracle_bmap(m))


def test_label_boundary_map_is_union_of_class_boundaries():
    rng = np.random.default_rng(2)
    _, gt = random_pair(rng, 30, 41, num_classes=6)
    union = np.zeros(gt.shape, bool)
    for c in range(6):
        union |= oracle_bmap(gt == c)
    np.testing.assert_array_equal(label_boundary_map(gt, num_classes=6), union)


# ---------------------------------------------------------------------------------------------------------
# Rules 5-7: matching and the special cases


def _vertical_edge(x: int, shape=(16, 32)) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    m[:, x:] = 1
    return m


def test_shift_of_three_pixels():
    gt, pred = _vertical_edge(8), _vertical_edge(11)
    f = boundary_prf(pred, gt, thresholds=(1, 2, 3, 4), num_classes=2).f
    # Both classes share the edge (mask vs complement); distance 3 px everywhere.
    assert f.tolist() == [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]


def test_match_at_exactly_distance_r():
    """Single pixels 3 down and 4 right: nearest squared distances 13, 18, 20, 25 (a 3-4-5 tie)."""
    gt = np.zeros((12, 14), np.uint8)
    pred = gt.copy()
    gt[5, 5] = 1
    pred[8, 9] = 1
    prf = boundary_prf(pred, gt, thresholds=(3, 4, 5), num_classes=2)
    assert prf.n_pred.tolist() == prf.n_gt.tolist() == [4, 4]
    assert prf.matched_pred[:, 1].tolist() == [0, 1, 4]
    assert prf.f[:, 1].tolist() == [0.0, 0.25, 1.0]
    np.testing.assert_array_equal(prf.f[:, 0], prf.f[:, 1])  # class 0 is the complement


def test_special_cases():
    gt = np.zeros((10, 10), np.uint8)
    gt[2:6, 2:6] = 1
    pred = np.zeros((10, 10), np.uint8)
    pred[6:9, 7:9] = 2
    prf = boundary_prf(pred, gt, thresholds=(1,), num_classes=4)
    # class 0: boundaries in both maps, only partly within 1 px of each other
    assert 0 < prf.f[0, 0] < 1
    # class 1: GT only -> P = 1, R = 0, F = 0 (G-SCNN's P and R)
    assert (prf.precision[0, 1], prf.recall[0, 1], prf.f[0, 1]) == (1.0, 0.0, 0.0)
    # class 2: prediction only -> P = 0, R = 1, F = 0
    assert (prf.precision[0, 2], prf.recall[0, 2], prf.f[0, 2]) == (0.0, 1.0, 0.0)
    # class 3: absent from both -> P = R = F = 1
    assert (prf.precision[0, 3], prf.recall[0, 3], prf.f[0, 3]) == (1.0, 1.0, 1.0)
    assert prf.present.tolist() == [True, True, True, False]
    # a class filling the image in both maps has no boundary: F = 1
    full = np.zeros((6, 6), np.uint8)
    assert boundary_prf(full, full, thresholds=(2,), num_classes=1).f.tolist() == [[1.0]]


def test_far_apart_boundaries_score_zero():
    gt = np.zeros((20, 20), np.uint8)
    pred = gt.copy()
    gt[1:4, 1:4] = 1
    pred[14:18, 14:18] = 1
    prf = boundary_prf(pred, gt, thresholds=(2,), num_classes=2)
    assert prf.precision[0, 1] == prf.recall[0, 1] == prf.f[0, 1] == 0.0


def test_ignore_zeroes_both_masks_only_where_gt_is_255():
    gt = np.zeros((12, 12), np.uint8)
    gt[3:8, 3:8] = 255
    pred = np.zeros((12, 12), np.uint8)
    pred[4:7, 4:7] = 1  # hidden inside the GT's ignore region
    f = boundary_prf(pred, gt, thresholds=(1,), num_classes=2).f
    # class 0 has the same hole in both masks; class 1 vanishes from the prediction
    assert f.tolist() == [[1.0, 1.0]]
    # a 255 in the *prediction* is not ignore: it is a hole in the prediction's class-0 mask
    f = boundary_prf(np.where(gt == 255, 255, 0).astype(np.uint8), np.zeros_like(gt), (1,), 2).f
    assert f.tolist() == [[0.0, 1.0]]


def test_input_errors():
    with pytest.raises(LabelMapError, match="pred is 3x4"):
        boundary_prf(np.zeros((3, 4), np.uint8), np.zeros((4, 3), np.uint8))
    with pytest.raises(LabelMapError, match="dtype"):
        boundary_prf(np.zeros((3, 4)), np.zeros((3, 4), np.uint8))
    with pytest.raises(LabelMapError, match="single-channel"):
        boundary_prf(np.zeros((3, 4, 3), np.uint8), np.zeros((3, 4, 3), np.uint8))


# ---------------------------------------------------------------------------------------------------------
# The oracle on random maps


@pytest.mark.parametrize(
    ("shape", "thresholds", "num_classes", "repeats"),
    [
        ((37, 53), (1, 2, 3, 5), 19, 3),
        ((64, 96), (0.02, 0.05, 0.1), 7, 3),
        ((96, 160), (1, 4, 6), 19, 2),
        ((256, 512), (0.004, 0.008, 0.015, 0.02), 19, 1),  # 3 / 5 / 9 / 12 px, like 1024x2048
    ],
)
def test_matches_literal_oracle(shape, thresholds, num_classes, repeats):
    rng = np.random.default_rng(sum(shape))
    for _ in range(repeats):
        pred, gt = random_pair(rng, *shape, num_classes=num_classes)
        ours = boundary_prf(pred, gt, thresholds, num_classes=num_classes)
        ref = oracle_prf(pred, gt, thresholds, num_classes=num_classes)
        assert ours.radii == tuple(radius_px(t, *shape) for t in thresholds)
        for got, want in zip((ours.precision, ours.recall, ours.f), ref, strict=True):
            assert np.abs(got - want).max() <= 1e-12
        assert (ours.f > 0).any() and (ours.f < 1).any()  # the maps exercise real matching


def test_dataset_mean_matches_oracle_over_images_of_two_sizes():
    rng = np.random.default_rng(5)
    scored, sums, n = [], np.zeros((2, 8)), 0
    for shape in ((40, 60), (30, 45), (40, 60)):
        pred, gt = random_pair(rng, *shape, num_classes=8)
        scored.append(score_image(pred, gt, (0.02, 0.05), tolerance_radii=(), num_classes=8))
        sums += oracle_prf(pred, gt, (0.02, 0.05), num_classes=8)[2]
        n += 1
    arrays = reduce.stack(scored)
    res = reduce.table_v(arrays)
    assert np.abs(res.per_class_f - sums / n).max() <= 1e-12
    assert np.abs(res.mean_f - (sums / n).mean(axis=1)).max() <= 1e-12
    assert res.n_images == 3
    sizes, radii = reduce.image_sizes(arrays)
    assert sizes == [(40, 60), (30, 45)]
    assert radii == [radii_px((0.02, 0.05), 40, 60), radii_px((0.02, 0.05), 30, 45)]
    # Summed image after image, as G-SCNN's loop does: the same bits as a running sum.
    running = 0.0
    for s in scored:
        running = running + s["boundary_f"]
    assert res.per_class_f.tobytes() == (running / n).tobytes()


def test_skimage_disk_is_the_closed_euclidean_disk():
    for r in range(0, 21):
        y, x = np.mgrid[-r : r + 1, -r : r + 1]
        np.testing.assert_array_equal(morphology.disk(r).astype(bool), x * x + y * y <= r * r)


# ---------------------------------------------------------------------------------------------------------
# Reductions and the tolerance curve


def test_table_v_counts_absent_images_as_one_and_image_rows_skip_them():
    gt = _vertical_edge(4, (8, 8))
    wrong = np.zeros((8, 8), np.uint8)
    absent = np.full((8, 8), 0, np.uint8)
    # class 1 in GT only: F = 0; class 0 GT only boundary: F = 0; then class 1 absent from both: F = 1
    scored = [
        score_image(p, g, (1,), tolerance_radii=(), num_classes=3) for p, g in ((wrong, gt), (absent, absent))
    ]
    result = reduce.table_v(reduce.stack(scored))
    assert result.per_class_f.tolist() == [[0.5, 0.5, 1.0]]
    assert result.mean_f.tolist() == [2 / 3]
    # One image's mean over the classes present: classes 0 and 1 in the first, class 0 alone in the second.
    rows = reduce.image_rows(reduce.stack(scored), (1,))
    assert rows["F@1"].tolist() == [0.0, 1.0] and rows["miou"].tolist() == [0.25, 1.0]
    with pytest.raises(ValueError, match="no image"):
        reduce.table_v(reduce.stack([]))


def test_paper_radii_are_the_default_thresholds_at_the_paper_size():
    assert radii_px(DEFAULT_THRESHOLDS, *PAPER_IMAGE_SIZE) == PAPER_RADII_PX


def test_score_image_equals_boundary_prf_and_f_vs_tolerance_bit_for_bit():
    rng = np.random.default_rng(11)
    pred, gt = random_pair(rng, 64, 96)
    stats = score_image(pred, gt, (0.02, 3), tolerance_radii=range(1, 21))
    prf = boundary_prf(pred, gt, thresholds=(0.02, 3))
    curve = f_vs_tolerance(pred, gt, radii=range(1, 21))
    for name, want in (
        ("boundary_precision", prf.precision),
        ("boundary_recall", prf.recall),
        ("boundary_f", prf.f),
        ("matched_gt", prf.matched_gt),
        ("gt_boundary_px", prf.n_gt),
        ("tolerance_f", curve.f),
    ):
        assert stats[name].tobytes() == want.tobytes(), name
    assert stats.radii == prf.radii and stats.image_size == (64, 96)
    # Whole-image prediction counts, the ignore region and ids outside the classes included.
    assert stats["pred_pixels"].tolist() == np.bincount(pred.ravel(), minlength=256)[:19].tolist()
    assert stats["gt_pixels"].tolist() == np.bincount(gt.ravel(), minlength=256)[:19].tolist()


def test_f_vs_tolerance_equals_pixel_thresholds_and_is_monotone():
    rng = np.random.default_rng(7)
    pred, gt = random_pair(rng, 48, 64)
    curve = f_vs_tolerance(pred, gt, radii=range(1, 21))
    np.testing.assert_array_equal(curve.f, boundary_prf(pred, gt, thresholds=tuple(range(1, 21))).f)
    assert curve.radii == tuple(range(1, 21))
    assert (np.diff(curve.matched_pred, axis=0) >= 0).all() and (np.diff(curve.matched_gt, axis=0) >= 0).all()
    assert np.abs(curve.f[[2, 8]] - oracle_prf(pred, gt, (3, 9))[2]).max() <= 1e-12
