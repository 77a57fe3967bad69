"""Figure builders and the app's compute path (gald_viz.viz): pure functions on small arrays."""

import numpy as np
import pandas as pd
import pytest

from gald_viz.analysis import affinity_at, analyse
from gald_viz.data.labels import CLASS_COLORS, CLASS_NAMES, colorize
from gald_viz.metrics.errors import FOURWAY_NAMES
from gald_viz.metrics.reduce import TableV
from gald_viz.models import build_model
from gald_viz.viz import affinity as aff
from gald_viz.viz import paper_figures as pf
from gald_viz.viz import table_v as tv
from gald_viz.viz.compare import error_views, image_scores, scores_table
from gald_viz.viz.features import (
    FEATURE_VIEWS,
    NO_VALUE_RGB,
    data_range,
    feature_view,
    heat_rgb,
    normalise,
    pca_rgb,
)
from gald_viz.viz.figures import ImagePanel, class_name, hover_grid, synced_panels, weights_heatmap
from gald_viz.viz.inspector import click_to_native, click_view, static_panels
from gald_viz.viz.overlays import (
    FOURWAY_COLORS,
    blend,
    crosshair_gap,
    display_size,
    draw_crosshair,
    state_rgb,
)


@pytest.fixture(scope="module")
def scene():
    """A 160×320 two-class scene (road below, sky above, a car box) and a tiny random LDv2 model."""
    rng = np.random.default_rng(0)
    label = np.full((160, 320), 10, np.uint8)
    label[80:] = 0
    label[60:100, 100:160] = 13
    label[:4, :4] = 255
    image = colorize(label).astype(np.int16) + rng.integers(-20, 20, (160, 320, 3))
    image = np.clip(image, 0, 255).astype(np.uint8)
    import torch

    torch.manual_seed(0)
    model = build_model("aspp_ldv2", head_channels=16).eval()
    return image, label, analyse(model, image, device="cpu")


def test_click_scales_displayed_to_native_and_clamps():
    assert click_to_native({"x": 0, "y": 0, "width": 512, "height": 256}, (1024, 2048)) == (0, 0)
    assert click_to_native({"x": 511, "y": 255, "width": 512, "height": 256}, (1024, 2048)) == (2044, 1020)
    assert click_to_native({"x": 100.5, "y": 7, "width": 1000, "height": 500}, (1024, 2048)) == (205, 14)
    # A click on the last displayed pixel never leaves the image, whatever the rounding.
    assert click_to_native({"x": 600, "y": 300, "width": 512, "height": 256}, (1024, 2048)) == (2047, 1023)


def test_display_size_keeps_aspect_and_never_upscales():
    assert display_size(1024, 2048, max_width=1024) == (512, 1024)
    assert display_size(300, 400, max_width=1024) == (300, 400)


def test_state_colours_and_blend():
    states = np.array([[0, 1], [2, 255]], np.uint8)
    codes = {name: i for i, name in enumerate(FOURWAY_NAMES)} | {"ignore": 255}
    rgb = state_rgb(states, FOURWAY_COLORS, codes)
    assert rgb[0, 1].tolist() == list(FOURWAY_COLORS["GALD fixes"])
    assert rgb[1, 1].tolist() == list(FOURWAY_COLORS["ignore"])
    base = np.zeros((2, 2, 3), np.uint8)
    masked = blend(base, rgb, 1.0, mask=np.array([[True, False], [False, False]]))
    assert masked[0, 0].tolist() == rgb[0, 0].tolist() and masked[0, 1].tolist() == [0, 0, 0]


def test_crosshair_marks_the_pixel_and_leaves_input_alone():
    image = np.zeros((50, 80, 3), np.uint8)
    out = draw_crosshair(image, 40, 25, size=10)
    assert image.max() == 0
    assert out[25, 40 + 6].any() and out[25 + 6, 40].any()
    assert not out[0, 0].any()


