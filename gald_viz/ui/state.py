"""Session state of the app: one guarded set of defaults, and the URL (query parameters) that mirrors it.

Widget keys carry their page's prefix (``sb.`` sidebar, ``cmp.`` Compare, ``ld.`` Local distribution,
``bf.`` Boundary F-scores), so pages never collide. The view a researcher is looking at (page, image,
models, clicked pixel, boundary threshold) lives in ``st.query_params``; a copied URL reopens it.
"""

import contextlib
import os

import streamlit as st

DEFAULT_GA_MODEL = "synthcity/aspp"
DEFAULT_GALD_MODEL = "synthcity/aspp_ldv2"
BUNDLED_PREFIX = "synthcity/"
OTHER_CHECKPOINT = "checkpoint file…"
"""The model-picker entry that reveals a path field for any checkpoint file."""

SOURCES = ("SynthCity (built in)", "Cityscapes folder", "Folder of images + labels", "Upload an image")
THRESHOLDS_PX = (3, 5, 9, 12)
"""Table V's boundary tolerances at 1024×2048 (diagonal fractions 0.00088/0.001875/0.00375/0.005)."""

PAGES = {"home": "Home", "compare": "Compare", "local": "Local distribution", "boundary": "Boundary F-scores"}
"""Query-parameter value → page title; app.py builds its navigation from this."""

# Keys that are not widgets: they survive page switches, and the URL is written from them.
PIXEL = "gv.pixel"
LAST_CLICK = "gv.last_click"
PAGE = "gv.page"
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
        PAGE: "home",
    }


def init_session() -> bool:
    """Set every default once per session, then let the URL override the view it names.

    A later call does nothing, so pages can call it whether or not the router already did.

    Returns:
        True on the session's first call (the one that read the URL).
    """
    if st.session_state.get(_READY):
        return False
    for key, value in defaults().items():
        st.session_state.setdefault(key, value)
    params = st.query_params
    for param, key in _URL_KEYS.items():
        if param in params:
            st.session_state[key] = _parse(param, params[param])
    for param in ("ga", "gald"):
        # A URL names a model by its bundled name or by a checkpoint path; paths go to the path field.
        value = params.get(param, "")
        if value and not value.startswith(BUNDLED_PREFIX):
            st.session_state[f"sb.{param}_model"] = OTHER_CHECKPOINT
            st.session_state[f"sb.{param}_path"] = value
    if "x" in params and "y" in params:
        # A hand-edited URL with junk coordinates just starts at the default pixel.
        with contextlib.suppress(ValueError):
            st.session_state[PIXEL] = (int(params["x"]), int(params["y"]))
    if params.get("page") in PAGES:
        st.session_state[PAGE] = params["page"]
    st.session_state[_READY] = True
    return True


def _parse(param: str, value: str) -> object:
    if param == "threshold":
        try:
            px = int(value)
        except ValueError:
            return THRESHOLDS_PX[0]
        return px if px in THRESHOLDS_PX else THRESHOLDS_PX[0]
    return value


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
