"""Session state of the app: one guarded set of defaults, and the URL (query parameters) that mirrors it.

Widget keys carry their page's prefix (``sb.`` sidebar, ``cmp.`` Compare, ``ld.`` Local distribution,
``bf.`` Boundary F-scores), so pages never collide. The view a researcher is looking at (page, image,
models, clicked pixel, boundary threshold) lives in ``st.query_params``; a copied URL reopens it.
"""

import contextlib
import os

import streamlit as st

from gald_viz.metrics.conventions import PAPER_RADII_PX

DEFAULT_GA_MODEL = "synthcity/aspp"
DEFAULT_GALD_MODEL = "synthcity/aspp_ldv2"
BUNDLED_PREFIX = "synthcity/"
OTHER_CHECKPOINT = "checkpoint file…"
"""The model-picker entry that reveals a path field for any checkpoint file."""

SOURCES = ("SynthCity (built in)", "Cityscapes folder", "Folder of images + labels", "Upload an image")
THRESHOLDS_PX = PAPER_RADII_PX
"""Table V's boundary tolerances at 1024×2048 (diagonal fractions 0.00088/0.001875/0.00375/0.005)."""

# Keys that are not widgets: they survive page switches, and the URL is written from them.
PIXEL = "gv.pixel"
LAST_CLICK = "gv.last_click"
THRESHOLD = "gv.threshold"
"""Boundary tolerance in px (one of :data:`THRESHOLDS_PX`), shared by the Compare and Boundary pages."""
_READY = "gv.ready"

# Query parameter → the session key it restores.
_URL_KEYS = {"image": "sb.image", "ga": "sb.ga_model", "gald": "sb.gald_model", "threshold": THRESHOLD}


def defaults() -> dict[str, object]:
    """The session's starting values (before the URL is applied)."""
    return {
        "sb.source": SOURCES[0],
        "sb.synthcity_count": 20,
        "sb.cityscapes_root": os.environ.get("CITYSCAPES_DATASET", ""),
        "sb.images_dir": "",
        "sb.labels_dir": "",
        "sb.ga_model": DEFAULT_GA_MODEL,
        "sb.gald_model": DEFAULT_GALD_MODEL,
        "sb.ga_path": "",
        "sb.gald_path": "",
        "sb.device": "auto",
        "sb.opacity": 0.5,
        THRESHOLD: THRESHOLDS_PX[0],
        PIXEL: None,
        LAST_CLICK: None,
    }


def init_session() -> bool:
    """Set missing defaults, and on the session's first call let the URL override the view it names.

    Later calls only restore missing defaults, so pages can call it whether or not the router did.

    Returns:
        True on the session's first call (the one that read the URL).
    """
    for key, value in defaults().items():
        # Every run: a value the user never set may have been dropped with its widget (a page run on
        # its own, as AppTest's page switches do, does not draw the router's sidebar).
        st.session_state.setdefault(key, value)
    if st.session_state.get(_READY):
        return False
    params = st.query_params
    select_view(
        image=params.get("image"),
        ga=params.get("ga"),
        gald=params.get("gald"),
        threshold=_threshold(params["threshold"]) if "threshold" in params else None,
    )
    if "x" in params and "y" in params:
        # A hand-edited URL with junk coordinates just starts at the default pixel.
        with contextlib.suppress(ValueError):
            st.session_state[PIXEL] = (int(params["x"]), int(params["y"]))
    st.session_state[_READY] = True
    return True


def _threshold(value: str) -> int:
    """A threshold from the URL: one of Table V's pixel radii, else the first."""
    try:
        px = int(value)
    except ValueError:
        return THRESHOLDS_PX[0]
    return px if px in THRESHOLDS_PX else THRESHOLDS_PX[0]


def select_view(
    *, image: str | None = None, ga: str | None = None, gald: str | None = None, threshold: int | None = None
) -> None:
    """Point the session at an image, models and threshold (from a URL or a link inside the app).

    Must run before the sidebar's widgets are drawn (at the start of a run or in a callback). A model is a
    bundled name or a checkpoint path; paths go to the picker's path field.
    """
    if image:
        st.session_state["sb.image"] = image
    for role, name in (("ga", ga), ("gald", gald)):
        if not name:
            continue
        if name.startswith(BUNDLED_PREFIX):
            st.session_state[f"sb.{role}_model"] = name
        else:
            st.session_state[f"sb.{role}_model"] = OTHER_CHECKPOINT
            st.session_state[f"sb.{role}_path"] = name
    if threshold is not None:
        st.session_state[THRESHOLD] = threshold


def write_query_params(page: str) -> None:
    """Mirror the current view into the URL (only values that differ from what is there)."""
    wanted = {"page": page}
    for param, key in _URL_KEYS.items():
        value = st.session_state.get(key)
        if value == OTHER_CHECKPOINT:
            value = st.session_state.get(f"sb.{param}_path") or None
        if value is not None:
            wanted[param] = str(value)
    pixel = st.session_state.get(PIXEL)
    if pixel is not None:
        wanted["x"], wanted["y"] = str(pixel[0]), str(pixel[1])
    current = st.query_params.to_dict()
    if current != wanted:
        st.query_params.from_dict(wanted)
