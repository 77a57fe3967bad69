"""The Mechanisms page's headless view on hand-made reports in the layout of ``evaluate mechanisms``.

The reports below are small dicts written here in the exact JSON layout of issue #12 item 6 (a unit test
of the view, not a stand-in for the report module): every number the page shows is checked against the
report's own value, and every missing part against the sentence that replaces its figure.
"""

import copy
import hashlib
import math

import numpy as np
import pandas as pd
import pytest

from gald_viz.data.labels import CLASS_NAMES
from gald_viz.views import mechanisms as mv
from gald_viz.viz.mechanism_figures import NOT_ESTABLISHED, interval, series
from gald_viz.viz.paper_figures import figure_bytes

CLASSES = ["road", "sidewalk", "car"]
BANDS_PX = [0, 8, 16]  # three bands: 0–8, 8–16, > 16 px
IMAGES = ["synthcity_000000_000001", "synthcity_000000_000000"]


def ci(est, lo, hi):
    return {"estimate": est, "ci95": [lo, hi]}


def make_report(*, ldv1=True, ldv2=True, interventions=True) -> dict:
    """A GA-vs-GALD report with three bands, three classes and two thresholds."""
    return {
        "ga": {"name": "synthcity/aspp", "sha256": "a" * 12 + "0123456789"},
        "gald": {"name": "synthcity/aspp_ldv2", "sha256": "b" * 12 + "9876543210"},
        "data": "synthcity:val:size=64x128",
        "n_images": 2,
        "bands_px": BANDS_PX,
        "classes": CLASSES,
        "ldv1": {"mask_mean_by_band": [0.31, 0.42, 0.55], "mask_mean_by_class": [0.5, None, 0.25]}
        if ldv1
        else None,
        "ldv2": {
            "same_class_share_by_band": [ci(0.6, 0.55, 0.65), 0.8, 0.9],
            "uniform_share_by_band": [0.5, 0.7, 0.85],
            "entropy_by_band": [0.7, 0.6, 0.5],
            "centre_weight_by_band": [0.1, 0.15, 0.2],
            "same_class_share_by_class": [0.9, 0.7, 0.6],
            "uniform_share_by_class": [0.85, 0.6, 0.5],
        }
        if ldv2
        else None,
        "fourway": {
            "fixes_by_band": [0.05, 0.02, 0.01],
            "breaks_by_band": [0.03, 0.01, 0.005],
            "pixels_by_band": [1200, 800, 4000],
        },
        "accuracy_by_band": {
            "ga": [ci(0.70, 0.65, 0.75), ci(0.85, 0.8, 0.9), ci(0.95, 0.93, 0.97)],
            "gald": [ci(0.72, 0.66, 0.78), ci(0.86, 0.8, 0.91), ci(0.955, 0.94, 0.97)],
        },
        "boundary_iou": {
            "ratio": 0.02,
            "ga": {"per_class": [0.6, 0.3, None], "mean": 0.45},
            "gald": {"per_class": [0.62, 0.35, None], "mean": 0.485},
        },
        "differences": {
            "miou": ci(0.006, -0.001, 0.013),
            "boundary_f": [ci(0.012, 0.002, 0.021), ci(-0.004, -0.009, -0.001)],
        },
        "interventions": {
            "ldv2.kernel=uniform": {
                "model": "gald",
                "delta_miou": ci(-0.03, -0.05, -0.01),
                "delta_boundary_f": [ci(-0.02, -0.04, 0.001), ci(0.0, 0.0, 0.0)],
            },
            "context=off": {
                "model": "ga",
                "delta_miou": ci(-0.2, -0.25, -0.15),
                "delta_boundary_f": [ci(-0.1, -0.12, -0.08), ci(-0.09, -0.1, -0.07)],
            },
        }
        if interventions
        else {},
    }


