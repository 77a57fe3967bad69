"""gald-viz: look inside GALD segmentation networks (Li et al., "Global Aggregation then Local
Distribution for Scene Parsing", IEEE TIP 2021).

Run with ``streamlit run app.py``. This file only routes: page config, the shared sidebar, and the
navigation over the pages of :data:`gald_viz.views.pages.PAGES` (each page holds its own layout).
"""

import streamlit as st

from gald_viz.ui.page import routed_sidebar
from gald_viz.ui.state import follow_link, init_session
from gald_viz.views.pages import HOME, PAGES

st.set_page_config(page_title="gald-viz", page_icon=":material/search:", layout="wide")

pages = {
    p.id: st.Page(p.path, title=p.title, icon=p.icon, default=p is HOME, url_path=None if p is HOME else p.id)
    for p in PAGES
}
first_run = init_session()
current = st.navigation(list(pages.values()))
# Arriving from another page by an in-app link: its URL chooses the view, before the sidebar is drawn.
follow_link(next(i for i, p in pages.items() if p is current))
wanted = st.query_params.get("page")
if first_run and wanted in pages and pages[wanted].title != current.title:
    # A shared link names its page in the query string; open that page once, then follow the user.
    st.switch_page(pages[wanted], query_params=st.query_params.to_dict())
with routed_sidebar():
    current.run()
