"""The mechanism report and `evaluate mechanisms` (issue #12 items 2 and 6) against literal sums."""

import json
import math

import numpy as np
import pytest
import torch

from gald_viz.checkpoints import save_model
from gald_viz.evaluate import main
from gald_viz.jobs import run_job
from gald_viz.mechanisms.plan import MechanismPlan
from gald_viz.mechanisms.report import ReportError, mechanism_report, ranked_images
from gald_viz.models import build_model
from gald_viz.stats.bootstrap import resample_draws
from gald_viz.store import ResultsStore

DATA = "synthcity:val:size=64x128"
B = 200
ITEM6 = {
    "ga",
    "gald",
    "data",
    "n_images",
    "bands_px",
    "classes",
    "ldv1",
    "ldv2",
    "fourway",
    "scores",
    "accuracy_by_band",
    "boundary_iou",
    "differences",
    "interventions",
}


def tiny(arch, seed):
    torch.manual_seed(seed)
    return build_model(arch, backbone="small", head_channels=16).eval()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_thread):
    store = ResultsStore(tmp_path_factory.mktemp("rep") / "r.sqlite")
    ga_net, ld_net = tiny("aspp", 0), tiny("aspp_ldv1", 1)
    plan = MechanismPlan()
    ga = run_job(ga_net, DATA, limit=3, db=store, progress=False, mechanisms=plan)
    ko = MechanismPlan(interventions=("ldv1.mask=1",))
    gald = run_job(ld_net, DATA, limit=3, db=store, progress=False, pair_with=ga, mechanisms=ko)
    # The same LDv1 model once more (another plan, so another run), paired with the first: identical.
    twin = run_job(ld_net, DATA, limit=3, db=store, progress=False, pair_with=gald, mechanisms=plan)
    ldv2 = run_job(
        tiny("aspp_ldv2", 2), DATA, limit=3, db=store, progress=False, pair_with=ga, mechanisms=plan
    )
    return store, ga, gald, twin, ldv2


def literal_miou(tp, fp, fn):
    ious = [tp[c] / (tp[c] + fp[c] + fn[c]) for c in range(len(tp)) if tp[c] + fp[c] + fn[c] > 0]
    return sum(ious) / len(ious)