class Ranking:
    """A ranking callable that records its calls and returns fixed gains."""

    def __init__(self, pairs):
        self.pairs, self.calls = pairs, []

    def __call__(self, band, class_id):
        self.calls.append((band, class_id))
        return list(self.pairs)


def make_inputs(report=None, rank=None, **more) -> mv.Inputs:
    return mv.Inputs(
        report=report if report is not None else make_report(),
        rank=rank or Ranking([("a", 0.01), ("b", -0.02), ("c", 0.03), ("d", math.nan)]),
        images=IMAGES,
        bootstrap=500,
        seed=7,
        thresholds=["3 px (0.00088 diag)", "5 px (0.001875 diag)"],
        models={"ga": "synthcity/aspp", "gald": "synthcity/aspp_ldv2"},
        **more,
    )


def section(view, sid):
    return next(s for s in view.sections if s.id == sid)


def line(fig, name):
    """The y values of the plotted line (not the interval shading) called ``name``."""
    return next(np.asarray(t.y, float) for t in fig.data if t.name == name and t.mode == "lines+markers")


def test_interval_reads_numbers_nulls_and_estimates_with_intervals():
    assert interval(0.25) == mv.Interval(0.25)
    assert math.isnan(interval(None).estimate)
    got = interval(ci(0.1, -0.2, 0.3))
    assert (got.estimate, got.low, got.high) == (0.1, -0.2, 0.3)
    assert got.verdict("up", "down") == NOT_ESTABLISHED
    assert interval(ci(0.1, 0.01, 0.3)).verdict("up", "down") == "up"
    assert interval(ci(-0.1, -0.3, -0.01)).verdict("up", "down") == "down"
    # Identical models: the interval is exactly [0, 0], which contains 0.
    assert interval(ci(0.0, 0.0, 0.0)).verdict("up", "down") == NOT_ESTABLISHED
    assert interval(0.3).verdict("up", "down") == "no interval"
    assert interval(None).verdict("up", "down") == "no data"


def test_series_refuses_wrong_lengths_and_values_outside_unit_interval():
    s = series("x", [0.1, None, ci(0.3, 0.2, 0.4)], 3, "part")
    np.testing.assert_array_equal(np.isnan(s.values), [False, True, False])
    assert s.values[2] == 0.3 and s.low[2] == 0.2 and s.high[2] == 0.4 and np.isnan(s.low[0])
    assert series("x", [0.1, 0.2], 2, "part").low is None
    with pytest.raises(ValueError, match="part has 2 values for 3 entries"):
        series("x", [0.1, 0.2], 3, "part")
    with pytest.raises(ValueError, match="outside"):
        series("x", [0.1, 1.2], 2, "part")


def test_differences_in_percentage_points_with_their_verdicts():
    view = mv.mechanisms_view(make_inputs())
    d = view.differences.set_index("quantity")
    assert list(d.index) == [
        "mIoU",
        "boundary F at 3 px (0.00088 diag)",
        "boundary F at 5 px (0.001875 diag)",
    ]
    np.testing.assert_allclose(d["estimate (pp)"], [0.6, 1.2, -0.4])
    np.testing.assert_allclose(d["95% low (pp)"], [-0.1, 0.2, -0.9])
    np.testing.assert_allclose(d["95% high (pp)"], [1.3, 2.1, -0.1])
    assert list(d["verdict"]) == [NOT_ESTABLISHED, "GALD higher", "GALD lower"]


def test_knockout_table_rows_values_and_not_established():
    view = mv.mechanisms_view(make_inputs())
    assert view.knockouts_absent is None
    k = view.knockouts
    assert list(k["knock-out"].unique()) == [
        "ldv2.kernel=uniform on GALD synthcity/aspp_ldv2",
        "context=off on GA synthcity/aspp",
    ]
    uniform = k[k["knock-out"].str.startswith("ldv2")].set_index("quantity")
    np.testing.assert_allclose(uniform["estimate (pp)"], [-3.0, -2.0, 0.0])
    np.testing.assert_allclose(uniform["95% high (pp)"], [-1.0, 0.1, 0.0])
    assert list(uniform["verdict"]) == ["knock-out lowers it", NOT_ESTABLISHED, NOT_ESTABLISHED]
    off = k[k["knock-out"].str.startswith("context")]
    assert (off["verdict"] == "knock-out lowers it").all() and len(off) == 3


