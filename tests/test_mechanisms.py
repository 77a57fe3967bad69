"""Mechanism statistics (issue #12) against slow literal loops on small random maps."""

import math

import numpy as np
import pytest

from gald_viz.analysis import Analysis, _gt_at, same_class_share_map
from gald_viz.mechanisms.bands import band_index, band_labels, boundary_distance, check_edges, sample_cells
from gald_viz.mechanisms.fourway import band_accuracy_counts, fourway_accuracy, fourway_band_counts
from gald_viz.mechanisms.geometry import CellGeometry
from gald_viz.mechanisms.ldv1 import ldv1_stats
from gald_viz.mechanisms.ldv2 import QUANTITIES, ldv2_stats
from gald_viz.mechanisms.sums import CellSums, cell_sums
from gald_viz.metrics.boundary import label_boundary_map
from gald_viz.metrics.errors import distance_band_accuracy

C = 4
EDGES = (0, 1, 2.5, 4)


def random_gt(rng, shape, ignore=True):
    coarse = rng.integers(0, C, size=(shape[0] // 3 + 1, shape[1] // 3 + 1))
    gt = np.kron(coarse, np.ones((3, 3), np.int64))[: shape[0], : shape[1]].astype(np.uint8)
    if ignore:
        gt[rng.random(shape) < 0.08] = 255
    return gt


def slow_distance(gt):
    boundary = label_boundary_map(gt, C, 255)
    points = [(y, x) for y in range(gt.shape[0]) for x in range(gt.shape[1]) if boundary[y, x]]
    out = np.full(gt.shape, np.inf)
    for y in range(gt.shape[0]):
        for x in range(gt.shape[1]):
            for py, px in points:
                out[y, x] = min(out[y, x], math.hypot(y - py, x - px))
    return out


def slow_band(d, edges):
    if d <= edges[1]:
        return 0
    for b in range(1, len(edges) - 1):
        if edges[b] < d <= edges[b + 1]:
            return b
    return len(edges) - 1


def slow_cells(gt, native, inp, feat, stride):
    """Per cell: (label or None when off the image, distance) at the nearest native pixel."""
    dist = slow_distance(gt)
    out = {}
    for j in range(feat[0]):
        for i in range(feat[1]):
            if stride * j > inp[0] - 1 or stride * i > inp[1] - 1:
                out[j, i] = None
                continue
            x = (stride * i + 0.5) * native[1] / inp[1] - 0.5
            y = (stride * j + 0.5) * native[0] / inp[0] - 0.5
            px = min(max(round(x), 0), native[1] - 1)
            py = min(max(round(y), 0), native[0] - 1)
            out[j, i] = (int(gt[py, px]), dist[py, px])
    return out


# (native, input, feature, stride): input_scale 0.5; no scale; padded (cells past the input are off it).
GEOMETRIES = [
    ((18, 26), (9, 13), (5, 7), 2),
    ((12, 15), (12, 15), (4, 5), 3),
    ((10, 14), (10, 14), (6, 8), 2),
]


def test_distance_and_bands_match_loops():
    rng = np.random.default_rng(0)
    gt = random_gt(rng, (9, 11))
    dist = boundary_distance(gt, C)
    np.testing.assert_array_equal(dist, slow_distance(gt))
    band = band_index(dist, EDGES)
    assert band.tolist() == [[slow_band(d, EDGES) for d in row] for row in dist]
    assert band_labels(EDGES) == ["0–1 px", "1–2.5 px", "2.5–4 px", "> 4 px"]
    assert np.all(np.isinf(boundary_distance(np.zeros((3, 4), np.uint8), C)))
    for bad in [(1, 2), (0, 2, 2), (0, np.inf), ()]:
        with pytest.raises(ValueError, match="band edges"):
            check_edges(bad)


def test_band_accuracy_sums_to_distance_band_accuracy():
    rng = np.random.default_rng(1)
    gt = random_gt(rng, (12, 14))
    pred = rng.integers(0, C, size=gt.shape).astype(np.uint8)
    correct, total = band_accuracy_counts(pred, gt, EDGES, num_classes=C)
    ref = distance_band_accuracy(pred, gt, bands=(*EDGES, np.inf), num_classes=C)
    assert correct.sum(1).tolist() == ref.correct.tolist()
    assert total.sum(1).tolist() == ref.total.tolist()
    dist = slow_distance(gt)
    slow_correct, slow_total = np.zeros_like(correct), np.zeros_like(total)
    for (y, x), g in np.ndenumerate(gt):
        if g < C:
            slow_total[slow_band(dist[y, x], EDGES), g] += 1
            slow_correct[slow_band(dist[y, x], EDGES), g] += int(pred[y, x] == g)
    np.testing.assert_array_equal(correct, slow_correct)
    np.testing.assert_array_equal(total, slow_total)


def test_fourway_band_counts_match_loops():
    rng = np.random.default_rng(2)
    gt = random_gt(rng, (10, 13))
    ga = np.where(rng.random(gt.shape) < 0.3, rng.integers(0, C, gt.shape), gt).astype(np.uint8)
    gald = np.where(rng.random(gt.shape) < 0.3, rng.integers(0, C, gt.shape), gt).astype(np.uint8)
    counts = fourway_band_counts(ga, gald, gt, EDGES, num_classes=C)
    dist = slow_distance(gt)
    slow = np.zeros((4, len(EDGES), C), np.int64)
    for (y, x), g in np.ndenumerate(gt):
        if g >= C:
            continue
        ga_ok, gald_ok = ga[y, x] == g, gald[y, x] == g
        cat = {(True, True): 0, (False, True): 1, (True, False): 2, (False, False): 3}[(ga_ok, gald_ok)]
        slow[cat, slow_band(dist[y, x], EDGES), g] += 1
    np.testing.assert_array_equal(counts, slow)
    ga_correct, gald_correct, total = fourway_accuracy(counts)
    np.testing.assert_array_equal((ga_correct, total), band_accuracy_counts(ga, gt, EDGES, num_classes=C))
    np.testing.assert_array_equal(gald_correct, band_accuracy_counts(gald, gt, EDGES, num_classes=C)[0])


@pytest.mark.parametrize(("native", "inp", "feat", "stride"), GEOMETRIES)
def test_sample_cells_match_loops_and_the_inspector(native, inp, feat, stride):
    rng = np.random.default_rng(3)
    gt = random_gt(rng, native)
    geo = CellGeometry(native, inp, feat, stride)
    cells = sample_cells(gt, geo, EDGES, num_classes=C)
    for (j, i), ref in slow_cells(gt, native, inp, feat, stride).items():
        if ref is None:
            assert cells.label[j, i] == -1 and cells.cls[j, i] == -1
            continue
        assert cells.label[j, i] == ref[0]
        assert cells.cls[j, i] == (ref[0] if ref[0] < C else -1)
        assert cells.band[j, i] == slow_band(ref[1], EDGES)
    # The inspector reads the same pixel (it clamps off-image cells instead of leaving them out).
    analysis = Analysis("x", gt, gt, native, inp, feat, stride)
    assert CellGeometry.of(analysis) == geo
    rows, cols = np.meshgrid(np.arange(feat[0]), np.arange(feat[1]), indexing="ij")
    on = cells.label >= 0
    np.testing.assert_array_equal(cells.label[on], _gt_at(analysis, gt, rows, cols)[on])


def test_stretch_geometry_places_cells_on_the_padded_input():
    geo = CellGeometry((20, 30), (10, 15), (3, 4), 8, "stretch", (10, 15))
    x, y = geo.centres(np.array([0, 1, 2]), np.array([0, 1, 3]))
    np.testing.assert_allclose(x, [(0 + 0.5) * 2 - 0.5, (14 / 3 + 0.5) * 2 - 0.5, (14 + 0.5) * 2 - 0.5])
    np.testing.assert_allclose(y, [0.5, (4.5 + 0.5) * 2 - 0.5, 18.5])
    assert geo.on_image(np.array([2, 3]), np.array([3, 0])).tolist() == [True, False]
    with pytest.raises(ValueError, match="geometry"):
        CellGeometry((1, 1), (1, 1), (1, 1), 8, "corners")


@pytest.mark.parametrize(("native", "inp", "feat", "stride"), GEOMETRIES)
def test_ldv1_stats_match_loops(native, inp, feat, stride):
    rng = np.random.default_rng(4)
    gt = random_gt(rng, native)
    mask = rng.random((3, *feat)).astype(np.float32)
    cells = sample_cells(gt, CellGeometry(native, inp, feat, stride), EDGES, num_classes=C)
    stats = ldv1_stats(mask, cells)
    slow_sum, slow_n, on_image = np.zeros((len(EDGES), C)), np.zeros((len(EDGES), C), int), []
    for (j, i), ref in slow_cells(gt, native, inp, feat, stride).items():
        if ref is None:
            continue
        m = sum(float(mask[c, j, i]) for c in range(3)) / 3
        on_image.append(m)
        if ref[0] < C:
            slow_sum[slow_band(ref[1], EDGES), ref[0]] += m
            slow_n[slow_band(ref[1], EDGES), ref[0]] += 1
    assert stats.sums.names == ("mask_mean",)
    np.testing.assert_allclose(stats.sums.sums[0], slow_sum, rtol=1e-12)
    np.testing.assert_array_equal(stats.sums.count, slow_n)
    on_image.sort()
    pos = 0.95 * (len(on_image) - 1)
    lo = on_image[math.floor(pos)]
    p95 = lo + (pos - math.floor(pos)) * (on_image[min(math.floor(pos) + 1, len(on_image) - 1)] - lo)
    assert stats.p95 == pytest.approx(p95, rel=1e-12)
    assert stats.p05 == pytest.approx(np.percentile(on_image, 5), rel=1e-12)
    with pytest.raises(ValueError, match="mask has shape"):
        ldv1_stats(mask[0], cells)


def slow_ldv2(w, gt, native, inp, feat, stride, k, r):
    cells = slow_cells(gt, native, inp, feat, stride)
    sums, n = np.zeros((6, len(EDGES), C)), np.zeros((len(EDGES), C), int)
    half = k // 2
    sx, sy = native[1] / inp[1], native[0] / inp[0]
    for (j, i), ref in cells.items():
        if ref is None or ref[0] >= C:
            continue
        b, c = slow_band(ref[1], EDGES), ref[0]
        same = same_count = outside = entropy = radius = 0.0
        for a in range(k):
            for bb in range(k):
                q = a * k + bb
                jj, ii = j + r * (a - half), i + r * (bb - half)
                weight = float(w[q, j, i])
                if not (0 <= jj < feat[0] and 0 <= ii < feat[1]):
                    outside += weight
                elif cells[jj, ii] is not None and cells[jj, ii][0] == c:
                    same += weight
                    same_count += 1
                if weight > 0:
                    entropy -= weight * math.log(weight)
                radius += weight * math.hypot(stride * (jj - j) * sy, stride * (ii - i) * sx)
        values = [same, same_count / k**2, float(w[k * k // 2, j, i]), entropy / math.log(k * k)]
        for q, v in enumerate([*values, outside, radius]):
            sums[q, b, c] += v
        n[b, c] += 1
    return sums, n


@pytest.mark.parametrize(("native", "inp", "feat", "stride"), GEOMETRIES)
@pytest.mark.parametrize(("k", "r"), [(3, 1), (3, 2), (5, 1)])
def test_ldv2_stats_match_loops(native, inp, feat, stride, k, r):
    rng = np.random.default_rng(5)
    gt = random_gt(rng, native)
    logits = rng.normal(size=(k * k, *feat)) * 2
    w = (np.exp(logits) / np.exp(logits).sum(0)).astype(np.float32)
    w[0, 0, 0] = 0.0  # a zero weight enters the entropy as 0 · log 0 = 0
    cells = sample_cells(gt, CellGeometry(native, inp, feat, stride), EDGES, num_classes=C)
    stats = ldv2_stats(w, cells, kernel=k, dilation=r)
    slow_sums, slow_n = slow_ldv2(w, gt, native, inp, feat, stride, k, r)
    assert stats.names == QUANTITIES
    np.testing.assert_allclose(stats.sums, slow_sums, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(stats.count, slow_n)


def test_ldv2_same_class_agrees_with_the_inspector_map():
    rng = np.random.default_rng(6)
    native, inp, feat, stride, k, r = (18, 26), (9, 13), (5, 7), 2, 3, 2
    gt = random_gt(rng, native)
    w = rng.dirichlet(np.ones(k * k), size=feat).transpose(2, 0, 1).astype(np.float32)
    analysis = Analysis("x", gt, gt, native, inp, feat, stride, affinity=w, ldv2_kernel=k, ldv2_dilation=r)
    share = same_class_share_map(analysis, gt)
    cells = sample_cells(gt, CellGeometry.of(analysis), EDGES, num_classes=C)
    stats = ldv2_stats(w, cells, kernel=k, dilation=r)
    assert stats.sums[0].sum() == pytest.approx(
        float(share[cells.counted].astype(np.float64).sum()), rel=1e-6
    )
    with pytest.raises(ValueError, match="affinity has shape"):
        ldv2_stats(w[:4], cells, kernel=k, dilation=r)


def test_cell_sums_add_and_filter_classes():
    cells = sample_cells(
        np.array([[0, 1], [1, 255]], np.uint8), CellGeometry((2, 2), (2, 2), (2, 2), 1), (0, 5), num_classes=2
    )
    a = cell_sums(("v",), np.array([[[1.0, 2.0], [3.0, 100.0]]]), cells)
    assert a.count.tolist() == [[1, 2], [0, 0]]
    both = a + a
    assert isinstance(both, CellSums) and both.count.tolist() == [[2, 4], [0, 0]]
    np.testing.assert_allclose(both.mean("v"), [2.0, np.nan])
    np.testing.assert_allclose(both.mean("v", classes=[1]), [2.5, np.nan])
    with pytest.raises(ValueError, match="cannot add"):
        a + CellSums(("w",), a.sums, a.count)


def test_on_a_real_analysis_geometry_and_inspector_agree(one_thread):
    import torch

    from gald_viz.analysis import analyse
    from gald_viz.models import build_model

    torch.manual_seed(0)
    model = build_model("aspp_ldv2", num_classes=C, head_channels=16, input_scale=0.5, aux=False)
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, size=(140, 150, 3), dtype=np.uint8)
    gt = random_gt(rng, (140, 150))
    analysis = analyse(model, image, device="cpu")
    geo = CellGeometry.from_model(model.eval(), (140, 150), analysis.feature_size)
    assert geo == CellGeometry(
        (140, 150), analysis.input_size, analysis.feature_size, 8, "cell_centres", analysis.input_size
    )
    assert CellGeometry.of(analysis) == analysis.cells == geo
    k, r = analysis.ldv2_kernel, analysis.ldv2_dilation
    cells = sample_cells(gt, geo, num_classes=C)
    stats = ldv2_stats(analysis.affinity, cells, kernel=k, dilation=r)
    share = same_class_share_map(analysis, gt).astype(np.float64)
    assert stats.count.sum() == cells.counted.sum() > 0
    assert stats.sums[0].sum() == pytest.approx(share[cells.counted].sum(), rel=1e-5)