def test_feature_views_shapes_and_errors():
    rng = np.random.default_rng(1)
    feat = rng.normal(size=(6, 8, 10)).astype(np.float16)
    for view in FEATURE_VIEWS:
        assert feature_view(feat, view, channel=2).shape == (8, 10, 3)
    with pytest.raises(ValueError, match="channel"):
        feature_view(feat, "one channel", channel=6)
    with pytest.raises(ValueError, match="view"):
        feature_view(feat, "histogram")
    # The first principal component follows a planted gradient.
    grad = np.linspace(-1, 1, 10)[None, None, :] * np.ones((6, 8, 1))
    red = pca_rgb(grad + 0.01 * rng.normal(size=grad.shape))[..., 0].astype(float)
    assert abs(np.corrcoef(red.mean(0), np.arange(10))[0, 1]) > 0.95
    assert normalise(np.array([2.0, 4.0]), lo=2, hi=4).tolist() == [0.0, 1.0]


def test_hover_grid_names_classes():
    xs, ys, text = hover_grid({"GT": np.array([[0, 13], [255, 10]], np.uint8)}, cells=2)
    assert xs.tolist() == [0, 1] and ys.tolist() == [0, 1]
    assert text[0, 1] == "GT: car" and text[1, 0] == "GT: ignore"
    assert class_name(18) == "bicycle" and class_name(40) == "id 40"


def test_synced_panels_share_axes():
    rgb = np.zeros((20, 40, 3), np.uint8)
    fig = synced_panels(
        [ImagePanel("a", rgb), ImagePanel("b", rgb, lossless=True)],
        native_size=(40, 80),
        hover_labels={"GT": np.zeros((40, 80), np.uint8)},
        marker=(10, 5),
    )
    layout = fig.to_dict()["layout"]
    assert layout["xaxis2"]["matches"] == "x" and layout["yaxis2"]["matches"] == "y"
    image = fig.data[0]
    assert image.source.startswith("data:image/jpeg") and fig.data[3].source.startswith("data:image/png")
    assert image.dx == 2.0 and image.dy == 2.0


def test_affinity_window_drawn_at_sampling_positions(scene):
    image, label, an = scene
    view = affinity_at(an, 1, 1, label)  # a corner: part of the window falls outside the image
    assert not view.inside.all() and view.inside.any()
    table = aff.weights_table(view, an.ldv2_dilation)
    assert table.shape == (5, 5) and table.index[0] == "dy=-6" and table.columns[-1] == "dx=+6"
    assert table.to_numpy().sum() == pytest.approx(1.0, abs=1e-5)
    crop = aff.zoom_crop(image, view, an.effective_stride, dilation=an.ldv2_dilation, size=300)
    assert crop.rgb.shape == (300, 300, 3)
    # Outside the image the crop is the grey outside fill, inside it shows the image.
    x0, y0, x1, _ = crop.window
    assert x0 < 0 and y0 < 0
    assert crop.rgb[2, 2].tolist() == [200, 200, 200]
    heat = weights_heatmap(view.weights, view.inside, dilation=an.ldv2_dilation)
    assert "out" in heat.data[0].text[0][0]


