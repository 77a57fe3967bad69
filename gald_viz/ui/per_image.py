"""The Boundary F page's per-image table: two runs side by side, sortable, each image a link to Compare."""

import streamlit as st

from gald_viz.ui.sidebar import Settings
from gald_viz.ui.widgets import view_href, view_link
from gald_viz.views.boundary_images import PairedImages


def per_image_ui(rows: PairedImages, settings: Settings) -> None:
    """Draw :class:`PairedImages` (warning, sort controls, table, caption, summary, "Open on Compare")."""
    if rows.warning:
        st.warning(rows.warning)
    if rows.frame.empty:
        return
    by_col, desc_col = st.columns([3, 1])
    by = by_col.selectbox("Sort images by", rows.number_columns[::-1], key="bf.image_sort")
    frame = rows.sorted(by, desc_col.toggle("Descending", key="bf.image_descending"))
    frame = frame.assign(open=[view_href("compare", settings, **rows.open_view(n)) for n in frame["image"]])
    config = {c: st.column_config.NumberColumn(c, format="%.3f") for c in rows.number_columns}
    config["open"] = st.column_config.LinkColumn("Compare", display_text="open ↗")
    order = {"column_order": [*rows.columns, "open"], "column_config": config, "hide_index": True}
    st.dataframe(frame, **order, width="stretch", key="bf.per_image")
    st.caption(rows.caption)
    if rows.summary:
        st.markdown(rows.summary)
    pick_col, go_col = st.columns([3, 1], vertical_alignment="bottom")
    picked = pick_col.selectbox("Open here", list(frame["image"]), key="bf.open_image")
    view_link(go_col, "compare", "Open on Compare", settings, **rows.open_view(picked))
