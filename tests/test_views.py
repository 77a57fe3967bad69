"""The pages' views (gald_viz.views): built from small arrays and tiny models, without Streamlit."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gald_viz.analysis import analyse
from gald_viz.data.sample import Sample
from gald_viz.data.sources import open_source
from gald_viz.models import build_model
from gald_viz.views.compare import CompareInputs, compare_view
from gald_viz.views.home import home_view
from gald_viz.views.inspector import Choices, controls, local_view
from gald_viz.views.pages import HOME, PAGES
from gald_viz.views.parts import display_hw
from gald_viz.viz.compare import error_views, image_scores
from gald_viz.viz.inspector import static_panels

ROOT = Path(__file__).resolve().parent.parent


def tiny(name: str, **options):
    torch.manual_seed(0)
    return build_model(name, head_channels=16, **options).eval()


@pytest.fixture(scope="module")
def scene():
    """A 160×320 SynthCity scene, a GA model without probes, and an LDv1 and an LDv2 model."""
    synth = open_source("synthcity:val:count=1,size=160x320")[0]
    sample = Sample(image=synth.image, label=synth.label, name="street")
    models = {
        "aspp": tiny("aspp", probes=False),
        "aspp_ldv1": tiny("aspp_ldv1"),
        "aspp_ldv2": tiny("aspp_ldv2"),
    }
    return sample, models, {name: analyse(m, sample.image, device="cpu") for name, m in models.items()}


def compare_inputs(sample, ga, gald, *, with_gt=True, gald_name="aspp_ldv2") -> CompareInputs:
    gt = sample.label if with_gt else None
    shown = Sample(image=sample.image, label=gt, name=sample.name)
    return CompareInputs(
        sample=shown,
        source_text="test scene",
        ga_name="aspp",
        gald_name=gald_name,
        gald_ld_kind="ldv2",
        opacity=0.5,
        ga=ga,
        gald=gald,
        errors=None
        if gt is None
        else error_views(
            sample.image, gt, ga.pred, gald.pred, opacity=0.5, display_hw=display_hw(sample.image)
        ),
        scores=None if gt is None else (image_scores(ga.pred, gt), image_scores(gald.pred, gt)),
    )


def titles(figure) -> list[str]:
    return [a.text for a in figure.layout.annotations]


def test_views_import_no_streamlit():
    code = (
        "import sys, gald_viz.views.compare, gald_viz.views.inspector, gald_viz.views.home;"
        "assert not any(m.split('.')[0] == 'streamlit' for m in sys.modules), 'streamlit imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_one_page_table_for_navigation_and_guide():
    assert PAGES[0] is HOME and len({p.id for p in PAGES}) == len(PAGES)
    assert all((ROOT / p.path).is_file() for p in PAGES)
    assert all(p.description for p in PAGES if p is not HOME)
    assert {p.id: p.path for p in PAGES}["compare"] == "app_pages/ga_vs_gald.py"
    app = (ROOT / "app.py").read_text(encoding="utf-8")
    home = (ROOT / "app_pages" / "home.py").read_text(encoding="utf-8")
    # Neither file lists pages by hand any more.
    assert not any(p.path in app or p.path in home for p in PAGES)


def test_home_view_describes_data_device_and_pages(scene):
    sample, _, _ = scene
    table = pd.DataFrame({"architecture": ["aspp"]}, index=pd.Index(["m"], name="model"))
    view = home_view("synthcity:val", 20, sample, "cpu", table)
    assert view.data.startswith("**Data:** `synthcity:val` — 20 image(s)")
    assert "`street`, 320×160 px, with ground truth" in view.data
    assert view.device.startswith("**Device:** CPU")
    assert [p.id for p in view.guide] == ["compare", "local", "boundary", "mechanisms"]
    unlabelled = home_view("x", 1, Sample(sample.image, None, "u"), "cpu", table)
    assert "**no ground truth** (metrics hidden)" in unlabelled.data


def test_compare_view_with_ground_truth(scene):
    sample, _, an = scene
    view = compare_view(compare_inputs(sample, an["aspp"], an["aspp_ldv2"]))
    assert view.no_gt is None and view.errors is not None and view.scores is not None
    assert view.caption.startswith("`street` · GA model `aspp` · GALD model `aspp_ldv2`")
    assert titles(view.panels) == ["image", "ground truth", "GA: aspp", "GALD: aspp_ldv2"]
    assert titles(view.errors.figure) == ["GA errors: aspp", "GALD errors: aspp_ldv2", "four-way: GA vs GALD"]
    assert "GALD fixes" in view.errors.counts.columns and "GALD fixes" in view.errors.legend
    assert list(view.scores.table.index) == ["GA: aspp", "GALD: aspp_ldv2"]
    assert "at 160×320: 1/1/2/2 px" in view.scores.convention
    radii = next(iter(view.scores.scores.values())).radii
    title, per_class = view.scores.per_class(12)
    # Table V's 12 px is its fourth threshold, whatever its radius at 320×160.
    assert title == f"Per class at {radii[3]} px (0.005 diag)" and "F GA: aspp" in per_class.columns
    # A tolerance that is not one of Table V's falls back to the first.
    assert view.scores.per_class(-7)[0] == f"Per class at {radii[0]} px (0.00088 diag)"
    assert view.stages.note.endswith("`aspp_ldv2` recorded no validation mIoU for its probes.")
    assert titles(view.stages.figure) == [
        "FCN stage (probe on X)",
        "GA stage (probe on X_g)",
        "final (ldv2)",
        "ground truth",
    ]
    assert {e.id for e in (view.export, view.errors.export, view.stages.export)} == {
        "panels",
        "errors",
        "stages",
    }
    assert view.export.file_stem == "compare_street"


def test_stage_panels_name_their_probe_and_its_recorded_validation_miou(scene):
    from gald_viz.train.validate import recorded_scores

    sample, _, an = scene
    curve = [
        {"iteration": 5, "scores": {"out": 0.5}},
        {"iteration": 10, "scores": {"out": 0.61, "probe.ga": 0.4}},
    ]
    recorded = recorded_scores({"val_curve": json.dumps(curve), "val_images": "12"})
    assert recorded == (
        {"out": 0.61, "probe.ga": 0.4},
        "12 unseen SynthCity val scenes (seed 9100), iteration 10",
    )
    assert recorded_scores({}) is None
    inputs = compare_inputs(sample, an["aspp"], an["aspp_ldv2"])
    view = compare_view(CompareInputs(**{**inputs.__dict__, "stage_scores": recorded}))
    assert titles(view.stages.figure)[:3] == [
        "FCN stage (probe on X)",
        "GA stage (probe on X_g, val mIoU 40.0 %)",
        "final (ldv2, val mIoU 61.0 %)",
    ]
    assert "Validation mIoU: 12 unseen SynthCity val scenes (seed 9100), iteration 10" in view.stages.note


def test_compare_view_without_ground_truth_or_probes(scene):
    sample, _, an = scene
    view = compare_view(compare_inputs(sample, an["aspp_ldv2"], an["aspp"], with_gt=False, gald_name="aspp"))
    assert view.errors is None and view.scores is None
    assert view.no_gt.startswith("`street` has no ground truth")
    assert view.stages.note.startswith("`aspp` has no probe heads")
    assert titles(view.panels) == ["image", "GA: aspp", "GALD: aspp"]


def panels_for(sample, an, choices: Choices):
    return static_panels(
        an,
        sample.image,
        sample.label,
        ga_features=an.ga_features if choices.wants_features else None,
        entropy=None,
        share=None,
        **choices.panel_settings(sample.image, 0.5),
    )


def test_local_view_follows_the_click(scene):
    sample, models, an = scene
    ld = an["aspp_ldv2"]
    offer = controls(ld, models["aspp_ldv2"])
    assert offer.has_ga and offer.ga_channel_max == 15 and offer.mask_channel_max is None
    choices = Choices.from_widgets("channel mean", 0.0, None, "prediction")
    static = panels_for(sample, ld, choices)

    def view(xy, click=None):
        return local_view(
            ld, sample, static, xy, click=click, model_name="ldv2", source_text="test", mask_channel=None
        )

    a = view((40, 40), {"x": 20, "y": 20, "width": 160, "height": 80})
    b = view((300, 150))
    assert a.pixel == "**Native pixel:** `x=40, y=40`"
    assert a.point.startswith("**Point:** display (20, 20) of 160×80 → native (40, 40)")
    assert a.prompt.endswith("(LDv2 window drawn in place).")
    assert a.affinity.title.startswith("LDv2 affinity at (40, 40): 5×5 weights")
    assert a.affinity.table.shape == (5, 5)
    assert not np.array_equal(a.affinity.table.to_numpy(), b.affinity.table.to_numpy())
    assert a.readout["read-out"][:3] == ["prediction", "confidence", "ground truth"]
    assert a.heatmap is not None and a.affinity.export.file_stem == "affinity_street_40_40"
    assert all(len(row) <= 3 for row in a.map_rows)
    assert [e.id for e in a.exports] == ["maps"]
    assert any("No LDv1" in m and m.startswith("`ldv2`: ") for m in a.missing)


def test_local_view_of_an_ldv1_model(scene):
    sample, models, an = scene
    ld1 = an["aspp_ldv1"]
    offer = controls(ld1, models["aspp_ldv1"])
    assert offer.mask_channel_max == ld1.ldv1_mask.shape[0] - 1
    choices = Choices.from_widgets("one channel", 3.0, 2.0, "image")
    assert (
        choices.mask_channel == 2 and Choices.from_widgets("PCA → RGB", 0, -1, "image").mask_channel is None
    )
    static = panels_for(sample, ld1, choices)
    view = local_view(
        ld1, sample, static, (10, 10), click=None, model_name="ldv1", source_text="test", mask_channel=2
    )
    assert view.affinity is None and view.heatmap is None
    assert view.prompt == "**Click the image** to inspect a pixel."
    assert "LDv1 mask mean at cell" in view.readout["read-out"]
    assert any("LDv1 mask: channel 2" in t for row in view.map_rows for t, _ in row)
    assert [e.id for e in view.exports] == ["fig7", "maps"]
    assert view.exports[0].build().axes  # the Fig. 7 export draws


def test_zoom_window_and_crop_map_clicks_exactly():
    from gald_viz.viz.zoom import ZOOM_FACTORS, zoom_rgb, zoom_window

    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (160, 320, 3), dtype=np.uint8)
    for factor in ZOOM_FACTORS:
        for xy in [(0, 0), (319, 159), (150, 80), (3, 150)]:
            win = zoom_window((160, 320), xy, factor)
            assert 0 <= win.left <= xy[0] < win.left + win.width <= 320
            assert 0 <= win.top <= xy[1] < win.top + win.height <= 160
            rgb = zoom_rgb(image, win, (-1, -1))  # point outside: no crosshair, the bare crop
            assert rgb.shape == (win.height * factor, win.width * factor, 3)
            # Every screen pixel of the crop maps back to the native pixel it shows, at shown size.
            for sy in range(0, rgb.shape[0], max(1, factor // 2)):
                for sx in range(0, rgb.shape[1], 7):
                    nx, ny = win.to_native({"x": sx, "y": sy, "width": rgb.shape[1], "height": rgb.shape[0]})
                    assert (nx, ny) == (win.left + sx // factor, win.top + sy // factor)
                    assert rgb[sy, sx].tolist() == image[ny, nx].tolist()
    # The crosshair leaves the target pixel itself visible at every zoom.
    for factor in ZOOM_FACTORS:
        win = zoom_window((160, 320), (150, 80), factor)
        rgb = zoom_rgb(image, win, (150, 80))
        x0, y0 = (150 - win.left) * factor, (80 - win.top) * factor
        assert (rgb[y0 : y0 + factor, x0 : x0 + factor] == image[80, 150]).all()
    with pytest.raises(ValueError, match="zoom factor 3"):
        zoom_window((160, 320), (0, 0), 3)


def test_knockout_part_against_a_literal_forward(scene):
    from gald_viz.interventions import intervene
    from gald_viz.views.inspector_probes import knockout_part, knockouts_for

    sample, models, an = scene
    model = models["aspp_ldv2"]
    assert knockouts_for(model) == ["ldv2.kernel=uniform", "ldv2.kernel=centre", "context=off"]
    assert knockouts_for(models["aspp_ldv1"])[:2] == ["ldv1.mask=mean", "ldv1.mask=1"]
    with intervene(model, "context=off"):
        knocked = analyse(model, sample.image, device="cpu").pred
    scores = (image_scores(an["aspp_ldv2"].pred, sample.label), image_scores(knocked, sample.label))
    part = knockout_part(an["aspp_ldv2"], sample, "context=off", knocked, scores, model_name="m", opacity=0.5)
    changed = int(
        sum(int(a != b) for a, b in zip(knocked.ravel(), an["aspp_ldv2"].pred.ravel(), strict=True))
    )
    assert part.panels[2][0].startswith(f"changed pixels (orange): {changed} of {knocked.size}")
    row = part.table.set_index("score").loc["mIoU"]
    assert float(row["Δ (points)"]) == pytest.approx(100 * (scores[1].miou - scores[0].miou), abs=0.006)
    assert (
        knockout_part(
            an["aspp_ldv2"], sample, "context=off", knocked, None, model_name="m", opacity=0.5
        ).table
        is None
    )


def test_reach_part_side_by_side(scene, one_thread):
    from gald_viz.mechanisms.reach import context_reach
    from gald_viz.views.inspector_probes import reach_part

    sample, models, an = scene
    reaches = {
        role: context_reach(models[n], sample.image, (100, 60))
        for role, n in (("GA", "aspp"), ("GALD", "aspp_ldv2"))
    }
    part = reach_part(
        reaches,
        {"GA": "aspp", "GALD": "aspp_ldv2"},
        sample.image.shape[:2],
        {"GA": (160, 320), "GALD": (160, 320)},
    )
    assert (
        part.ncols == 2 and [t.split(":")[0] for t, _ in part.panels] == ["GA `aspp`", "GALD `aspp_ldv2`"] * 2
    )
    assert list(part.table["gradient w.r.t."]) == ["X", "input", "X", "input"]
    assert float(part.table["r50 (px)"][0]) == pytest.approx(reaches["GA"].feature_radii[0.5], abs=0.05)
    assert len(part.curves.data) == 4
    # Each panel ends in a colour bar strip (white background under the map).
    assert all(rgb.shape[0] > 80 for _, rgb in part.panels)


def test_compare_view_states_the_model_pair_and_where_ignore_is_drawn(scene):
    from gald_viz.pairing import describe_pair

    sample, models, an = scene
    inputs = compare_inputs(sample, an["aspp"], an["aspp_ldv1"], gald_name="aspp_ldv1")
    plain = compare_view(inputs)
    assert plain.pair is None and "GT 255 (ignore): the bare image" in plain.caption
    # The exports colour GT with the palette, so ignore is black there, and their caption says so.
    fig = plain.stages.export.build()
    texts = [t.get_text() for sub in fig.subfigs for t in sub.texts]
    assert any("GT label 255 (ignore) drawn black" in t for t in texts)
    gt_axes = next(ax for ax in fig.subfigs[0].axes if ax.get_title() == "ground truth")
    ignore = sample.label == 255
    assert ignore.any()
    assert (gt_axes.get_images()[0].get_array()[ignore] == 0).all()
    report = describe_pair(models["aspp"], models["aspp_ldv1"])
    view = compare_view(CompareInputs(**{**inputs.__dict__, "pair": report}))
    assert report.isolates_ld and view.pair.summary == report.summary and view.pair.warnings == ()
    assert list(view.pair.table.columns) == ["GA model", "GALD model", "differs"]
    swapped = compare_view(
        CompareInputs(**{**inputs.__dict__, "pair": describe_pair(models["aspp_ldv1"], models["aspp"])})
    )
    assert any(
        w.startswith("The GALD slot holds a model without local distribution") for w in swapped.pair.warnings
    )


def test_compare_figures_hold_no_continuous_map_without_a_colour_bar(scene):
    """Issue 13 item 11 outside the inspector: Compare shows label and state maps only (categorical,
    legends), so no panel or export needs a colour bar; a scalar map added later must bring one."""
    from matplotlib.image import AxesImage

    sample, _, an = scene
    view = compare_view(compare_inputs(sample, an["aspp"], an["aspp_ldv2"]))
    for fig in (view.panels, view.errors.figure, view.stages.figure):
        for trace in fig.data:
            assert trace.type in ("image", "heatmap", "scatter")
            if trace.type == "heatmap":  # the hover grid: transparent, no scale
                assert trace.showscale is False and all("rgba(0,0,0,0)" in c[1] for c in trace.colorscale)
    for export in (view.export, view.errors.export, view.stages.export):
        fig = export.build()
        images = [
            c for sub in fig.subfigs for ax in sub.axes for c in ax.get_children() if isinstance(c, AxesImage)
        ]
        assert images
        for im in images:
            assert im.get_array().ndim == 3 or im.colorbar is not None
