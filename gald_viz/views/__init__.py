"""What each page shows, built without Streamlit: figures, tables and texts from the sidebar's choices.

The pages in app_pages/ only lay these out. ``pages`` is the one page table (app.py's navigation and the
Home guide read it); ``home``, ``compare`` and ``inspector`` build the Home, Compare and Local
distribution pages; ``boundary_f`` the Boundary F-scores page; ``parts`` what they share (display
size, figure exports). Cached inputs (analyses, error maps, scores) come from
:mod:`gald_viz.ui.compute`; these modules only combine them.
"""
