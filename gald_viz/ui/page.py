"""Page plumbing: every page starts with :func:`page_setup`, whether app.py routed to it or not.

When app.py runs a page it has already drawn the shared sidebar; the settings it resolved wait in the
session for that one run. A page opened on its own (``AppTest.from_file("app_pages/ga_vs_gald.py")``) finds
none and draws the sidebar itself, so it behaves the same.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from gald_viz.data.spec import CityscapesSpec, FolderSpec
from gald_viz.ui.sidebar import Settings, render_sidebar
from gald_viz.ui.state import SOURCES, init_session, link_problems, write_query_params

_ROUTED = "gv.routed_settings"


@contextmanager
def routed_sidebar() -> Iterator[Settings]:
    """Draw the shared sidebar for the router and hand its settings to the page run inside."""
    settings = render_sidebar()
    st.session_state[_ROUTED] = settings
    try:
        yield settings
    finally:
        st.session_state.pop(_ROUTED, None)


def is_routed() -> bool:
    """True while app.py runs the current page (so ``st.page_link`` and ``st.switch_page`` work)."""
    return st.session_state.get(_ROUTED) is not None


def page_setup(page: str) -> Settings:
    """Session defaults, the sidebar (unless the router drew it), and the URL for ``page``.

    On the session's first page, whatever its link asked for and the view does not show is named in a
    warning (a link never opens another view silently).
    """
    init_session()
    settings = st.session_state.get(_ROUTED)
    if settings is None:
        settings = render_sidebar()
    view = {
        "data": settings.link_data,
        "image": settings.sample.name,
        "ga": settings.ga.name,
        "gald": settings.gald.name,
        "labels": settings.link_labels,
    }
    problems = link_problems(**view, names=settings.names, size=settings.sample.image.shape[:2])
    if problems:
        st.warning("This link could not be restored in full: " + "; ".join(problems) + ".")
    write_query_params(page, **view)
    message = fallback_message(st.session_state.get("sb.source"), settings)
    if message:
        st.warning(message)
    return settings


def fallback_message(kind: str | None, settings: Settings) -> str | None:
    """The main-area notice when the chosen data source was not opened and the sidebar fell back.

    The sidebar says why next to the fields; this line keeps the page from looking as if the chosen data
    were shown. ``kind`` is the source picked in the sidebar (one of :data:`gald_viz.ui.state.SOURCES`).
    """
    spec = settings.data_spec
    if kind == SOURCES[1] and not isinstance(spec, CityscapesSpec):
        what = "The Cityscapes folder could not be opened"
    elif kind == SOURCES[2] and not isinstance(spec, FolderSpec):
        what = "The image and label folders could not be opened"
    elif kind == SOURCES[3] and spec is not None:
        what = "No uploaded image could be shown"
    else:
        return None
    return f"{what} (the sidebar says why). Showing {settings.source_text} instead, not your data."