def literal_interval(values):
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def test_report_against_literal_sums(runs):
    store, ga, gald, *_ = runs
    rep = mechanism_report(store, ga, gald, bootstrap=B, seed=3)
    _, a = store.arrays(ga)
    _, b = store.arrays(gald)
    _, p = store.pair_arrays(ga, gald)
    n = len(a["tp"])
    assert rep["n_images"] == n == 3
    # mIoU difference and its paired bootstrap interval, resample by resample.
    est = literal_miou(*(b[k].sum(0) for k in ("tp", "fp", "fn"))) - literal_miou(
        *(a[k].sum(0) for k in ("tp", "fp", "fn"))
    )
    assert rep["differences"]["miou"]["estimate"] == pytest.approx(est, abs=1e-12)
    diffs = []
    for draw in np.concatenate(list(resample_draws(n, B, 3))):
        sums = [[sum(arr[k][i] for i in draw) for k in ("tp", "fp", "fn")] for arr in (b, a)]
        diffs.append(literal_miou(*sums[0]) - literal_miou(*sums[1]))
    np.testing.assert_allclose(rep["differences"]["miou"]["ci95"], literal_interval(diffs), atol=1e-12)
    lo, hi = rep["differences"]["miou"]["ci95"]
    assert rep["differences"]["miou"]["contains_zero"] == (lo <= 0 <= hi)
    # Boundary F per threshold: mean over classes of the mean over images.
    for t in range(4):
        f = b["boundary_f"][:, t].mean(0).mean() - a["boundary_f"][:, t].mean(0).mean()
        assert rep["differences"]["boundary_f"][t]["estimate"] == pytest.approx(f, abs=1e-12)
    # LDv1 mask by band and by class, four-way shares, accuracy, Boundary IoU.
    for band in range(5):
        cells = b["ldv1_cells"][:, band].sum()
        want = b["ldv1_mask_sum"][:, band].sum() / cells if cells else None
        assert rep["ldv1"]["mask_mean_by_band"][band] == (None if want is None else pytest.approx(want))
        pixels = p["fourway_band"][:, :, band].sum()
        fixes = p["fourway_band"][:, 1, band].sum() / pixels if pixels else None
        assert rep["fourway"]["fixes_by_band"][band] == (None if fixes is None else pytest.approx(fixes))
        share = pixels / p["fourway_band"].sum()
        assert rep["fourway"]["pixels_by_band"][band] == pytest.approx(share)
        total = a["band_total"][:, band].sum()
        acc = a["band_correct"][:, band].sum() / total if total else None
        assert rep["accuracy_by_band"]["ga"][band] == (None if acc is None else pytest.approx(acc))
    for c in range(19):
        cells = b["ldv1_cells"][:, :, c].sum()
        got = rep["ldv1"]["mask_mean_by_class"][c]
        assert got == (pytest.approx(b["ldv1_mask_sum"][:, :, c].sum() / cells) if cells else None)
    inter, union = b["biou_intersection"][:, 0].sum(0), b["biou_union"][:, 0].sum(0)
    per_class = [inter[c] / union[c] if union[c] else None for c in range(19)]
    assert rep["boundary_iou"]["gald"]["per_class"] == [
        None if v is None else pytest.approx(v) for v in per_class
    ]
    present = [v for v in per_class if v is not None]
    assert rep["boundary_iou"]["gald"]["mean"] == pytest.approx(sum(present) / len(present))
    assert rep["boundary_iou"]["ratio"] == 0.02
    # The knock-out: knocked-out minus intact, same model.
    ko = rep["interventions"]["ldv1.mask=1"]
    assert ko["model"] == "gald"
    want = literal_miou(*(b[f"ko:ldv1.mask=1:{k}"].sum(0) for k in ("tp", "fp", "fn"))) - literal_miou(
        *(b[k].sum(0) for k in ("tp", "fp", "fn"))
    )
    assert ko["delta_miou"]["estimate"] == pytest.approx(want, abs=1e-12)
    assert len(ko["delta_boundary_f"]) == 4
    changed = b["ko:ldv1.mask=1:changed"].sum(0)
    assert ko["changed_share"] == pytest.approx(changed[0] / changed[1])


def test_each_models_scores_and_intervals_against_literal_resamples(runs):
    store, ga, gald, *_ = runs
    rep = mechanism_report(store, ga, gald, bootstrap=B, seed=5)
    draws = np.concatenate(list(resample_draws(3, B, 5)))
    for model, run in (("ga", ga), ("gald", gald)):
        _, a = store.arrays(run)
        assert rep["scores"][model]["miou"] == pytest.approx(
            literal_miou(*(a[k].sum(0) for k in ("tp", "fp", "fn"))), abs=1e-12
        )
        boot = [literal_miou(*(sum(a[k][i] for i in d) for k in ("tp", "fp", "fn"))) for d in draws]
        np.testing.assert_allclose(rep["ci95"]["scores"][model]["miou"], literal_interval(boot), atol=1e-12)
        for t in range(4):
            f = float(np.mean([np.mean([a["boundary_f"][i, t, c] for i in range(3)]) for c in range(19)]))
            assert rep["scores"][model]["boundary_f"][t] == pytest.approx(f, abs=1e-12)
            boot_f = [np.mean(a["boundary_f"][d, t].mean(0)) for d in draws]
            np.testing.assert_allclose(
                rep["ci95"]["scores"][model]["boundary_f"][t], literal_interval(boot_f), atol=1e-12
            )


