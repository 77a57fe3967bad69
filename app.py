"""gald-viz: look inside GALD segmentation networks (Li et al., "Global Aggregation then Local
Distribution for Scene Parsing", IEEE TIP 2021).

Run with ``streamlit run app.py``. This file only routes: page config, the shared sidebar, and the
navigation over the explicitly listed files in pages/ (each page holds its own layout).
"""

import streamlit as st

from gald_viz.ui.page import routed_sidebar
from gald_viz.ui.state import PAGES, init_session

st.set_page_config(page_title="gald-viz", page_icon=":material/search:", layout="wide")

# URL paths are the page ids and differ from the file names on purpose: on a fresh server's very first
# request Streamlit still tries its legacy pages/ discovery, which would run a same-named file without
# this router.
pages = {
    "home": st.Page("pages/home.py", title=PAGES["home"], icon=":material/home:", default=True),
    "compare": st.Page(
        "pages/ga_vs_gald.py", title=PAGES["compare"], icon=":material/compare:", url_path="compare"
    ),
    "local": st.Page(
        "pages/local_distribution.py", title=PAGES["local"], icon=":material/my_location:", url_path="local"
    ),
    "boundary": st.Page(
        "pages/boundary_f.py", title=PAGES["boundary"], icon=":material/border_style:", url_path="boundary"
    ),
}
first_run = init_session()
current = st.navigation(list(pages.values()))
wanted = st.query_params.get("page")
if first_run and wanted in pages and PAGES[wanted] != current.title:
    # A shared link names its page in the query string; open that page once, then follow the user.
    st.switch_page(pages[wanted], query_params=st.query_params.to_dict())
with routed_sidebar():
    current.run()
