"""Small Streamlit pieces the pages share: figure exports, the threshold picker, links, model summaries."""

from collections.abc import Callable
from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from matplotlib.figure import Figure

from gald_viz.hooks import available_taps
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, threshold_index, threshold_label
from gald_viz.ui.cache import LoadedModel
from gald_viz.ui.page import is_routed
from gald_viz.ui.sidebar import Settings
from gald_viz.ui.state import THRESHOLD, THRESHOLDS_PX, view_params
from gald_viz.views.pages import PAGES
from gald_viz.views.parts import Export
from gald_viz.viz.paper_figures import figure_bytes


def export_buttons(key: str, build: Callable[[], Figure], file_stem: str) -> None:
    """PNG and PDF download buttons for a paper-style figure, drawn only when clicked.

    Args:
        key: widget key prefix (page prefix included).
        build: makes the matplotlib figure (runs in Streamlit's download thread, not on every rerun).
        file_stem: file name without extension.
    """
    png_col, pdf_col, _ = st.columns([1, 1, 4])
    for col, fmt, mime in ((png_col, "png", "image/png"), (pdf_col, "pdf", "application/pdf")):
        col.download_button(
            f"{fmt.upper()}",
            data=lambda fmt=fmt: figure_bytes(build(), fmt),
            file_name=f"{file_stem}.{fmt}",
            mime=mime,
            key=f"{key}.{fmt}",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )


def export_ui(prefix: str, item: Export) -> None:
    """A view's export: its caption line and the PNG/PDF buttons (widget key ``{prefix}.export_{id}``)."""
    st.caption(item.caption)
    export_buttons(f"{prefix}.export_{item.id}", item.build, item.file_stem)


def threshold_ui(prefix: str) -> int:
    """The boundary tolerance in px (3/5/9/12, Table V); shared by pages through the session and URL."""
    key = f"{prefix}.threshold"

    def keep() -> None:
        st.session_state[THRESHOLD] = st.session_state[key]

    current = st.session_state.get(THRESHOLD, THRESHOLDS_PX[0])
    return st.selectbox(
        "Boundary tolerance",
        THRESHOLDS_PX,
        index=THRESHOLDS_PX.index(current) if current in THRESHOLDS_PX else 0,
        format_func=lambda px: f"{threshold_label(DEFAULT_THRESHOLDS[threshold_index(px)], px)} at 1024×2048",
        key=key,
        on_change=keep,
    )


def page_link(path: str, label: str, icon: str = "") -> None:
    """A link to another page: ``st.page_link`` under the router, plain text when a page runs alone."""
    if is_routed():
        st.page_link(path, label=label, icon=icon or None)
    else:
        st.markdown(f"**{label}**")


def view_href(page: str, settings: Settings, **view) -> str:
    """The relative URL (``page?query``) of a view of the data shown: :func:`view_link`'s permalink.

    Args:
        page: the target page's id; view: ``image`` and optionally ``ga``, ``gald`` and ``threshold``
            (models default to the sidebar's, the tolerance to the session's).
    """
    return f"{page}?{urlencode(_view_params(page, settings, **view))}"


def _view_params(
    page: str,
    settings: Settings,
    *,
    image: str,
    ga: str | None = None,
    gald: str | None = None,
    threshold: int | None = None,
) -> dict[str, str]:
    return view_params(
        page,
        data=settings.link_data,
        image=image,
        ga=ga or settings.ga.name,
        gald=gald or settings.gald.name,
        labels=settings.link_labels,
        threshold=threshold,
    )


def view_link(where, page: str, label: str, settings: Settings, **view) -> None:
    """A link that opens ``page`` (a page id) on ``image`` of the data shown, with these models and tolerance.

    An ``st.page_link`` carrying the target view's permalink (:func:`gald_viz.ui.state.view_params`),
    which the target page reads on arrival (:func:`gald_viz.ui.state.follow_link`): the browser takes the
    new path and query in one history step, and the link also opens in a new tab. Not a button whose
    callback sets the view and calls ``st.switch_page``: ``switch_page`` rewrites the query while the
    browser is still on the old path (the frontend applies a query change to the current path at once,
    the path only when the next run's navigation message is rendered), so the URL passed through the old
    path with an empty query, then the old path with the new view's query, each a history entry.

    Args:
        where: the container to draw in (``st`` or a column).
        page: the target page's id; view: as :func:`view_href`.
    """
    if is_routed():
        target = next(p for p in PAGES if p.id == page)
        where.page_link(
            target.path, label=label, icon=target.icon, query_params=_view_params(page, settings, **view)
        )
    else:  # a page run on its own has no navigation: a plain link with the same query
        where.markdown(f"[{label}]({view_href(page, settings, **view)})")


def model_summary(loaded: LoadedModel) -> dict[str, object]:
    """One row describing a loaded model: architecture, LD kind, size, scale and provenance."""
    m = loaded.model
    info = m.checkpoint_info
    taps = ", ".join(t.name for t in available_taps(m))
    return {
        "model": loaded.name,
        "architecture": m.arch,
        "local distribution": m.ld_kind,
        "parameters": f"{sum(p.numel() for p in m.parameters()) / 1e6:.2f} M",
        "input scale": m.input_scale,
        "taps": taps,
        "checkpoint sha256": (info.get("sha256") or "")[:12],
    }


def models_table(*models: LoadedModel) -> pd.DataFrame:
    """:func:`model_summary` rows of several models as a table."""
    return pd.DataFrame([model_summary(m) for m in models]).set_index("model")
