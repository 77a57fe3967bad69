"""Mechanism statistics stored by evaluation jobs (issue #12 items 1 and 3) against slow literal loops."""

import math

import numpy as np
import pytest
import torch

from gald_viz.data.sources import open_source
from gald_viz.hooks import FeatureRecorder
from gald_viz.inference import predict
from gald_viz.interventions import intervene
from gald_viz.jobs import run_job
from gald_viz.mechanisms.job import MechanismError, predict_with_mechanisms
from gald_viz.mechanisms.plan import MechanismPlan
from gald_viz.metrics.boundary import label_boundary_map
from gald_viz.metrics.scoring import score_image
from gald_viz.models import build_model
from gald_viz.store import ResultsStore

DATA = "synthcity:val:size=64x128"
C = 19
EDGES = (0.0, 4.0, 12.0)
PLAN = MechanismPlan(EDGES, (0.02, 3), ())


def tiny(arch, seed=0):
    torch.manual_seed(seed)
    return build_model(arch, backbone="small", head_channels=16).eval()


@pytest.fixture(scope="module")
def models():
    return {"ga": tiny("aspp"), "ldv1": tiny("aspp_ldv1", 1), "ldv2": tiny("aspp_ldv2", 2)}


@pytest.fixture(scope="module")
def samples():
    source = open_source(DATA, limit=2)
    return [source[i] for i in range(len(source))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, models, one_thread):
    store = ResultsStore(tmp_path_factory.mktemp("mech") / "r.sqlite")
    ga = run_job(models["ga"], DATA, limit=2, db=store, progress=False, mechanisms=PLAN)
    ko = MechanismPlan(EDGES, (0.02, 3), ("ldv2.kernel=uniform", "context=off"))
    ldv2 = run_job(models["ldv2"], DATA, limit=2, db=store, progress=False, pair_with=ga, mechanisms=ko)
    ldv1 = run_job(models["ldv1"], DATA, limit=2, db=store, progress=False, pair_with=ga, mechanisms=PLAN)
    return store, {"ga": ga, "ldv1": ldv1, "ldv2": ldv2}


def slow_distance(gt):
    boundary = np.argwhere(label_boundary_map(gt, C, 255))
    yy, xx = np.mgrid[: gt.shape[0], : gt.shape[1]]
    out = np.full(gt.shape, np.inf)
    for py, px in boundary:  # literal minimum over every boundary pixel
        out = np.minimum(out, np.hypot(yy - py, xx - px))
    return out


def slow_band(d):
    for b in range(len(EDGES) - 1):
        if d <= EDGES[b + 1]:
            return b
    return len(EDGES) - 1


def cell_reads(gt, feat, stride=8):
    """Per cell (zoo geometry, input scale 1): (class or None, band), read at the nearest native pixel."""
    dist = slow_distance(gt)
    out = {}
    for j in range(feat[0]):
        for i in range(feat[1]):
            y = min(max(round(stride * j), 0), gt.shape[0] - 1)
            x = min(max(round(stride * i), 0), gt.shape[1] - 1)
            on = stride * j <= gt.shape[0] - 1 and stride * i <= gt.shape[1] - 1
            label = int(gt[y, x]) if on else None
            out[j, i] = (label if label is not None and label < C else None, slow_band(dist[y, x]), label)
    return out


def test_plain_numbers_unchanged(runs, models, samples, tmp_path):
    """The mechanism job stores the plain job's arrays bit for bit, and the prediction is the same."""
    store, ids = runs
    plain = ResultsStore(tmp_path / "plain.sqlite")
    run = run_job(models["ldv2"], DATA, limit=2, db=plain, progress=False)
    assert run != ids["ldv2"]
    _, a = plain.arrays(run)
    _, b = store.arrays(ids["ldv2"])
    for name, value in a.items():
        assert value.dtype == b[name].dtype and np.array_equal(value, b[name], equal_nan=True), name
    for s in samples:
        assert np.array_equal(plain.load_prediction(run, s.name), store.load_prediction(ids["ldv2"], s.name))


