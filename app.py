"""gald-viz: look inside GALD segmentation networks (Li et al., "Global Aggregation then Local
Distribution for Scene Parsing", IEEE TIP 2021).

Run with ``streamlit run app.py``. This file only routes: page config, the shared sidebar, and the
navigation over the explicitly listed files in pages/ (each page holds its own layout).
"""

import streamlit as st

from gald_viz.ui.page import routed_sidebar
from gald_viz.ui.state import PAGES, init_session

st.set_page_config(page_title="gald-viz", page_icon="🔎", layout="wide")

_FILES = {
    "home": ("pages/home.py", "🏠"),
    "compare": ("pages/compare.py", "🆚"),
    "local": ("pages/local_distribution.py", "🎯"),
    "boundary": ("pages/boundary_f.py", "📏"),
}
pages = {
    page_id: st.Page(path, title=PAGES[page_id], icon=icon, url_path=page_id, default=page_id == "home")
    for page_id, (path, icon) in _FILES.items()
}
first_run = init_session()
current = st.navigation(list(pages.values()))
wanted = st.query_params.get("page")
if first_run and wanted in pages and PAGES[wanted] != current.title:
    # A shared link names its page in the query string; open that page once, then follow the user.
    st.switch_page(pages[wanted], query_params=st.query_params.to_dict())
with routed_sidebar():
    current.run()
