"""Compare: GA vs GALD on one image — predictions, error maps, four-way map, scores, stage predictions."""

import streamlit as st

from gald_viz.data.labels import colorize
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, threshold_index
from gald_viz.ui import cache
from gald_viz.ui.page import page_setup
from gald_viz.ui.widgets import export_buttons, swatches, threshold_ui
from gald_viz.viz import paper_figures as pf
from gald_viz.viz.compare import convention, per_class_table, scores_table
from gald_viz.viz.figures import ImagePanel, synced_panels
from gald_viz.viz.overlays import ERROR_COLORS, FOURWAY_COLORS, display_size, label_overlay, resize

DISPLAY_WIDTH = 1024

settings = page_setup("compare")
sample, ga, gald = settings.sample, settings.ga, settings.gald
image, gt = sample.image, sample.label
h, w = image.shape[:2]
dh, dw = display_size(h, w, max_width=DISPLAY_WIDTH)
ga_an = cache.analysis(ga.key, settings.image_key, ga, image)
gald_an = cache.analysis(gald.key, settings.image_key, gald, image)
small = resize(image, dh, dw)


def overlay(label_map):
    return label_overlay(small, resize(label_map, dh, dw, labels=True), settings.opacity)


caption = (
    f"{settings.source_text}, image {sample.name} ({w}×{h} px). GA: {ga.name}; GALD: {gald.name}. "
    "Cityscapes palette; GT label 255 (ignore) drawn as the bare image."
)

st.title("Compare GA and GALD")
st.caption(
    f"`{sample.name}` · GA model `{ga.name}` · GALD model `{gald.name}` · zoom or pan any panel: all follow"
)

# -- predictions side by side ---------------------------------------------------------------------
panels = [ImagePanel("image", small)]
hover = {"GA": ga_an.pred, "GALD": gald_an.pred}
if gt is not None:
    panels.append(ImagePanel("ground truth", overlay(gt)))
    hover = {"GT": gt, **hover}
panels += [
    ImagePanel(f"GA: {ga.name}", overlay(ga_an.pred)),
    ImagePanel(f"GALD: {gald.name}", overlay(gald_an.pred)),
]
st.plotly_chart(
    synced_panels(
        panels, native_size=(h, w), hover_labels=hover, ncols=2, panel_height=round(330 * dh / dw * 2)
    ),
    key="cmp.panels",
    config={"scrollZoom": True, "displaylogo": False},
)


def side_by_side_figure():
    figure_panels = [pf.Panel("image", image)]
    maps = [ga_an.pred, gald_an.pred]
    if gt is not None:
        figure_panels.append(pf.Panel("ground truth", colorize(gt)))
        maps.append(gt)
    figure_panels += [
        pf.Panel(f"GA ({ga.name})", colorize(ga_an.pred)),
        pf.Panel(f"GALD ({gald.name})", colorize(gald_an.pred)),
    ]
    return pf.layout(figure_panels, caption=caption, ncols=2, legend_classes=pf.classes_present(*maps))


st.caption("Export the side-by-side figure")
export_buttons("cmp.export_panels", side_by_side_figure, f"compare_{sample.name}")

# -- errors and scores -----------------------------------------------------------------------------
if gt is None:
    st.info(
        f"`{sample.name}` has no ground truth, so error maps and scores are not available. "
        "Upload a label map "
        "or pick a data source with labels."
    )
else:
    st.subheader("Errors against the ground truth (Fig. 10)")
    err = cache.errors(
        ga.key, gald.key, settings.image_key, settings.opacity, (dh, dw), image, gt, ga_an.pred, gald_an.pred
    )
    st.plotly_chart(
        synced_panels(
            [
                ImagePanel(f"GA errors: {ga.name}", err.ga),
                ImagePanel(f"GALD errors: {gald.name}", err.gald),
                ImagePanel("four-way: GA vs GALD", err.fourway),
            ],
            native_size=(h, w),
            hover_labels=hover,
            ncols=3,
            panel_height=round(330 * dh / dw * 1.4),
        ),
        key="cmp.errors",
        config={"scrollZoom": True, "displaylogo": False},
    )
    st.markdown(
        f"Error maps: {swatches(ERROR_COLORS)}  \nFour-way: {swatches(FOURWAY_COLORS)}",
        unsafe_allow_html=True,
    )

    def error_figure():
        pics = {
            f"GA errors ({ga.name})": err.ga,
            f"GALD errors ({gald.name})": err.gald,
            "four-way": err.fourway,
        }
        legend_colors = {f"error: {k}": v for k, v in ERROR_COLORS.items()} | {
            f"four-way: {k}": v for k, v in FOURWAY_COLORS.items()
        }
        return pf.fig10_error_maps(
            small, resize(gt, dh, dw, labels=True), pics, caption=caption, error_legend=legend_colors
        )

    st.caption("Export the error maps (Fig. 10 layout)")
    export_buttons("cmp.export_errors", error_figure, f"errors_{sample.name}")
    st.markdown("**Four-way counts** (pixels; rows: GT class)")
    st.dataframe(err.fourway_counts, width="stretch", height=260, key="cmp.fourway_counts")

    st.subheader("Scores on this image")
    ga_scores = cache.scores(ga.key, settings.image_key, ga_an.pred, gt)
    gald_scores = cache.scores(gald.key, settings.image_key, gald_an.pred, gt)
    all_scores = {f"GA: {ga.name}": ga_scores, f"GALD: {gald.name}": gald_scores}
    st.dataframe(scores_table(all_scores).style.format("{:.3f}"), width="stretch")
    st.caption(convention(h, w, ga_scores.radii, DEFAULT_THRESHOLDS))
    px = threshold_ui("cmp")
    t_index = threshold_index(px)  # by index: radii differ from 3/5/9/12 px at other image sizes
    with st.expander(f"Per class at {ga_scores.radii[t_index]} px"):
        st.dataframe(per_class_table(all_scores, t_index).style.format("{:.3f}", na_rep="—"), width="stretch")

# -- stage predictions (Fig. 8) ----------------------------------------------------------------------
st.subheader(f"Stage predictions of {gald.name} (Fig. 8)")
stages = {}
if "probe.backbone" in gald_an.probe_preds:
    stages["FCN stage (probe on X)"] = gald_an.probe_preds["probe.backbone"]
if "probe.ga" in gald_an.probe_preds:
    stages["GA stage (probe on X_g)"] = gald_an.probe_preds["probe.ga"]
stages[f"final ({getattr(gald.model, 'ld_kind', 'none')})"] = gald_an.pred
if len(stages) == 1:
    st.info(
        f"`{gald.name}` has no probe heads, so only its final prediction is available (no FCN/GA stages)."
    )
stage_panels = [ImagePanel(title, overlay(pred)) for title, pred in stages.items()]
if gt is not None:
    stage_panels.append(ImagePanel("ground truth", overlay(gt)))
st.plotly_chart(
    synced_panels(
        stage_panels,
        native_size=(h, w),
        hover_labels={title.split(" (")[0]: pred for title, pred in stages.items()},
        ncols=2,
        panel_height=round(330 * dh / dw * 2),
    ),
    key="cmp.stages",
    config={"scrollZoom": True, "displaylogo": False},
)
st.caption("Export Fig. 8 layout")
export_buttons(
    "cmp.export_stages",
    lambda: pf.fig8_stage_predictions(image, gt, stages, caption=caption),
    f"stages_{sample.name}",
)