def test_weight_labels_stand_on_a_dark_box_even_on_a_yellow_image(scene):
    """Issue 13 item 19: the labels stay readable on any colour (white text on a black box)."""
    image, label, an = scene
    yellow = np.zeros_like(image)
    yellow[:] = (253, 231, 37)  # viridis' top colour, the one the labels were lost on
    view = affinity_at(an, image.shape[1] // 2, image.shape[0] // 2, label)
    bare = aff.zoom_crop(yellow, view, an.effective_stride, dilation=an.ldv2_dilation, size=900).rgb
    white = np.argwhere((bare == 255).all(axis=2))
    assert white.size, "no weight label drawn"
    (top, left), (bottom, right) = white.min(0), white.max(0)
    # Inside a label's box no yellow shows between the letters (the old outlined text let it through).
    y, x = white[len(white) // 2]
    label_box = bare[max(top, y - 3) : y + 4, max(left, x - 3) : x + 4].reshape(-1, 3).astype(int)
    yellowish = (label_box[:, 0] > 200) & (label_box[:, 1] > 180) & (label_box[:, 2] < 120)
    assert not yellowish.any() and bottom > top and right > left


def test_click_view_moves_with_the_click(scene):
    image, label, an = scene
    static = static_panels(
        an,
        image,
        label,
        display_hw=(80, 160),
        background="prediction",
        opacity=0.5,
        ga_features=None,
        ga_view="channel mean",
        ga_channel=0,
        mask_channel=None,
        entropy=None,
        share=None,
    )
    assert any("No LDv1" in m for m in static.missing)
    a = click_view(an, image, label, static, (40, 40), click={"x": 20, "y": 20, "width": 160, "height": 80})
    b = click_view(an, image, label, static, (300, 150))
    assert a.chain.native[0] == (40, 40) and a.chain.display == ((20, 20), (160, 80))
    assert "display (20, 20) of 160×80 → native (40, 40) of 320×160" in a.chain.text()
    assert a.chain.cell[0] != b.chain.cell[0]
    assert not np.array_equal(a.table.to_numpy(), b.table.to_numpy())
    assert a.values["ground truth"] == "sky" and b.values["ground truth"] == "road"


def test_scores_and_error_views_on_hand_made_maps():
    gt = np.zeros((40, 60), np.uint8)
    gt[:, 30:] = 1
    gt[0, 0] = 255
    perfect = image_scores(gt.copy(), gt)
    assert perfect.miou == pytest.approx(1.0) and np.allclose(perfect.mean_f, 1.0)
    shifted = gt.copy()
    shifted[:, 24:30] = 1  # boundary 6 px off: inside 9/12 px, outside 3/5 px
    s = image_scores(shifted, gt, thresholds=(3, 5, 9, 12))
    # Only the boundary around the ignore pixel (identical in both) matches at 3 px.
    assert s.mean_f[0] < 0.05 and s.mean_f[1] < 0.05 and s.mean_f[2] == pytest.approx(1.0)
    table = scores_table({"GA": s, "GALD": perfect})
    assert list(table.columns)[2] == "F @ 3 px" and table.loc["GALD", "mIoU"] == pytest.approx(1.0)
    # One label for a threshold everywhere (conventions.threshold_label), as in the Table V rows.
    assert list(scores_table({"m": perfect}).columns)[2] == "F @ 1 px (0.00088 diag)"
    image = np.zeros((40, 60, 3), np.uint8)
    err = error_views(image, gt, shifted, gt, opacity=0.5, display_hw=(20, 30))
    assert err.ga.shape == (20, 30, 3)
    # GALD fixes exactly the 6 shifted columns (40 rows); the ignore pixel counts nowhere.
    assert err.fourway_counts.loc["all classes", "GALD fixes"] == 40 * 6
    assert err.fourway_counts.loc["all classes"].sum() == gt.size - 1


def test_table_v_rows_published_live_and_difference():
    pub = tv.published_rows()
    assert pub.shape == (16, 20) and pub.index.get_level_values("source")[0] == tv.PUBLISHED
    assert pub.loc[(tv.PUBLISHED, "GALD (LDv2)", "3 px"), "mean"] == pytest.approx(74.0)
    per_class = np.full((4, 19), 0.5)
    one = TableV(per_class, per_class.mean(axis=1), np.full(19, np.nan), np.nan, 1)
    live = tv.live_rows(one, (0.00088, 0.001875, 0.00375, 0.005), (3, 5, 9, 12), source="live", model="m")
    full = tv.combine([pub, live])
    delta = tv.difference(full, (tv.PUBLISHED, "G-SCNN"), ("live", "m"))
    assert delta.shape == (4, 20)
    assert delta.iloc[0]["mean"] == pytest.approx(50.0 - 73.6)
    assert delta.index[0] == "3 px vs 3 px (0.00088 diag)"
    picked = tv.select(full, classes=["car", "road"], sort_by="mean", ascending=True, tolerance=0)
    assert list(picked.columns) == ["mean", "road", "car"] and picked["mean"].is_monotonic_increasing
    flat = tv.flat(picked)
    assert flat.index[0].count(" | ") == 2


def test_paper_figures_render_png_and_pdf(scene):
    image, label, an = scene
    pred = an.pred
    fig = pf.fig8_stage_predictions(image, label, {"FCN": pred, "GALD": pred}, caption="test caption")
    png, pdf = pf.figure_bytes(fig, "png"), pf.figure_bytes(fig, "pdf")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and pdf[:5] == b"%PDF-"
    legend = fig.legends[0] if fig.legends else fig.subfigs[1].legends[0]
    names = [t.get_text() for t in legend.get_texts()]
    assert names == [CLASS_NAMES[c] for c in pf.classes_present(pred, label)]
    view = affinity_at(an, 100, 80, label)
    crop = aff.zoom_crop(image, view, an.effective_stride, dilation=an.ldv2_dilation, size=120)
    fig9 = pf.fig9_affinity(
        crop.rgb, view.weights, view.inside, image, marker=(100, 80), caption="c", window=crop.window
    )
    assert pf.figure_bytes(fig9, "png")[:4] == b"\x89PNG"
    fig7 = pf.fig7_ldv1_mask(image, np.random.default_rng(0).random((20, 40)), pred, caption="c")
    assert len(fig7.subfigs[0].axes) >= 3
    curve = pf.tolerance_curves({"m": ([1, 2, 3], [0.2, 0.4, 0.6])}, caption="c")
    assert pf.figure_bytes(curve, "pdf")[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="fmt"):
        pf.figure_bytes(curve, "svg")


def test_palette_is_cityscapes():
    assert CLASS_COLORS.shape == (19, 3)
    assert isinstance(pf.classes_present(np.array([[0, 255, 18]])), list)
    assert pd.Series(pf.classes_present(np.array([[0, 255, 18]]))).tolist() == [0, 18]


def test_crosshair_leaves_its_centre_open():
    image = np.full((200, 300, 3), 50, np.uint8)
    for size in (0, 10, 40):
        out = draw_crosshair(image, 150, 100, size=size)
        gap = crosshair_gap(size or max(6, round(0.04 * 300)))
        yy, xx = np.mgrid[:200, :300]
        inner = (xx - 150) ** 2 + (yy - 100) ** 2 < (gap - 1) ** 2
        assert np.array_equal(out[inner], image[inner]) and inner.sum() >= 9
        assert (out != image).any()


def _ldv1_static(an, image, label, mask_channel=None):
    return static_panels(
        an,
        image,
        label,
        display_hw=(80, 160),
        background="image",
        opacity=0.5,
        ga_features=None,
        ga_view="channel mean",
        ga_channel=0,
        mask_channel=mask_channel,
        entropy=None,
        share=None,
    )


def test_ldv1_mask_is_drawn_on_its_data_range_with_a_colour_bar(scene, one_thread):
    image, label, _ = scene
    model = build_model("aspp_ldv1", num_classes=19, head_channels=16, probes=False, aux=False).eval()
    an = analyse(model, image, device="cpu")
    mean = an.ldv1_mask.astype(np.float32).mean(0)
    assert mean.min() >= 0.5  # M = σ(ReLU output)
    static = _ldv1_static(an, image, label, mask_channel=2)
    title = next(t for t in static.panels if t.startswith("LDv1 mask: mean"))
    rgb = static.panels[title]
    # Not one flat colour: the darkest and brightest colours of the magma scale both appear.
    lut = heat_rgb(np.array([0.0, 1.0]), cmap="magma")
    flat = rgb.reshape(-1, 3)
    for end in lut:
        assert (np.abs(flat.astype(int) - end).sum(1) <= 3).any()
    assert set(static.bars) >= {title, next(t for t in static.panels if "channel 2" in t)}
    assert data_range(mean) == (pytest.approx(float(mean.min())), pytest.approx(float(mean.max())))
    view = click_view(an, image, label, static, (40, 40))
    assert view.panels[title].shape[0] == rgb.shape[0] + static.bars[title].shape[0]
    fig = pf.fig7_ldv1_mask(image, mean, an.pred, caption="c")
    ims = [ax.images[0] for ax in fig.axes if ax.images and ax.images[0].get_array().ndim == 2]
    assert ims[0].get_clim() == pytest.approx((float(mean.min()), float(mean.max())), rel=1e-5)


def test_same_class_share_draws_ignore_cells_grey(scene):
    image, label, an = scene
    share = np.full(an.feature_size, 0.0, np.float32)
    share[0, 0] = np.nan  # an ignore cell
    static = static_panels(
        an,
        image,
        label,
        display_hw=(an.feature_size[0] * 2, an.feature_size[1] * 2),
        background="image",
        opacity=0.5,
        ga_features=None,
        ga_view="channel mean",
        ga_channel=0,
        mask_channel=None,
        entropy=np.zeros(an.feature_size, np.float32),
        share=share,
    )
    title = next(t for t in static.panels if "same-GT-class" in t)
    assert "grey: ignore" in title and title in static.bars
    rgb = static.panels[title]
    assert rgb[0, 0].tolist() == list(NO_VALUE_RGB)
    assert rgb[-1, -1].tolist() == heat_rgb(np.array([0.0]), cmap="RdYlGn")[0].tolist()
    assert all(t in static.bars for t in static.panels if "PCA" not in t and "prediction" not in t)


def _literal_percentile(values: np.ndarray, q: float) -> float:
    """Linear interpolation between the sorted values at rank q/100·(n−1), written out."""
    v = sorted(float(x) for x in values.ravel())
    rank = q / 100 * (len(v) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (rank - lo) * (v[hi] - v[lo])


def test_a_flat_ldv1_mask_is_shown_with_a_caution_and_a_varying_one_without(scene, one_thread):
    from dataclasses import replace

    from gald_viz.mechanisms.ldv1 import FLAT_SPREAD, mask_spread

    image, label, _ = scene
    model = build_model("aspp_ldv1", num_classes=19, head_channels=16, probes=False, aux=False).eval()
    an = analyse(model, image, device="cpu")
    c, h, w = an.ldv1_mask.shape
    rng = np.random.default_rng(3)
    flat = (0.6 + 0.01 * rng.random((c, h, w))).astype(np.float16)
    varying = flat.copy()
    varying[:, : h // 2] += np.float16(0.2)  # the top half opens: the channel mean spans 0.2
    apart = flat.copy()  # half the channels open at the top, the other half at the bottom: a flat mean
    apart[: c // 2, : h // 2] += np.float16(0.2)
    apart[c // 2 :, h // 2 :] += np.float16(0.2)
    for mask, cautioned in ((flat, True), (varying, False), (apart, True)):
        mean = mask.astype(np.float32).mean(0)
        literal = _literal_percentile(mean, 95) - _literal_percentile(mean, 5)
        assert mask_spread(mean) == pytest.approx(literal, abs=1e-9)
        assert (literal < FLAT_SPREAD) == cautioned
        shown = replace(an, ldv1_mask=mask, maps={**an.maps, "ldv1.mask": mean})
        static = _ldv1_static(shown, image, label)
        assert any(t.startswith("LDv1 mask: mean") for t in static.panels)  # the panel is still drawn
        if not cautioned:
            assert static.cautions == []
            continue
        assert len(static.cautions) == 1 and f"spans {literal:.3f}" in static.cautions[0]
        channel = [
            _literal_percentile(mask[k].astype(np.float32).ravel(), 95)
            - _literal_percentile(mask[k].astype(np.float32).ravel(), 5)
            for k in range(c)
        ]
        assert f"median channel spread {float(np.median(channel)):.3f}" in static.cautions[0]
        assert "ldv1.mask=mean" in static.cautions[0]
