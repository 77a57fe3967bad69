"""Streamlit-only helpers of the app (the one part of gald_viz that imports Streamlit).

``state`` (session defaults, URL), ``sidebar`` (the shared controls), ``page`` (page setup under the
router or alone), ``cache`` (models, analyses, store; one :class:`~gald_viz.ui.cache.CacheKey` per
result), ``compute`` (each page's cached inputs), ``pointer`` (clicks), ``widgets`` (exports, links).
What the pages show is built in :mod:`gald_viz.views`, without Streamlit.
"""
