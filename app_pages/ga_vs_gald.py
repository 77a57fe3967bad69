"""Compare: GA vs GALD on one image — predictions, error maps, four-way map, scores, stage predictions."""

import streamlit as st

from gald_viz.ui.compute import compare_inputs
from gald_viz.ui.page import page_setup
from gald_viz.ui.widgets import export_ui, threshold_ui
from gald_viz.views.compare import compare_view

PLOTLY_CONFIG = {"scrollZoom": True, "displaylogo": False}


settings = page_setup("compare")
view = compare_view(compare_inputs(settings))

st.title(view.title)
st.caption(view.caption)
if view.pair is not None:
    for line in view.pair.warnings:
        st.warning(line)
    with st.expander(view.pair.summary, expanded=bool(view.pair.warnings)):
        st.dataframe(view.pair.table, width="stretch", key="cmp.pair")

# -- predictions side by side ---------------------------------------------------------------------
st.plotly_chart(view.panels, key="cmp.panels", config=PLOTLY_CONFIG)
export_ui("cmp", view.export)

# -- errors and scores -----------------------------------------------------------------------------
if view.no_gt:
    st.info(view.no_gt)
if view.errors is not None:
    st.subheader("Errors against the ground truth (Fig. 10)")
    st.plotly_chart(view.errors.figure, key="cmp.errors", config=PLOTLY_CONFIG)
    st.markdown(view.errors.legend, unsafe_allow_html=True)
    export_ui("cmp", view.errors.export)
    st.markdown("**Four-way counts** (pixels; rows: GT class)")
    st.dataframe(view.errors.counts, width="stretch", height=260, key="cmp.fourway_counts")
if view.scores is not None:
    st.subheader("Scores on this image")
    st.dataframe(view.scores.table.style.format("{:.3f}"), width="stretch")
    st.caption(view.scores.convention)
    title, per_class = view.scores.per_class(threshold_ui("cmp"))
    with st.expander(title):
        st.dataframe(per_class.style.format("{:.3f}", na_rep="—"), width="stretch")

# -- stage predictions (Fig. 8) ----------------------------------------------------------------------
st.subheader(view.stages.title)
if view.stages.note:
    st.info(view.stages.note)
st.plotly_chart(view.stages.figure, key="cmp.stages", config=PLOTLY_CONFIG)
export_ui("cmp", view.stages.export)
