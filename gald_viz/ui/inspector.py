"""The Local distribution page's own widgets: the view controls and the probe sections' layout.

Streamlit lives here (gald_viz/ui/); what the widgets offer and show is built headless in
:mod:`gald_viz.views.inspector` and :mod:`gald_viz.views.inspector_probes`.
"""

import streamlit as st

from gald_viz.views.inspector import Choices, Controls
from gald_viz.viz.features import FEATURE_VIEWS
from gald_viz.viz.inspector import BACKGROUNDS


def view_controls(offer: Controls) -> Choices:
    """The row of view widgets (X_g view and channel, LDv1 channel, background of the clickable image)."""
    view_col, channel_col, mask_col, bg_col = st.columns(4)
    ga_view = view_col.selectbox(
        "GA features X_g as", FEATURE_VIEWS, key="ld.ga_view", disabled=not offer.has_ga
    )
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
    background = bg_col.selectbox("Clickable image shows", BACKGROUNDS, key="ld.background")
    return Choices.from_widgets(ga_view, ga_channel, mask_channel, background)


def show_part(part, key: str) -> None:
    """A probe section: its panels ``part.ncols`` to a row, its table, curves and caption."""
    for start in range(0, len(part.panels), part.ncols):
        row = part.panels[start : start + part.ncols]
        for col, (title, rgb) in zip(st.columns(part.ncols), row, strict=False):
            col.image(rgb, caption=title, width="stretch")
    if part.table is not None:
        st.dataframe(part.table, hide_index=True, key=f"{key}.table")
    if getattr(part, "curves", None) is not None:
        st.plotly_chart(part.curves, key=f"{key}.curves")
    st.caption(part.caption)
