"""Real-browser tests of the jumps to Compare: from the Mechanisms page and from Boundary F-scores.

The tests store a GA/GALD pair with the real job (``python -m gald_viz.evaluate mechanisms``, two
SynthCity scenes at 64×128), start ``streamlit run app.py`` (the server and browser fixtures of
tests/test_browser.py), and open a page on that database: on Mechanisms they click a point of the first
band curve, then the first ranked image's Compare link; on Boundary F-scores they pick the other image
under "Open here" and click "Open on Compare". Each checks that Compare shows that image, that the
browser's URL took Compare's path and that view's query in one history step (every URL the page set on
the way is recorded), that Back returns to the page left, and that the URL opened in a new browser
context shows the same view. Screenshots go to screenshots/ (git-ignored).
"""

import importlib.util
import json
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from test_browser import CHROMIUM, ROOT, SHOTS, _settle, page, server  # noqa: F401 (fixtures)
from test_browser_links import _inputs

DATA = "synthcity:val:size=64x128"
IMAGE_NAME = re.compile(r"^synthcity_\d{6}_\d{6}$")
COMPARE = "Compare GA and GALD"

# Records every URL the app gives the page (history.pushState/replaceState) in window.__urls.
URL_RECORDER = """
window.__urls = [];
for (const name of ["pushState", "replaceState"]) {
  const original = history[name].bind(history);
  history[name] = (state, title, url) => {
    window.__urls.push(new URL(url, location.href).href);
    return original(state, title, url);
  };
}
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("gald_viz.mechanisms.report") is None,
        reason="needs the mechanism job (merge)",
    ),
]


@pytest.fixture(scope="module")
def mechanism_db(tmp_path_factory):
    """A results database written by the real mechanism job, and its JSON report."""
    out = tmp_path_factory.mktemp("mechanisms")
    db, report = out / "results.sqlite", out / "mechanisms.json"
    command = [
        sys.executable,
        "-m",
        "gald_viz.evaluate",
        "mechanisms",
        "--ga",
        "synthcity/aspp",
        "--gald",
        "synthcity/aspp_ldv2",
        "--data",
        DATA,
        "--limit",
        "2",
        "--db",
        str(db),
        "--json",
        str(report),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["n_images"] == 2 and data["data"].startswith("synthcity:val")
    return db


@pytest.fixture(scope="module", autouse=True)
def _record_urls(page):  # noqa: F811
    """The module's browser page records every URL the app gives it."""
    page.add_init_script(URL_RECORDER)


def _ranked_images(browser_page) -> list[str]:
    codes = browser_page.locator('[data-testid="stMarkdownContainer"] code').all_inner_texts()
    return [c for c in codes if IMAGE_NAME.match(c.strip())]


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def _main_link(browser_page, target: str):
    """The first in-page link (``st.page_link``, not the sidebar's navigation) to page id ``target``."""
    main = browser_page.locator('[data-testid="stMain"]')
    return main.locator(f'[data-testid="stPageLink-NavLink"][href*="{target}?page={target}&"]').first


def _open_database(browser_page, url: str, path: str, db: Path) -> None:
    browser_page.goto(f"{url}/{path}")
    browser_page.locator("h1").first.wait_for(timeout=150_000)
    _settle(browser_page)
    field = browser_page.get_by_label("Results database")
    field.fill(str(db))
    field.press("Enter")
    _settle(browser_page)


