"""Home: what gald-viz shows, the data and models in use, the device, and a guide to the pages."""

import streamlit as st

from gald_viz.ui.page import page_setup
from gald_viz.ui.widgets import models_table, page_link
from gald_viz.views.home import home_view

settings = page_setup("home")
view = home_view(
    settings.source_text,
    len(settings.names),
    settings.sample,
    settings.device,
    models_table(settings.ga, settings.gald),
    settings.label_set,
)

st.title("gald-viz")
st.markdown(view.intro)

st.subheader("In use")
data_col, device_col = st.columns([3, 2])
data_col.markdown(view.data)
device_col.markdown(view.device)
st.dataframe(view.models, width="stretch")
st.caption(view.models_caption)

st.subheader("Pages")
for page in view.guide:
    link_col, text_col = st.columns([1, 4])
    with link_col:
        page_link(page.path, page.title, page.icon)
    text_col.markdown(page.description)
st.caption(view.closing)