def test_band_accuracy_and_fourway_literal(runs, samples):
    store, ids = runs
    _, ga = store.arrays(ids["ga"])
    _, gald = store.arrays(ids["ldv1"])
    _, pair = store.pair_arrays(ids["ga"], ids["ldv1"])
    for n, s in enumerate(samples):
        gt = s.label
        p_ga, p_gald = store.load_prediction(ids["ga"], s.name), store.load_prediction(ids["ldv1"], s.name)
        dist = slow_distance(gt)
        correct = np.zeros((len(EDGES), C), int)
        total = np.zeros_like(correct)
        four = np.zeros((4, len(EDGES), C), int)
        for y in range(gt.shape[0]):
            for x in range(gt.shape[1]):
                g = int(gt[y, x])
                if g >= C:
                    continue
                b = slow_band(dist[y, x])
                total[b, g] += 1
                correct[b, g] += p_gald[y, x] == g
                a_ok, b_ok = p_ga[y, x] == g, p_gald[y, x] == g
                four[{(1, 1): 0, (0, 1): 1, (1, 0): 2, (0, 0): 3}[int(a_ok), int(b_ok)], b, g] += 1
        assert np.array_equal(gald["band_correct"][n], correct)
        assert np.array_equal(gald["band_total"][n], total)
        assert np.array_equal(pair["fourway_band"][n], four)
        assert np.array_equal(gald["band_edges"][n], EDGES)
        assert ga["band_total"][n].sum() == (gt < C).sum()


def slow_boundary(mask, d):
    """Mask minus its erosion by a 3×3 square repeated d times, zero padding."""
    eroded = mask.copy()
    for _ in range(d):
        padded = np.pad(eroded, 1)
        nxt = np.ones_like(eroded)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                nxt &= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
        eroded = nxt
    return mask & ~eroded


def test_boundary_iou_literal(runs, samples):
    store, ids = runs
    _, arrays = store.arrays(ids["ga"])
    for n, s in enumerate(samples):
        gt, pred = s.label, store.load_prediction(ids["ga"], s.name)
        widths = [max(1, round(0.02 * math.hypot(*gt.shape))), 3]
        assert arrays["biou_width_px"][n].tolist() == widths
        ok = gt < C
        for w, d in enumerate(widths):
            for c in range(C):
                bg, bp = slow_boundary((gt == c) & ok, d), slow_boundary((pred == c) & ok, d)
                assert arrays["biou_intersection"][n, w, c] == (bg & bp).sum()
                assert arrays["biou_union"][n, w, c] == (bg | bp).sum()


def _taps(model, image, name):
    with FeatureRecorder(model, [name]) as rec:
        predict(model, image, device="cpu")
    return rec[name][0].double().numpy()


def test_ldv1_literal(runs, models, samples):
    store, ids = runs
    _, arrays = store.arrays(ids["ldv1"])
    assert "ldv2_sums" not in arrays and "ldv1_cells" not in store.arrays(ids["ga"])[1]
    for n, s in enumerate(samples):
        mask = _taps(models["ldv1"], s.image, "ldv1.mask")
        reads = cell_reads(s.label, mask.shape[1:])
        total, count, on_image = np.zeros((len(EDGES), C)), np.zeros((len(EDGES), C), int), []
        for (j, i), (c, b, label) in reads.items():
            m = mask[:, j, i].mean()
            if label is not None:
                on_image.append(m)
            if c is not None:
                total[b, c] += m
                count[b, c] += 1
        np.testing.assert_allclose(arrays["ldv1_mask_sum"][n], total, rtol=1e-6, atol=1e-9)
        assert np.array_equal(arrays["ldv1_cells"][n], count)
        np.testing.assert_allclose(
            arrays["ldv1_mask_p05_p95"][n], np.percentile(on_image, [5, 95]), rtol=1e-6
        )