def _jump_to_compare(browser_page, link, image: str, shot: str) -> dict[str, str]:
    """Click ``link``; check Compare shows ``image`` and the URL, its history and a fresh open of it."""
    left = browser_page.url
    assert urllib.parse.urlsplit(left).path != "/compare"
    href = link.get_attribute("href")
    browser_page.evaluate("window.__urls = []")
    link.click()
    browser_page.get_by_role("heading", name=COMPARE).first.wait_for(timeout=150_000)
    _settle(browser_page)
    assert browser_page.get_by_text(image).count() >= 1  # the image is the one Compare shows
    assert browser_page.locator('[data-testid="stException"]').count() == 0
    assert browser_page.locator('[data-testid="stAlert"]', has_text="could not be restored").count() == 0
    browser_page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)

    url = browser_page.url
    view = _query(url)
    assert urllib.parse.urlsplit(url).path == "/compare", url
    assert view["page"] == "compare" and view["image"] == image, view
    assert {"data", "ga", "gald", "threshold"} <= set(view), view
    assert _query(urllib.parse.urljoin(left, href)) == view  # the link's own address is that permalink
    # One history step, straight to Compare's path and query (never the new view under the old path).
    assert browser_page.evaluate("window.__urls") == [url]
    assert _inputs(browser_page).get("Image") == image

    browser_page.go_back()
    browser_page.wait_for_url(left, timeout=60_000)
    browser_page.locator("h1").first.wait_for(timeout=150_000)
    _settle(browser_page)
    assert browser_page.url == left

    fresh = browser_page.context.browser.new_context(viewport={"width": 1500, "height": 2600}).new_page()
    try:
        fresh.goto(url)
        fresh.get_by_role("heading", name=COMPARE).first.wait_for(timeout=150_000)
        _settle(fresh)
        assert fresh.locator('[data-testid="stAlert"]', has_text="could not be restored").count() == 0
        assert _inputs(fresh).get("Image") == image
        assert _query(fresh.url) == view and urllib.parse.urlsplit(fresh.url).path == "/compare"
        fresh.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
        fresh.screenshot(path=str(SHOTS / f"{shot}_reopened.png"), full_page=True)
    finally:
        fresh.context.close()
    return view


def test_click_a_band_then_open_the_image_on_compare(server, page, mechanism_db):  # noqa: F811
    # The first run of a fresh server goes through Streamlit's legacy pages/ discovery; Home warms it up.
    page.goto(server)
    page.locator("h1").first.wait_for(timeout=150_000)
    _settle(page)
    _open_database(page, server, "mechanisms", mechanism_db)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.wait_for(timeout=150_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Click a band point or a class bar").count() >= 1
    page.screenshot(path=str(SHOTS / "mechanisms.png"), full_page=True)

    # Click the first band point of the first curve (accuracy by band).
    chart.scroll_into_view_if_needed()
    chart.locator("g.scatterlayer path.point").first.click(force=True)
    title = page.get_by_text(re.compile(r"Images with GALD's largest gain in the .* band"))
    title.first.wait_for(timeout=120_000)
    _settle(page)
    ranked = _ranked_images(page)
    assert ranked, "no ranked image is listed after the click"
    first = ranked[0].strip()
    page.screenshot(path=str(SHOTS / "mechanisms_ranked.png"), full_page=True)
    assert _query(page.url)["page"] == "mechanisms"

    link = _main_link(page, "compare")
    assert link.inner_text().strip().endswith("Compare")
    _jump_to_compare(page, link, first, "mechanisms_compare")


def test_boundary_f_opens_the_picked_image_on_compare(server, page, mechanism_db):  # noqa: F811
    _open_database(page, server, "boundary", mechanism_db)
    go = _main_link(page, "compare")
    go.wait_for(timeout=150_000)
    assert go.inner_text().strip().endswith("Open on Compare")
    shown = _query(page.url)["image"]
    # Pick the image that is not the one shown, so the jump has to change the view.
    picker = page.locator('input[aria-label="Open here"]')
    picker.scroll_into_view_if_needed()
    picker.click()
    options = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
    other = next(o for o in options if IMAGE_NAME.match(o) and o != shown)
    page.get_by_role("option", name=other, exact=True).click()
    _settle(page)
    assert other in go.get_attribute("href")
    page.screenshot(path=str(SHOTS / "boundary_open_here.png"), full_page=True)

    view = _jump_to_compare(page, go, other, "boundary_compare")
    assert view["threshold"] == "3"
