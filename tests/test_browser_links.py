"""Links in a real browser: a fresh server's very first request, permalinks, and where the server listens.

- A fresh ``streamlit run app.py`` is opened at a deep link (its first request ever). Every link the
  sidebar shows at any moment (recorded by a MutationObserver from the first paint on, so links shown
  only briefly count too) must be one of the app's pages, no "Page not found" may appear, and every
  link must open its page.
- A view changed in one browser context (data count, image past the default count, models, tolerance,
  inspected model, feature view, a clicked pixel) is copied by its URL into a new context, which must
  show the same view and no "could not be restored" warning.
- Without ``--server.address`` the server binds to loopback only (``.streamlit/config.toml``).

Needs /usr/bin/chromium (Playwright's own browser download is never used).
"""

import os
import re
import socket
import subprocess
import time
import tomllib
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_browser import streamlit_server

from gald_viz.views.pages import PAGES

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
NEEDS_CHROMIUM = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing")

# Records every same-origin link ever shown in the sidebar navigation and any "Page not found" text.
RECORDER = """
window.__links = new Set(); window.__notFound = false;
new MutationObserver(() => {
  document.querySelectorAll('[data-testid="stSidebarNav"] a[href], [data-testid="stSidebar"] a[href]')
    .forEach(a => window.__links.add(a.getAttribute('href')));
  if (document.body && document.body.innerText.includes('Page not found')) window.__notFound = true;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@contextmanager
def _server(*extra: str):
    """A fresh ``streamlit run app.py`` (its own process, so its first request is a fresh server's)."""
    log_path = SHOTS / f"server_links_{os.getpid()}_{time.monotonic_ns()}.log"
    with streamlit_server(log_path, *extra) as running:
        yield running


@contextmanager
def _browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _settle(page, timeout: float = 180) -> None:
    """Wait until the app has finished running (no spinner or running indicator for a moment)."""
    deadline = time.time() + timeout
    quiet = 0
    while quiet < 4:
        assert time.time() < deadline, "the app kept running"
        busy = page.locator('[data-testid="stSpinner"], [data-testid="stStatusWidget"]').count()
        quiet = 0 if busy else quiet + 1
        time.sleep(0.4)


def _page_urls() -> dict[str, str]:
    """Page id → the URL path st.navigation gives it (Home is the root)."""
    return {p.id: "" if i == 0 else p.id for i, p in enumerate(PAGES)}


@pytest.mark.browser
@NEEDS_CHROMIUM
def test_every_link_on_a_fresh_servers_first_request_works():
    paths = _page_urls()
    with _server("--server.address", "127.0.0.1") as (url, _, _), _browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.add_init_script(RECORDER)
        # The server's very first request is a deep link to a page other than Home.
        page.goto(f"{url}/local")
        page.get_by_text(re.compile(r"Native pixel:")).first.wait_for(timeout=180_000)
        _settle(page)
        seen = {urllib.parse.urlsplit(h).path.strip("/") for h in page.evaluate("[...window.__links]")}
        assert page.evaluate("window.__notFound") is False, "a 'Page not found' note was shown"
        assert seen, "the sidebar showed no page links"
        assert seen <= set(paths.values()), f"links to no page: {seen - set(paths.values())}"
        assert set(paths.values()) <= seen, f"pages without a link: {set(paths.values()) - seen}"
        for path in sorted(seen):
            page.goto(f"{url}/{path}")
            page.locator("h1").first.wait_for(timeout=180_000)
            _settle(page)
            title = page.locator("h1").first.inner_text()
            assert page.evaluate("window.__notFound") is False, f"/{path}: 'Page not found'"
            assert page.locator('[data-testid="stException"]').count() == 0, f"/{path} raised"
            assert title.strip(), f"/{path} has no title"


def _query(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def _inputs(page, timeout: float = 60) -> dict[str, str]:
    """Label → shown value of every input widget (selectboxes, number inputs, sliders)."""
    deadline, last = time.time() + timeout, None
    while True:
        pairs = page.evaluate(
            "[...document.querySelectorAll('input')].map(i => [i.getAttribute('aria-label'), i.value])"
        )
        shown = {label: value for label, value in pairs if label}
        if ("Image" in shown and shown == last) or time.time() > deadline:
            return shown  # the same values twice in a row: the widgets have been drawn
        last = shown
        time.sleep(1.0)


def _native(page) -> str:
    return page.locator("p", has_text="Native pixel:").first.inner_text()


@pytest.mark.browser
@NEEDS_CHROMIUM
def test_a_permalink_opens_the_same_view_in_a_new_context():
    link = {
        "page": "local",
        "data": "synthcity:val:count=25",
        "image": "synthcity_000000_000022",  # past the default 20 images: only the URL's count reaches it
        "ga": "synthcity/aspp",
        "gald": "synthcity/aspp_ldv1",
        "threshold": "9",
        "inspect": "ga",
        "features": "PCA → RGB",
    }
    with _server("--server.address", "127.0.0.1") as (url, _, _), _browser() as browser:
        first = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
        first.goto(f"{url}/local?{urllib.parse.urlencode(link)}")
        first.get_by_text(re.compile(r"Native pixel:")).first.wait_for(timeout=180_000)
        _settle(first)
        assert first.locator('[data-testid="stAlert"]', has_text="could not be restored").count() == 0
        image = first.frame_locator("iframe").first.locator("img")
        image.wait_for(timeout=60_000)
        before = _native(first)
        image.click(position={"x": 90, "y": 40})
        deadline = time.time() + 120
        while _native(first) == before:
            assert time.time() < deadline, "the click did not move the pixel"
            time.sleep(0.3)
        _settle(first)
        shared = first.url
        view = _query(first)
        assert {k: view.get(k) for k in link} == link
        assert "x" in view and "y" in view
        native = _native(first)

        second = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
        second.goto(shared)
        second.get_by_text(re.compile(r"Native pixel:")).first.wait_for(timeout=180_000)
        _settle(second)
        assert second.locator('[data-testid="stAlert"]', has_text="could not be restored").count() == 0
        assert _native(second) == native
        assert _query(second) == view
        shown = _inputs(second)
        assert shown.get("Image") == "synthcity_000000_000022", shown
        assert shown.get("SynthCity val images") == "25", shown
        assert (shown.get("GA model"), shown.get("GALD model")) == ("synthcity/aspp", "synthcity/aspp_ldv1")
        assert shown.get("GA features X_g as") == "PCA → RGB", shown
        chosen = second.locator('[data-testid="stButtonGroup"] [aria-checked="true"]')
        assert "GA model" in chosen.first.inner_text()
        second.screenshot(path=str(SHOTS / "permalink.png"), full_page=True)


def _non_loopback_addresses() -> list[str]:
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False).stdout
    return [a for a in out.split() if ":" not in a and not a.startswith("127.")]


def test_the_server_listens_on_localhost_only_by_default():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "localhost"
    with _server() as (url, port, proc):
        listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout
        bound = [line.split()[3] for line in listening.splitlines() if line.split()[3].endswith(f":{port}")]
        if bound:
            hosts = {b.rsplit(":", 1)[0].strip("[]") for b in bound}
            assert hosts <= {"127.0.0.1", "::1"}, f"port {port} is bound to {hosts}"
        for address in _non_loopback_addresses():
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((address, port)) != 0, f"the app answers on {address}:{port}"
        with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=5) as r:
            assert r.read().strip() == b"ok"
        assert bound or _non_loopback_addresses(), "nothing to check the bound address with"
