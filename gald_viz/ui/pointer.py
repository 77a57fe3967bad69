"""The clicked pixel: from a streamlit-image-coordinates click (display pixels) to native pixels.

The component's value is ``{"x", "y", "width", "height", ...}`` in *displayed* pixels (the browser may
scale the image to its column); :func:`gald_viz.viz.inspector.click_to_native` rescales it. A click on
the zoomed crop maps through the :class:`~gald_viz.viz.inspector.ZoomWindow` it was drawn with (kept in
the session state by the page). A click is taken once per component: its last accepted value is
remembered, so reruns for other reasons keep the pixel, and a pixel from the URL stays until the user
clicks.
"""

from functools import partial

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from gald_viz.ui.state import LAST_CLICK, PIXEL
from gald_viz.viz.inspector import click_to_native
from gald_viz.viz.zoom import ZoomWindow

#: Prefix of the session keys holding each component's last accepted value.
TAKEN = "gv.click_taken."


def accept_click(key: str, native_size: tuple[int, int], *, window_key: str | None = None) -> bool:
    """Take a new click from the component's session value; True when the pixel changed.

    Used both as the component's ``on_click`` callback (before the rerun draws anything) and at the top
    of the page (for clicks set through the session state, as tests do).

    Args:
        key: the component's key.
        native_size: (H, W) of the native image.
        window_key: for a zoomed crop, the session key of its :meth:`ZoomWindow.as_dict` as displayed.
    """
    value = st.session_state.get(key)
    if not value or "x" not in value or value == st.session_state.get(TAKEN + key):
        return False
    st.session_state[TAKEN + key] = dict(value)
    if window_key is None:
        st.session_state[LAST_CLICK] = dict(value)
        x, y = click_to_native(value, native_size)
    else:
        window = st.session_state.get(window_key)
        if not window:
            return False
        x, y = ZoomWindow(**window).to_native(value)
        h, w = native_size
        x, y = min(max(x, 0), w - 1), min(max(y, 0), h - 1)
        st.session_state[LAST_CLICK] = None
    st.session_state[PIXEL] = (x, y)
    st.query_params["x"], st.query_params["y"] = str(x), str(y)
    return True


def current_pixel(native_size: tuple[int, int]) -> tuple[int, int]:
    """The pixel to inspect: the last click or URL value clamped into the image, else the image centre."""
    h, w = native_size
    pixel = st.session_state.get(PIXEL)
    if pixel is None:
        return w // 2, h // 2
    return min(max(int(pixel[0]), 0), w - 1), min(max(int(pixel[1]), 0), h - 1)


def last_click() -> dict | None:
    """The click (display coordinates) behind the current pixel, or None when it came from the URL."""
    return st.session_state.get(LAST_CLICK)


def zoom_picker(key: str, window_key: str, native_size: tuple[int, int], rgb, window: ZoomWindow) -> None:
    """Draw the zoomed crop as a clickable image; its clicks map through ``window`` (kept under
    ``window_key`` for the click callback of the next run) to native pixels."""
    st.session_state[window_key] = window.as_dict()
    streamlit_image_coordinates(
        rgb,
        key=key,
        on_click=partial(accept_click, key, native_size, window_key=window_key),
        cursor="crosshair",
    )
