"""Local distribution: click a pixel and see what LDv2 mixes there, next to GA outputs and LDv1 masks."""

from functools import partial

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from gald_viz.ui import compute
from gald_viz.ui.inspector import show_part, view_controls
from gald_viz.ui.page import page_setup
from gald_viz.ui.pointer import accept_click, current_pixel, last_click, zoom_picker
from gald_viz.ui.widgets import export_ui
from gald_viz.views.inspector import controls, local_view, zoom_part
from gald_viz.views.inspector_probes import knockouts_for
from gald_viz.viz.zoom import ZOOM_FACTORS

CLICK_KEY, ZOOM_KEY, ZOOM_WINDOW = "ld.click", "ld.zoom_click", "ld.zoom_window"


settings = page_setup("local")

st.title("Local distribution")
models = {"GALD model": settings.gald, "GA model": settings.ga}
which = st.segmented_control(
    "Inspect",
    list(models),
    default="GALD model",
    required=True,
    key="ld.which",
    format_func=lambda role: f"{role}: {models[role].name}",
)
loaded = models[which or "GALD model"]
an = compute.analysis(settings, loaded)
accept_click(CLICK_KEY, an.native_size)
accept_click(ZOOM_KEY, an.native_size, window_key=ZOOM_WINDOW)
xy = current_pixel(an.native_size)

choices = view_controls(controls(an, loaded.model))

static = compute.inspector_panels(settings, loaded, an, choices)
view = local_view(
    an,
    settings.sample,
    static,
    xy,
    click=last_click(),
    model_name=loaded.name,
    source_text=settings.source_text,
    mask_channel=choices.mask_channel,
    label_set=settings.label_set,
)

for line in view.missing:
    st.info(line)
for line in view.cautions:
    st.warning(line)
for line in compute.pair_report(settings).warnings:
    st.warning(line)

click_col, info_col = st.columns([5, 3])
with click_col:
    st.markdown(view.prompt)
    streamlit_image_coordinates(
        view.clickable,
        key=CLICK_KEY,
        use_column_width="always",
        on_click=partial(accept_click, CLICK_KEY, an.native_size),
        cursor="crosshair",
        image_format="JPEG",
        jpeg_quality=90,
    )
    st.markdown(view.point)
with info_col:
    factor = st.selectbox(
        "Zoom (native px → screen px)", ZOOM_FACTORS, index=1, key="ld.zoom", format_func="×{}".format
    )
    zoom = zoom_part(
        an, settings.sample, xy, factor, choices.background, settings.opacity, settings.label_set
    )
    zoom_picker(ZOOM_KEY, ZOOM_WINDOW, an.native_size, zoom.rgb, zoom.window)
    st.caption(zoom.caption)
    st.markdown(view.pixel)
    widths = {
        "read-out": st.column_config.TextColumn(width="medium"),
        "value": st.column_config.TextColumn(width="large"),
    }
    st.dataframe(view.readout, hide_index=True, width="stretch", column_config=widths, key="ld.readout")
    if view.heatmap is not None:
        st.plotly_chart(view.heatmap, key="ld.heatmap")

if view.affinity is not None:
    st.subheader(view.affinity.title)
    crop_col, table_col = st.columns([2, 3])
    crop_col.image(view.affinity.crop, caption=view.affinity.crop_caption)
    with table_col:
        st.markdown("**Weights** (rows dy, columns dx, in feature cells; they sum to 1)")
        st.table(view.affinity.table.style.format("{:.4f}"))
        st.caption(view.affinity.caption)
    export_ui("ld", view.affinity.export)

st.subheader("GA outputs, LDv1 mask and affinity maps")
st.caption(
    "Crosshair at the clicked pixel on every map; maps live at feature resolution (one block per cell)."
)
for row in view.map_rows:
    for col, (title, rgb) in zip(st.columns(3), row, strict=False):
        col.image(rgb, caption=title, width="stretch")
for item in view.exports:
    export_ui("ld", item)


st.subheader("Knock-outs on this image")
offered = knockouts_for(loaded.model)
name = st.selectbox(
    f"Knock-out in {loaded.name}", ["none", *offered], key="ld.knockout", disabled=not offered
)
if name and name != "none":
    show_part(compute.knockout_view(settings, loaded, an, name), "ld.knockout")
st.subheader("Context reach at the pixel: how far each model looks")
if st.toggle("Compute the gradient reach of both models (one backward each)", key="ld.reach"):
    show_part(compute.reach_view(settings, xy), "ld.reach")
