"""Streamlit-only helpers of the app (the one part of gald_viz that imports Streamlit).

``state`` (session defaults, URL), ``sidebar`` (the shared controls), ``page`` (page setup under the
router or alone), ``cache`` (models, analyses, store), ``pointer`` (clicks), ``widgets`` (exports, links).
"""
