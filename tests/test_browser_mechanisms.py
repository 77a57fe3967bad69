"""Real-browser test of the Mechanisms page: a stored mechanism run, a click on a band, then Compare.

The test stores a GA/GALD pair with the real job (``python -m gald_viz.evaluate mechanisms``, two
SynthCity scenes at 64×128), starts ``streamlit run app.py`` (the server and browser fixtures of
tests/test_browser.py), opens the Mechanisms page on that database, clicks a point of the first band
curve, then the first ranked image's Compare button, and checks that the Compare page shows that image.
Screenshots go to screenshots/ (git-ignored).
"""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_browser import CHROMIUM, ROOT, SHOTS, _settle, page, server  # noqa: F401 (fixtures)

DATA = "synthcity:val:size=64x128"
IMAGE_NAME = re.compile(r"^synthcity_\d{6}_\d{6}$")

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


def _ranked_images(browser_page) -> list[str]:
    codes = browser_page.locator('[data-testid="stMarkdownContainer"] code').all_inner_texts()
    return [c for c in codes if IMAGE_NAME.match(c.strip())]


def test_click_a_band_then_open_the_image_on_compare(server, page, mechanism_db):  # noqa: F811
    # The first run of a fresh server goes through Streamlit's legacy pages/ discovery; Home warms it up.
    page.goto(server)
    page.locator("h1").first.wait_for(timeout=150_000)
    _settle(page)
    page.goto(f"{server}/mechanisms")
    page.get_by_text("Mechanisms", exact=True).first.wait_for(timeout=150_000)
    _settle(page)
    field = page.get_by_label("Results database")
    field.fill(str(mechanism_db))
    field.press("Enter")
    _settle(page)
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

    page.get_by_role("button", name="Compare", exact=True).first.click()
    page.get_by_role("heading", name="Compare GA and GALD").first.wait_for(timeout=150_000)
    _settle(page)
    assert page.get_by_text(first).count() >= 1  # the ranked image is the one Compare shows
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(SHOTS / "mechanisms_compare.png"), full_page=True)
