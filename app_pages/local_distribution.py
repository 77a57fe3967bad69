"""Local distribution: click a pixel and see what LDv2 mixes there, next to GA outputs and LDv1 masks."""

from functools import partial

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from gald_viz.ui import compute
from gald_viz.ui.page import page_setup
from gald_viz.ui.pointer import accept_click, current_pixel, last_click
from gald_viz.ui.widgets import export_ui
from gald_viz.views.inspector import Choices, controls, local_view
from gald_viz.viz.features import FEATURE_VIEWS
from gald_viz.viz.inspector import BACKGROUNDS

CLICK_KEY = "ld.click"


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
xy = current_pixel(an.native_size)

offer = controls(an, loaded.model)
view_col, channel_col, mask_col, bg_col = st.columns(4)
ga_view = view_col.selectbox("GA features X_g as", FEATURE_VIEWS, key="ld.ga_view", disabled=not offer.has_ga)
ga_channel = channel_col.number_input(
    "X_g channel",
    0,
    offer.ga_channel_max,
    0,
    key="ld.ga_channel",
    disabled=ga_view != "one channel" or not offer.has_ga,
)
mask_channel = None
if offer.mask_channel_max is not None:
    mask_channel = mask_col.number_input(
        "LDv1 channel of M (−1: none)", -1, offer.mask_channel_max, -1, key="ld.mask_channel"
    )
background = bg_col.selectbox("Click on", BACKGROUNDS, key="ld.background")
choices = Choices.from_widgets(ga_view, ga_channel, mask_channel, background)

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
)

for line in view.missing:
    st.info(line)

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
    st.markdown(view.pixel)
    st.dataframe(
        view.readout,
        hide_index=True,
        width="stretch",
        column_config={
            "read-out": st.column_config.TextColumn(width="medium"),
            "value": st.column_config.TextColumn(width="large"),
        },
        key="ld.readout",
    )
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
