"""The Boundary F-scores page's view, without Streamlit: row blocks, differences, per-image links, curves."""

import numpy as np
import pytest

from gald_viz.data.labels import CLASS_NAMES
from gald_viz.metrics import runs
from gald_viz.metrics.boundary import radii_px
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS
from gald_viz.metrics.scoring import score_image
from gald_viz.store import ImageResult, ResultsStore, RunSpec
from gald_viz.views import boundary_f as view
from gald_viz.views.boundary_images import paired_images
from gald_viz.viz import table_v as tv
from gald_viz.viz.compare import image_scores

H, W = 64, 128  # not 1024x2048: every default threshold is 1 px here


def label_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    coarse = rng.integers(0, 19, size=(H // 8 + 1, W // 8 + 1))
    gt = np.kron(coarse, np.ones((8, 8), np.int64))[:H, :W].astype(np.uint8)
    gt[:8, :16] = 255
    pred = np.roll(gt, 2, axis=1)
    pred[rng.random((H, W)) < 0.05] = 3
    return pred, gt


def stored_run(store: ResultsStore, *, ld_kind: str, n: int = 3, seed: int = 0) -> str:
    """A run scored by the real scorer on hand-made maps (no network)."""
    spec = RunSpec(
        model_name=f"model-{ld_kind}",
        checkpoint_path=None,
        checkpoint_sha256=f"{seed:064d}",
        arch="aspp",
        ld_kind=ld_kind,
        model_options={},
        data_spec="synthcity:val",
        data_description="hand-made maps",
        data_limit=n,
        image_height=H,
        image_width=W,
        class_names=CLASS_NAMES,
        ignore_index=255,
        thresholds=DEFAULT_THRESHOLDS,
        radii_px=radii_px(DEFAULT_THRESHOLDS, H, W),
        convention="test",
        n_planned=n,
    )
    run_id = store.start_run(spec, device="cpu")
    rng = np.random.default_rng(seed)
    for i in range(n):
        pred, gt = label_pair(rng)
        stats = score_image(pred, gt)
        png = store.save_prediction(run_id, f"img{i}", pred)
        store.add_image(run_id, ImageResult(f"img{i}", i, H, W, 0.1, stats.arrays), prediction_png=png)
    store.finish_run(run_id)
    return run_id


@pytest.fixture
def store(tmp_path) -> ResultsStore:
    return ResultsStore(tmp_path / "r.sqlite")


def live_scores() -> dict:
    pred, gt = label_pair(np.random.default_rng(9))
    return {"GA: a": image_scores(pred, gt), "GALD: b": image_scores(gt, gt)}


def test_missing_and_broken_databases_become_messages(tmp_path):
    missing = view.stored_runs(str(tmp_path / "none.sqlite"), lambda p: ResultsStore(p, read_only=True))
    assert missing.store is None and "no results database yet" in missing.info and missing.run_ids == []
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"garbage" * 500)
    broken = view.stored_runs(str(bad), lambda p: ResultsStore(p, read_only=True))
    assert broken.store is None and str(bad) in broken.warning and broken.info is None


def test_table_stacks_store_live_and_published_rows(store):
    run_id = stored_run(store, ld_kind="ldv2")
    stored = view.stored_runs(str(store.path), lambda _: store)
    assert stored.run_ids == [run_id] and run_id[:8] in stored.label(run_id)
    source = view.live_source("img", H, W)
    table = view.table(stored.store, [run_id, "nope"], live_scores(), source, (H, W))
    sources = set(table.full.index.get_level_values("source"))
    assert {f"store run {run_id[:8]}", source, tv.PUBLISHED} <= sources
    assert len(table.warnings) == 1 and "nope" in table.warnings[0]
    assert (
        table.conventions[0].startswith(f"Run {run_id[:8]}") and "64×128: 1/1/1/1 px" in table.conventions[0]
    )
    assert table.conventions[-1].startswith("Published rows") and "3/5/9/12 px" in table.conventions[-1]
    # The stored block holds the reduction of the stored arrays, in %.
    frame = runs.table_v(store, run_id)
    block = table.full.xs((f"store run {run_id[:8]}", "model-ldv2"), level=("source", "model"))
    np.testing.assert_array_equal(block["mean"].to_numpy(), 100 * frame["mean"].to_numpy()[:4])
    # The perfect live prediction scores 100 everywhere.
    assert (table.full.xs((source, "GALD: b"), level=("source", "model")).to_numpy() == 100).all()
    shown = table.shown(["car", "road"], "mean", descending=True, tolerance=3)
    assert list(shown.columns) == ["mean", "road", "car"] and shown["mean"].is_monotonic_decreasing
    assert table.csv(shown, table.groups(shown)).startswith("source,model,tolerance,threshold,mean,road,car")
    assert "Boundary F-score (\\%)" in table.latex(shown, table.groups(shown))


def test_difference_defaults_to_gald_minus_ga_live(store):
    table = view.table(None, [], live_scores(), "live: x", (H, W))
    diff = view.difference(table)
    a, b = diff.groups[diff.a_index], diff.groups[diff.b_index]
    assert a == ("live: x", "GA: a") and b == ("live: x", "GALD: b")
    delta = table.delta(a, b, ["road", "mean"])
    assert list(delta.columns) == ["road", "mean"] and (delta["mean"] > 0).all()
    only_published = view.table(None, [], {}, "live: x", (H, W))
    assert view.difference(only_published).groups[0][0] == tv.PUBLISHED


def test_per_image_puts_two_runs_side_by_side_with_their_difference(store):
    gald = stored_run(store, ld_kind="ldv2")
    ga = stored_run(store, ld_kind="none", seed=1)
    rows = paired_images(store, [gald, ga], 9, "ga-model", "gald-model")
    # 9 px is Table V's third tolerance; at 64x128 it is 1 px: headers name the radius, not the fraction.
    assert [r.role for r in rows.runs] == ["GA", "GALD"]
    assert rows.delta == "Δ F (GALD − GA) @ 1 px"
    assert rows.columns == [
        "image",
        rows.delta,
        "GA F @ 1 px",
        "GA mIoU",
        "GALD F @ 1 px",
        "GALD mIoU",
        "height",
        "width",
    ]
    # Literal check against each run's own per-image table at the third threshold (0.00375).
    per_ga = runs.per_image(store, ga).set_index("image")["F@0.00375"]
    per_gald = runs.per_image(store, gald).set_index("image")["F@0.00375"]
    f = rows.frame.set_index("image")
    for name in ["img0", "img1", "img2"]:
        assert f.loc[name, "GA F @ 1 px"] == per_ga[name] and f.loc[name, "GALD F @ 1 px"] == per_gald[name]
        assert f.loc[name, rows.delta] == pytest.approx(per_gald[name] - per_ga[name])
    assert rows.frame[rows.delta].is_monotonic_increasing  # where GALD loses most first
    assert rows.sorted(rows.delta, descending=True)[rows.delta].is_monotonic_decreasing
    mean = float(np.mean([per_gald[n] - per_ga[n] for n in ["img0", "img1", "img2"]]))
    assert f"{mean:+.3f}" in rows.summary and "95% paired bootstrap interval" in rows.summary
    assert rows.warning is None
    assert rows.open_view("img1") == {
        "image": "img1",
        "ga": "model-none",
        "gald": "model-ldv2",
        "threshold": 9,
    }
    assert "GA = model-none" in rows.caption and "0.00375 of the diagonal" in rows.caption


def test_per_image_of_one_run_and_of_unmatched_runs(store):
    one = stored_run(store, ld_kind="ldv2")
    rows = paired_images(store, [one], 3, "ga-model", "gald-model")
    assert rows.delta is None and rows.summary is None and rows.columns[1] == "A F @ 1 px"
    assert rows.frame["A F @ 1 px"].is_monotonic_increasing
    assert rows.pair == {"ga": "ga-model", "gald": "model-ldv2"}
    other = stored_run(store, ld_kind="ldv2", n=2, seed=4)
    both = paired_images(store, [one, other], 3, "x", "y")
    assert both.delta == "Δ F (B − A) @ 1 px" and len(both.frame) == 2
    assert "1 image(s) scored by only one run are left out" in both.warning
    assert paired_images(store, ["unknown"], 3, "x", "y").warning.endswith(
        "Per-image rows are not available."
    )


def test_sorting_never_mixes_tolerances_and_exports_the_chosen_rows(store):
    table = view.table(None, [], live_scores(), "live: x", (H, W))
    everything = table.shown(list(CLASS_NAMES), "mean", descending=True)
    assert list(everything.columns)[:2] == ["mean", "road"]  # the mean is the first column
    # Blocks are ordered by their first tolerance, and each block keeps its four thresholds together.
    firsts = everything.iloc[::4]["mean"]
    assert firsts.is_monotonic_decreasing
    assert [k[:2] for k in everything.index[::4]] == [k[:2] for k in everything.index[3::4]]
    at_9 = table.shown(["road"], "mean", descending=False, tolerance=9)
    assert len(at_9) == 6 and at_9["mean"].is_monotonic_increasing
    assert set(at_9.index.get_level_values("threshold")) >= {"9 px", "1 px (0.00375 diag)"}
    assert "0.00375 diag (9 px at 1024×2048) only" in table.sort_text("mean", False, 9)
    chosen = [("live: x", "GALD: b"), (tv.PUBLISHED, "G-SCNN")]
    csv = table.csv(at_9, chosen).splitlines()
    assert csv[0] == "source,model,tolerance,threshold,mean,road"
    assert len(csv) == 3 and csv[2].startswith("live: x,GALD: b,0.00375 diag (9 px at 1024×2048),1 px")
    assert csv[1].endswith("G-SCNN,0.00375 diag (9 px at 1024×2048),9 px,80.7,91.3")  # the paper's row
    tex = table.latex(table.shown(["traffic light"], "(table order)", True), chosen)
    assert tex.count("\\begin{table}") == 4 and "t-light" in tex and "GA: a" not in tex


def test_curves_of_live_images_and_stored_runs(store):
    run_id = stored_run(store, ld_kind="ldv2")
    stored = view.stored_runs(str(store.path), lambda _: store)
    pred, gt = label_pair(np.random.default_rng(3))
    live = view.live_curve(pred, gt)
    assert live[0] == list(range(1, 21)) and len(live[1]) == 20
    curves = view.curves(stored, [run_id], {"GA: a": live})
    assert list(curves.curves) == ["GA: a (live, this image)", f"model-ldv2 (run {run_id[:8]})"]
    radii, mean = curves.curves[f"model-ldv2 (run {run_id[:8]})"]
    np.testing.assert_array_equal(mean, runs.f_vs_tolerance(store, run_id)["mean"].to_numpy())
    assert len(curves.figure().data) == 2


def test_evaluate_reports_progress_over_both_models(monkeypatch):
    calls, seen = [], []

    def fake_run_job(model, data, *, limit, device, db, progress):
        calls.append((model, data, limit, device, db))
        for done in range(limit + 1):
            progress(done, limit, None if done == 0 else f"img{done}")
        return f"run-{model}"

    monkeypatch.setattr(view, "run_job", fake_run_job)
    ids = view.evaluate(
        ("ga", "gald"),
        "synthcity:val",
        limit=2,
        device="cpu",
        db="x.sqlite",
        progress=lambda f, t: seen.append((f, t)),
    )
    assert ids == ["run-ga", "run-gald"] and [c[0] for c in calls] == ["ga", "gald"]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and seen[-1][1] == "done"
    assert seen[2] == (0.5, "ga: 2/2 images (img2)")