def test_ldv2_literal(runs, models, samples):
    store, ids = runs
    _, arrays = store.arrays(ids["ldv2"])
    k, r = 5, 3
    for n, s in enumerate(samples):
        w = _taps(models["ldv2"], s.image, "ldv2.affinity")
        h, fw = w.shape[1:]
        reads = cell_reads(s.label, (h, fw))
        sums, count = np.zeros((6, len(EDGES), C)), np.zeros((len(EDGES), C), int)
        for (j, i), (c, b, _) in reads.items():
            if c is None:
                continue
            q = np.zeros(6)
            for t in range(k * k):
                jj, ii = j + r * (t // k - k // 2), i + r * (t % k - k // 2)
                inside = 0 <= jj < h and 0 <= ii < fw
                label = reads[jj, ii][2] if inside else None
                q[0] += w[t, j, i] if label == c else 0.0
                q[1] += (label == c) / (k * k)
                q[4] += 0.0 if inside else w[t, j, i]
                q[5] += w[t, j, i] * 8 * math.hypot(jj - j, ii - i)  # 8 native px per cell
                q[3] -= w[t, j, i] * math.log(w[t, j, i]) / math.log(k * k) if w[t, j, i] > 0 else 0.0
            q[2] = w[k * k // 2, j, i]
            sums[:, b, c] += q
            count[b, c] += 1
        np.testing.assert_allclose(arrays["ldv2_sums"][n], sums, rtol=1e-6, atol=1e-9)
        assert np.array_equal(arrays["ldv2_cells"][n], count)


def test_knockout_arrays_literal(runs, models, samples):
    store, ids = runs
    _, arrays = store.arrays(ids["ldv2"])
    net = models["ldv2"]
    for n, s in enumerate(samples):
        intact = store.load_prediction(ids["ldv2"], s.name)
        for name in ("ldv2.kernel=uniform", "context=off"):
            with intervene(net, name):
                ko = predict(net, s.image, device="cpu")
            ref = score_image(ko, s.label, num_classes=C)
            for stat in ("tp", "fp", "fn", "boundary_f"):
                assert np.array_equal(arrays[f"ko:{name}:{stat}"][n], ref[stat]), (name, stat)
            changed = sum(ko[y, x] != intact[y, x] for y in range(ko.shape[0]) for x in range(ko.shape[1]))
            assert arrays[f"ko:{name}:changed"][n].tolist() == [changed, ko.size]


def test_resume_after_interruption(models, tmp_path, one_thread):
    """A job stopped after its first image resumes to exactly the arrays of an uninterrupted run."""
    plan = MechanismPlan(EDGES, (0.02,), ("ldv1.mask=1",))
    whole = ResultsStore(tmp_path / "whole.sqlite")
    ref = run_job(models["ldv1"], DATA, limit=2, db=whole, progress=False, mechanisms=plan)
    store = ResultsStore(tmp_path / "cut.sqlite")

    def stop(done, total, name):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(models["ldv1"], DATA, limit=2, db=store, progress=stop, mechanisms=plan)
    assert len(store.done_images(ref)) == 1 and store.run(ref)["status"] == "failed"
    assert run_job(models["ldv1"], DATA, limit=2, db=store, progress=False, mechanisms=plan) == ref
    (ia, a), (ib, b) = whole.arrays(ref), store.arrays(ref)
    assert ia == ib and a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    assert store.run(ref)["identity"]["mechanisms"]["interventions"] == ["ldv1.mask=1"]


def test_refusals(models, samples, tmp_path):
    with pytest.raises(ValueError, match="unknown intervention 'ldv3.x=1'.*ldv1.mask=mean"):
        MechanismPlan(interventions=("ldv3.x=1",))
    with pytest.raises(ValueError, match="band edges"):
        MechanismPlan((4, 8))
    with pytest.raises(ValueError, match="boundary width"):
        MechanismPlan(ratios=(2.5,))
    with pytest.raises(ValueError, match="ldv2.kernel=uniform"):
        run_job(
            models["ldv1"],
            DATA,
            limit=1,
            db=tmp_path / "x.sqlite",
            progress=False,
            mechanisms=MechanismPlan(interventions=("ldv2.kernel=uniform",)),
        )
    sliding = tiny("aspp_ldv1", 1)
    sliding.evaluation = type(sliding.evaluation)(mode="slide", tile=48, stride=32)
    with pytest.raises(MechanismError, match="sliding-window"):
        predict_with_mechanisms(
            sliding, samples[0].image, samples[0].label, PLAN, device="cpu", thresholds=(1,), num_classes=C
        )