def test_missing_parts_are_sentences_not_figures():
    view = mv.mechanisms_view(make_inputs(make_report(ldv1=False, ldv2=False, interventions=False)))
    for sid in ("ldv1_band", "ldv1_class"):
        s = section(view, sid)
        assert s.figure is None and s.export is None and "No LDv1" in s.absent and "aspp_ldv2" in s.absent
    for sid in ("ldv2_share_band", "ldv2_entropy_band", "ldv2_centre_band", "ldv2_class"):
        assert section(view, sid).figure is None and "No LDv2" in section(view, sid).absent
    assert view.knockouts is None and "No knock-outs" in view.knockouts_absent
    # What the report has is still drawn.
    assert section(view, "accuracy").figure is not None and section(view, "fourway").figure is not None


def test_malformed_or_empty_parts_say_so():
    report = make_report()
    report["fourway"]["fixes_by_band"] = [0.1, 0.2]
    report["ldv1"]["mask_mean_by_band"] = [None, None, None]
    report["ldv2"]["entropy_by_band"] = [0.5, 1.5, 0.2]
    view = mv.mechanisms_view(make_inputs(report))
    assert (
        section(view, "fourway").absent
        == "Not shown: the report's fourway.fixes_by_band has 2 values for 3 entries."
    )
    assert section(view, "ldv1_band").absent == "No band has data in the stored images."
    assert "outside [0, 1]" in section(view, "ldv2_entropy_band").absent
    # A series without data inside a drawn figure is named in its caption.
    report = make_report()
    report["accuracy_by_band"]["ga"] = [None, None, None]
    s = section(mv.mechanisms_view(make_inputs(report)), "accuracy")
    assert s.figure is not None and "No data for: GA synthcity/aspp." in s.caption


def test_band_curves_plot_the_report_values_with_interval_shading():
    view = mv.mechanisms_view(make_inputs())
    assert view.bands == ["0–8 px", "8–16 px", "> 16 px"]
    fig = section(view, "accuracy").figure
    np.testing.assert_allclose(line(fig, "GA synthcity/aspp"), [0.70, 0.85, 0.95])
    np.testing.assert_allclose(line(fig, "GALD synthcity/aspp_ldv2"), [0.72, 0.86, 0.955])
    shade = [t for t in fig.data if t.fill == "tonexty"]
    assert len(shade) == 2
    np.testing.assert_allclose(np.asarray(shade[0].y, float), [0.75, 0.9, 0.97])
    assert [list(t.x) for t in fig.data][0] == view.bands
    # Band index as customdata: a click says which band.
    assert [c[0] for c in fig.data[-1].customdata] == [0, 1, 2]
    share = section(view, "ldv2_share_band").figure
    np.testing.assert_allclose(line(share, "same-class share"), [0.6, 0.8, 0.9])
    uniform = next(t for t in share.data if t.name == "uniform kernel")
    assert uniform.line.dash == "dash"
    # Without intervals there is no shading.
    assert not any(t.fill == "tonexty" for t in section(view, "ldv1_band").figure.data)
    np.testing.assert_allclose(
        line(section(view, "ldv1_band").figure, "GALD synthcity/aspp_ldv2"), [0.31, 0.42, 0.55]
    )
    four = section(view, "fourway").figure
    np.testing.assert_allclose(line(four, "GALD breaks"), [0.03, 0.01, 0.005])
    assert "pixels in band: 4,000" in next(t for t in four.data if t.name == "GALD fixes").text[2]


