"""Real-browser test of the inspector's zoom: a click in the magnified crop, in Chromium, inspects the
native pixel it shows (issue #13, items 12 and 20).

Uses the server and page fixtures of tests/test_browser.py (a ``streamlit run app.py`` on a free localhost
port, Debian's Chromium through Playwright). Saves screenshots/local_zoom.png (git-ignored).
"""

import math
import re
import time

import pytest
from test_browser import SHOTS, _native, _settle, open_local_distribution, page, server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser]


def _window(tab) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the zoomed crop, read from its caption."""
    text = tab.get_by_text(re.compile(r"Zoom ×\d+: native columns")).first.inner_text()
    c0, c1, r0, r1 = map(int, re.search(r"columns (\d+)–(\d+), rows (\d+)–(\d+)", text).groups())
    return c0, r0, c1 - c0 + 1, r1 - r0 + 1


def test_click_in_the_zoomed_crop_inspects_that_native_pixel(server, page):  # noqa: F811
    open_local_distribution(server, page)
    zoom = page.frame_locator("iframe").nth(1).locator("img")
    zoom.wait_for(timeout=60_000)
    start = _native(page)
    left, top, width, height = _window(page)
    assert left <= start[0] < left + width and top <= start[1] < top + height
    shown_w, shown_h = zoom.evaluate("e => [e.width, e.height]")
    # A point away from the crosshair: a quarter in from the top-left corner.
    sx, sy = shown_w // 4 + 1, shown_h // 4 + 1
    zoom.click(position={"x": sx, "y": sy})
    deadline = time.time() + 120
    while _native(page) == start:
        assert time.time() < deadline, "the shown native pixel did not follow the zoomed click"
        time.sleep(0.3)
    _settle(page)
    expected = (left + math.floor(sx * width / shown_w), top + math.floor(sy * height / shown_h))
    assert _native(page) == expected
    assert f"x={expected[0]}" in page.url and f"y={expected[1]}" in page.url
    # The crop re-centres on the new pixel.
    new_left, new_top, _, _ = _window(page)
    assert (new_left, new_top) != (left, top)
    page.screenshot(path=str(SHOTS / "local_zoom.png"), full_page=True)
