"""Real-browser test: `streamlit run app.py` on a free localhost port, driven by Debian's Chromium.

Opens the Local distribution page, clicks two different pixels of the image (the click component is an
iframe), and checks that the native coordinates shown and the LDv2 weights table follow each click.
Saves a screenshot of every page to screenshots/ (git-ignored). Needs /usr/bin/chromium; Playwright's
own browser download is never used.
"""

import math
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "screenshots"
PAGES = {"home": "", "compare": "compare", "local": "local", "boundary": "boundary"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(log_path: Path, *extra: str, env: dict | None = None):
    """``streamlit run app.py`` on a free port, its output in ``log_path``; yields (url, port, process).

    Always stopped, also when a test fails.
    """
    port = _free_port()
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
            + ["--server.port", str(port), "--browser.gatherUsageStats", "false", *extra],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env or os.environ.copy(),
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.time() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"streamlit did not start (exit {proc.poll()}); see {log_path}")
                time.sleep(0.3)
            yield url, port, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Streamlit server for the module's tests.

    Its operator adds pytest's temporary folders to the app's roots, where tests keep their databases.
    """
    env = {**os.environ, "GALD_VIZ_ROOTS": str(tmp_path_factory.getbasetemp())}
    with streamlit_server(SHOTS / "server.log", "--server.address", "127.0.0.1", env=env) as (url, _, _):
        yield url


@pytest.fixture(scope="module")
def page(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            # Streamlit scrolls inside its main block, so a tall window is what makes whole-page screenshots.
            yield browser.new_page(viewport={"width": 1500, "height": 2600})
        finally:
            browser.close()


def _settle(page, timeout: float = 150) -> None:
    """Wait until the app has finished running (no spinner for a moment)."""
    deadline = time.time() + timeout
    quiet = 0
    while quiet < 3:
        if time.time() > deadline:
            raise AssertionError("the app kept running")
        busy = page.locator('[data-testid="stSpinner"], [data-testid="stStatusWidget"]').count()
        quiet = 0 if busy else quiet + 1
        time.sleep(0.4)


def _native(page) -> tuple[int, int]:
    text = page.locator("p", has_text="Native pixel:").first.inner_text()
    x, y = re.search(r"x=(\d+), y=(\d+)", text).groups()
    return int(x), int(y)


def _weights(page) -> str:
    return page.locator('[data-testid="stTable"]').first.inner_text()


def _click_and_wait(page, image, x: int, y: int, before: tuple[int, int]) -> tuple[int, int]:
    image.click(position={"x": x, "y": y})
    deadline = time.time() + 120
    while _native(page) == before:
        assert time.time() < deadline, "the shown native pixel did not follow the click"
        time.sleep(0.3)
    _settle(page)
    return _native(page)


def open_local_distribution(server: str, page) -> None:
    """Open the inspector the way a user comes in: Home first (it loads the models), then /local."""
    page.goto(server)
    page.locator("h1").first.wait_for(timeout=150_000)
    _settle(page)
    page.goto(f"{server}/local")
    page.get_by_text(re.compile(r"Native pixel:")).first.wait_for(timeout=150_000)
    _settle(page)


def test_click_two_pixels_on_local_distribution(server, page):
    open_local_distribution(server, page)
    image = page.frame_locator("iframe").first.locator("img")
    image.wait_for(timeout=60_000)
    shown_w, shown_h = image.evaluate("e => [e.width, e.height]")
    start, table0 = _native(page), _weights(page)

    first = _click_and_wait(page, image, 120, 60, start)
    table1 = _weights(page)
    assert first == (math.floor(120 * 2048 / shown_w), math.floor(60 * 1024 / shown_h))
    assert table1 != table0
    assert (
        f"display (120, 60) of {shown_w}×{shown_h}" in page.locator("p", has_text="Point:").first.inner_text()
    )

    # The clickable image is redrawn with the window at the new pixel; find it again.
    image = page.frame_locator("iframe").first.locator("img")
    second = _click_and_wait(page, image, shown_w - 40, shown_h - 30, first)
    assert second == (
        math.floor((shown_w - 40) * 2048 / shown_w),
        math.floor((shown_h - 30) * 1024 / shown_h),
    )
    assert _weights(page) != table1
    assert f"x={second[0]}" in page.url and f"y={second[1]}" in page.url
    page.screenshot(path=str(SHOTS / "local.png"), full_page=True)


@pytest.mark.parametrize("name", ["home", "compare", "boundary"])
def test_screenshot_pages(server, page, name):
    page.goto(f"{server}/{PAGES[name]}")
    page.locator("h1").first.wait_for(timeout=150_000)
    _settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    # Plotly draws after the page settles: wait for every chart's drawing, or the shot shows blank panels.
    charts = page.locator('[data-testid="stPlotlyChart"]')
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        charts.nth(i).locator(".main-svg").first.wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if name == "compare":
        # Exports are drawn on click (a deferred download): the first PDF is the side-by-side figure.
        with page.expect_download(timeout=120_000) as download:
            page.get_by_role("button", name="PDF").first.click()
        assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
        assert download.value.suggested_filename.endswith(".pdf")