def test_class_bars_and_boundary_iou_beside_boundary_f():
    f = {
        "ga": np.array([[0.5, 0.4, 0.3], [0.6, 0.5, 0.4]]),
        "gald": np.array([[0.55, 0.4, 0.2], [0.7, 0.5, 0.5]]),
    }
    view = mv.mechanisms_view(make_inputs(boundary_f=f), threshold=1)
    assert view.classes == CLASSES
    fig = section(view, "boundary").figure
    bars = {(t.name, t.xaxis): np.asarray(t.y, float) for t in fig.data}
    np.testing.assert_allclose(bars[("GA synthcity/aspp", "x")], [0.6, 0.3, np.nan])
    np.testing.assert_allclose(bars[("GALD synthcity/aspp_ldv2", "x2")], [0.7, 0.5, 0.5])
    titles = [a.text for a in fig.layout.annotations if a.text != "no data"]
    assert titles == ["Boundary IoU (ratio 0.02)", "boundary F at 5 px (0.001875 diag)"]
    # car has no Boundary IoU for either model: said on the plot, not left as a silent gap.
    assert [(a.x, a.xref) for a in fig.layout.annotations if a.text == "no data"] == [("car", "x")]
    assert "GA 45.0%, GALD 48.5%" in section(view, "boundary").caption
    ldv2 = section(view, "ldv2_class").figure
    np.testing.assert_allclose(
        next(np.asarray(t.y, float) for t in ldv2.data if t.name == "uniform kernel"), [0.85, 0.6, 0.5]
    )
    mask = section(view, "ldv1_class").figure
    np.testing.assert_allclose(np.asarray(mask.data[0].y, float), [0.5, np.nan, 0.25])
    # No boundary F tables: Boundary IoU alone.
    alone = section(mv.mechanisms_view(make_inputs()), "boundary").figure
    assert [a.text for a in alone.layout.annotations] == ["Boundary IoU (ratio 0.02)", "no data"]


def test_provenance_names_checkpoints_data_images_and_bootstrap():
    view = mv.mechanisms_view(make_inputs())
    digest = hashlib.sha256(b"synthcity_000000_000000\nsynthcity_000000_000001").hexdigest()[:12]
    assert mv.image_list_hash(IMAGES) == digest
    p = view.provenance
    parts = ["synthcity/aspp (sha256 aaaaaaaaaaaa)", "synthcity/aspp_ldv2 (sha256 bbbbbbbbbbbb)"]
    parts += ["synthcity:val:size=64x128", "2 images", digest, "500 resamples", "seed 7", "bands 0 8 16 px"]
    for part in parts:
        assert part in p, part
    for s in view.sections:
        if s.export is not None:
            assert s.export.caption == s.caption and s.export.file_stem == f"mechanisms_{s.id}"