def walk_differences(node):
    if isinstance(node, dict) and "estimate" in node:
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from walk_differences(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_differences(v)


def test_identical_models_give_exact_zero_intervals(runs):
    store, _, gald, twin, _ = runs
    rep = mechanism_report(store, gald, twin, bootstrap=B)
    seen = 0
    for d in walk_differences(rep["differences"]):
        if d["estimate"] is not None:
            seen += 1
            assert d["estimate"] == 0.0 and d["ci95"] == [0.0, 0.0] and d["contains_zero"], d
    assert seen > 50
    assert all(
        v == 0 for v in rep["fourway"]["fixes_by_band"] + rep["fourway"]["breaks_by_band"] if v is not None
    )


def test_layout_filters_and_ranking(runs):
    store, ga, gald, *_ = runs
    rep = mechanism_report(store, ga, gald, bootstrap=50)
    assert rep.keys() >= ITEM6
    assert rep["ldv2"] is None and set(rep["ldv1"]) >= {"mask_mean_by_band", "mask_mean_by_class"}
    assert set(rep["fourway"]) == {"fixes_by_band", "breaks_by_band", "pixels_by_band"}
    assert rep["bands_px"] == [0, 8, 16, 32, 64] and len(rep["classes"]) == 19
    assert {"name", "sha256"} == set(rep["ga"]) and len(rep["gald"]["sha256"]) == 64
    assert len(rep["differences"]["boundary_f"]) == 4
    json.dumps(rep, allow_nan=False)
    fractions = (
        rep["accuracy_by_band"]["ga"] + rep["ldv1"]["mask_mean_by_band"] + rep["fourway"]["pixels_by_band"]
    )
    assert all(0 <= v <= 1 for v in fractions if v is not None)
    # A class filter and an image subset.
    _, b = store.arrays(gald)
    only = mechanism_report(store, ga, gald, bootstrap=20, classes=[0, 2])
    assert only["classes"] == ["road", "building"] and len(only["boundary_iou"]["ga"]["per_class"]) == 2
    cells = b["ldv1_cells"][:, 0][:, [0, 2]].sum()
    assert only["ldv1"]["mask_mean_by_band"][0] == pytest.approx(
        b["ldv1_mask_sum"][:, 0][:, [0, 2]].sum() / cells
    )
    images = store.done_images(ga)
    first = sorted(images)[0]
    assert mechanism_report(store, ga, gald, bootstrap=20, images=[first])["n_images"] == 1
    with pytest.raises(ReportError, match="no common image"):
        mechanism_report(store, ga, gald, images=["nope"])
    with pytest.raises(ReportError, match="class ids"):
        mechanism_report(store, ga, gald, classes=[19])
    # Ranking: (fixes - breaks) / pixels of the band and class, largest gain first.
    names, p = store.pair_arrays(ga, gald)
    ranked = ranked_images(store, ga, gald, band=0, class_id=0)
    want = {}
    for i, im in enumerate(names):
        counts = p["fourway_band"][i, :, 0, 0]
        if counts.sum():
            want[im] = (counts[1] - counts[2]) / counts.sum()
    assert dict(ranked) == pytest.approx(want)
    assert [g for _, g in ranked] == sorted(want.values(), reverse=True)
    assert len(ranked_images(store, ga, gald)) == 3


def test_command_line(tmp_path, capsys, one_thread):
    ga, ld = tmp_path / "ga.safetensors", tmp_path / "ld.safetensors"
    save_model(tiny("aspp", 0), ga)
    save_model(tiny("aspp_ldv1", 1), ld)
    base = ["mechanisms", "--ga", str(ga), "--gald", str(ld), "--data", DATA, "--limit", "2"]
    base += ["--db", str(tmp_path / "m.sqlite"), "--bootstrap", "30", "--device", "cpu"]
    assert main([*base, "--json", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main([*base[:2], str(ld), *base[3:], "--json", str(tmp_path / "x.json")]) == 2
    assert "--ga" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    assert main([*base, "--interventions", "ldv2.kernel=centre", "--json", str(tmp_path / "x.json")]) == 2
    assert "ldv2.kernel=centre" in capsys.readouterr().err
    out = tmp_path / "out" / "m.json"
    assert main([*base, "--interventions", "context=off", "ga:context=off", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep.keys() >= ITEM6 and rep["n_images"] == 2
    assert rep["interventions"]["context=off"]["model"] == "gald"
    assert rep["interventions"]["ga:context=off"]["model"] == "ga"
    assert math.isfinite(rep["differences"]["miou"]["estimate"])
    # A second run resumes both jobs (nothing is evaluated again) and writes the same report.
    assert main([*base, "--interventions", "context=off", "ga:context=off", "--json", str(out)]) == 0
    assert json.loads(out.read_text()) == rep


def test_ldv2_block_against_literal_sums(runs):
    store, ga, *_, ldv2 = runs
    rep = mechanism_report(store, ga, ldv2, bootstrap=B)
    assert rep["ldv1"] is None
    _, b = store.arrays(ldv2)
    sums, cells = b["ldv2_sums"].sum(0), b["ldv2_cells"].sum(0)  # (6, B, C), (B, C)
    keys = {
        "same_class_share_by_band": 0,
        "uniform_share_by_band": 1,
        "centre_weight_by_band": 2,
        "entropy_by_band": 3,
        "outside_by_band": 4,
        "radius_px_by_band": 5,
    }
    for key, q in keys.items():
        for band in range(5):
            n = cells[band].sum()
            want = sums[q, band].sum() / n if n else None
            assert rep["ldv2"][key][band] == (None if want is None else pytest.approx(want)), (key, band)
    for c in range(19):
        n = cells[:, c].sum()
        want = sums[0, :, c].sum() / n if n else None
        assert rep["ldv2"]["same_class_share_by_class"][c] == (None if want is None else pytest.approx(want))
        want = sums[1, :, c].sum() / n if n else None
        assert rep["ldv2"]["uniform_share_by_class"][c] == (None if want is None else pytest.approx(want))
    gap = rep["differences"]["same_class_minus_uniform_by_band"][0]
    want = (sums[0, 0].sum() - sums[1, 0].sum()) / cells[0].sum()
    assert gap["estimate"] == pytest.approx(want)
    assert gap["ci95"][0] <= gap["estimate"] <= gap["ci95"][1]
    # float32 softmax weights sum to 1 only to ~1e-7, so a near-uniform kernel may exceed 1 by that
    assert all(0 <= v <= 1 + 1e-6 for v in rep["ldv2"]["entropy_by_band"] if v is not None), rep["ldv2"]


def test_command_line_pairs_an_fcn_with_a_ga_model_and_refuses_pairs_that_add_nothing(
    tmp_path, capsys, one_thread
):
    paths = {}
    for arch, seed in (("fcn", 0), ("aspp", 1), ("aspp_ldv1", 2)):
        paths[arch] = tmp_path / f"{arch}.safetensors"
        save_model(tiny(arch, seed), paths[arch])
    common = ["--data", DATA, "--limit", "2", "--db", str(tmp_path / "m.sqlite"), "--bootstrap", "20"]
    common += ["--device", "cpu", "--json", str(tmp_path / "r.json")]
    for ga, gald in (("aspp", "fcn"), ("aspp", "aspp"), ("fcn", "fcn")):
        assert main(["mechanisms", "--ga", str(paths[ga]), "--gald", str(paths[gald]), *common]) == 2
        assert "--gald" in capsys.readouterr().err
    assert main(["mechanisms", "--ga", str(paths["aspp_ldv1"]), "--gald", str(paths["aspp"]), *common]) == 2
    assert "--ga" in capsys.readouterr().err
    assert main(["mechanisms", "--ga", str(paths["fcn"]), "--gald", str(paths["aspp"]), *common]) == 0
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["ldv1"] is None and rep["ldv2"] is None and rep["n_images"] == 2
    assert rep["differences"]["miou"]["estimate"] == pytest.approx(
        rep["scores"]["gald"]["miou"] - rep["scores"]["ga"]["miou"], abs=1e-12
    )