def test_exports_are_png_and_pdf_with_the_provenance():
    view = mv.mechanisms_view(make_inputs())
    band, bars = section(view, "accuracy").export, section(view, "ldv2_class").export
    fig = band.build()
    assert any(view.provenance in t.get_text() for sub in fig.subfigs for t in sub.texts)
    assert figure_bytes(fig, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure_bytes(bars.build(), "pdf")[:5] == b"%PDF-"


def test_selection_from_clicked_points():
    labels = ["0–8 px", "8–16 px", "> 16 px"]
    shade = {"curve_number": 0, "point_index": 1, "x": "8–16 px"}
    point = {"curve_number": 2, "point_index": 2, "x": "> 16 px", "customdata": [2]}
    assert mv.selection_from_points([shade, point], "band", labels) == mv.Selection("band", 2, "> 16 px")
    assert mv.selection_from_points([shade], "band", labels) is None
    assert mv.selection_from_points([{"customdata": [7]}], "band", labels) is None


def test_ranking_by_band_and_class_with_links():
    rank = Ranking([("a", 0.01), ("b", -0.02), ("c", 0.03), ("d", math.nan)])
    view = mv.mechanisms_view(make_inputs(rank=rank))
    gains = view.ranked(mv.Selection("band", 1, "8–16 px"), "gain")
    assert rank.calls == [(1, None)]
    assert list(gains.frame["image"]) == ["c", "a", "b"]  # NaN gains are left out
    np.testing.assert_allclose(gains.frame["gain (pp)"], [3.0, 1.0, -2.0])
    assert gains.title == "Images with GALD's largest gain in the 8–16 px band"
    assert gains.open_view("c") == {"image": "c", "ga": "synthcity/aspp", "gald": "synthcity/aspp_ldv2"}
    losses = view.ranked(mv.Selection("class", 2, "car"), "loss", limit=2)
    assert rank.calls[-1] == (None, CLASS_NAMES.index("car"))
    assert list(losses.frame["image"]) == ["b", "a"] and "class car" in losses.title
    assert view.ranked(None).empty.startswith("Click a band point")
    empty = mv.mechanisms_view(make_inputs(rank=Ranking([]))).ranked(mv.Selection("band", 0, "0–8 px"))
    assert empty.frame.empty and "No stored image has data in the 0–8 px band" in empty.empty


def test_run_pairs_and_table_v_alignment():
    runs = pd.DataFrame(
        {
            "run_id": ["g2", "l1", "g1", "l2"],
            "ld_kind": ["none", "ldv2", "none", "ldv1"],
            "data_spec": ["synthcity:val", "synthcity:val", "folders:a,b", "synthcity:val"],
            "model_name": ["m"] * 4,
        }
    )
    choices = mv.run_choices(runs)
    assert choices.ga == ["g2"] and choices.gald("g2") == ["l1", "l2"] and choices.gald("g1") == []
    assert mv.run_choices(pd.DataFrame()).ga == []
    table = pd.DataFrame(
        {"metric": ["boundary_f", "boundary_f", "iou"], "car": [0.1, 0.2, 0.9], "road": [0.3, 0.4, 0.8]}
    )
    np.testing.assert_allclose(
        mv.per_class_f(table, ["road", "bus", "car"]), [[0.3, np.nan, 0.1], [0.4, np.nan, 0.2]]
    )
    assert mv.open_name({"model_name": "synthcity/aspp", "checkpoint_path": "/x"}) == "synthcity/aspp"
    assert (
        mv.open_name({"model_name": "mine", "checkpoint_path": "/ckpt/mine.safetensors"})
        == "/ckpt/mine.safetensors"
    )


def test_store_messages_and_data_note():
    missing = mv.StoredRuns(None, pd.DataFrame(), info="x: no results database yet.")
    assert mv.store_message(missing, "db.sqlite") == ("info", mv.NO_DB.format(db="db.sqlite"))
    broken = mv.StoredRuns(
        None, pd.DataFrame(), warning="db.sqlite: not a database. Showing live and published results only."
    )
    assert mv.store_message(broken, "db.sqlite") == (
        "warning",
        "db.sqlite: not a database. No mechanism statistics can be read.",
    )
    lonely = pd.DataFrame({"run_id": ["g"], "ld_kind": ["none"], "data_spec": ["s"]})
    assert mv.store_message(mv.StoredRuns(object(), lonely), "d")[1] == mv.NO_RUNS.format(db="d")
    runs = pd.DataFrame({"run_id": ["l"], "data_spec": ["synthcity:val:size=64x128"]})
    assert mv.data_note(runs, "l", "synthcity:val:size=64x128") is None
    assert "`synthcity:val:size=64x128`" in mv.data_note(runs, "l", "synthcity:val:count=20")


def test_view_does_not_change_the_report():
    report = make_report()
    before = copy.deepcopy(report)
    mv.mechanisms_view(make_inputs(report))
    assert report == before
