"""The Mechanisms page under AppTest: no store, a store without a mechanism pair, and a page with data.

The store is real (SQLite, two one-image evaluation runs at 64×128). Only the data test replaces
``gald_viz.ui.compute.mechanism_report_for`` with a function returning the hand-made report of
tests/test_views_mechanisms.py, until the report module is merged into this branch.
"""

from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest
from test_views_mechanisms import make_inputs, make_report

from gald_viz.jobs import run_job
from gald_viz.store import ResultsStore
from gald_viz.ui import compute
from gald_viz.views import mechanisms as mv
from gald_viz.viz.mechanism_figures import NOT_ESTABLISHED

ROOT = Path(__file__).resolve().parent.parent
PAGE = "app_pages/mechanisms.py"
TIMEOUT = 120
DATA = "synthcity:val:size=64x128"


@pytest.fixture(scope="module")
def pair_db(tmp_path_factory):
    """A results database with one GA-only run and one GALD run on the same data (one image each)."""
    db = tmp_path_factory.mktemp("mech") / "pair.sqlite"
    for model in ("synthcity/aspp", "synthcity/aspp_ldv2"):
        run_job(model, DATA, limit=1, device="cpu", db=db, progress=False)
    return db


def open_page(db, path: str = PAGE, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    at.text_input(key="mech.db").set_value(str(db)).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_page_without_a_store_says_how_to_make_one(tmp_path):
    at = open_page(tmp_path / "none.sqlite")
    assert any("no results database yet" in t and "evaluate mechanisms" in t for t in texts(at.info))
    assert not at.get("plotly_chart")


def test_store_without_a_mechanism_pair_says_so(tmp_path):
    ResultsStore(tmp_path / "empty.sqlite").close()
    at = open_page(tmp_path / "empty.sqlite")
    assert any("no pair of a GA-only run and a GALD run" in t for t in texts(at.info))
    assert not at.get("plotly_chart")


def test_a_real_stored_pair_is_drawn(pair_db):
    at = open_page(pair_db)
    assert at.selectbox(key="mech.ga_run").options and at.selectbox(key="mech.gald_run").options
    assert not at.exception
    assert at.get("plotly_chart") or at.warning  # drawn, or what is missing is said


@pytest.fixture
def hand_made(monkeypatch):
    """The page's compute function returns the hand-made report (this test module only)."""
    calls = []

    def fake(db_path, store, ga_run, gald_run, *, bootstrap, seed):
        calls.append((ga_run, gald_run, bootstrap, seed))
        return make_inputs()

    monkeypatch.setattr(compute, "mechanism_report_for", fake)
    return calls


def test_page_with_data_shows_figures_tables_and_ranked_images(pair_db, hand_made):
    at = open_page(pair_db)
    store = ResultsStore(pair_db, read_only=True)
    runs = store.runs().set_index("run_id")
    store.close()
    ga_run, gald_run = at.selectbox(key="mech.ga_run").value, at.selectbox(key="mech.gald_run").value
    assert runs.loc[ga_run, "ld_kind"] == "none" and runs.loc[gald_run, "ld_kind"] == "ldv2"
    assert hand_made[-1] == (ga_run, gald_run, 2000, 0)

    view = mv.mechanisms_view(make_inputs())
    assert len(at.get("plotly_chart")) == sum(s.figure is not None for s in view.sections) == 9
    assert view.provenance in texts(at.caption)
    tables = [d.value for d in at.dataframe]
    knockouts = next(t for t in tables if "knock-out" in t.columns)
    assert NOT_ESTABLISHED in set(knockouts["verdict"]) and len(knockouts) == 6
    diffs = next(t for t in tables if "knock-out" not in t.columns and "verdict" in t.columns)
    assert list(diffs["verdict"]) == [NOT_ESTABLISHED, "GALD higher", "GALD lower"]
    assert any(t.startswith("Click a band point") for t in texts(at.info))

    # A click on a band point (the chart's callback stores the selection) ranks images there.
    at.session_state["mech.selected"] = mv.Selection("band", 1, "8–16 px")
    at.number_input(key="mech.seed").set_value(3).run()
    assert not at.exception
    assert hand_made[-1][3] == 3
    markdown = texts(at.markdown)
    assert (
        "**Images with GALD's largest gain in the 8–16 px band** (GALD minus GA, percentage points)"
        in markdown
    )
    assert markdown.index("`c`") < markdown.index("`a`") < markdown.index("`b`")
    assert "+3.00 pp" in markdown
    # A page run on its own has no navigation: its links are the target views' whole permalinks.
    links: dict[str, str] = {}  # label → the first (top-ranked) row's link
    for m in markdown:
        if m.startswith("["):
            links.setdefault(m[1 : m.index("]")], m[m.index("(") + 1 : -1])
    view = {
        "data": "synthcity:val:count=20",
        "image": "c",
        "ga": "synthcity/aspp",
        "gald": "synthcity/aspp_ldv2",
    }
    for label, page in (("Compare", "compare"), ("Inspector", "local")):
        path, query = links[label].split("?")
        assert path == page and dict(parse_qsl(query)) == {"page": page, **view, "threshold": "3"}
    at.segmented_control(key="mech.order").set_value("loss").run()
    markdown = texts(at.markdown)
    assert markdown.index("`b`") < markdown.index("`a`") < markdown.index("`c`")


def test_missing_parts_show_sentences_under_the_page(pair_db, monkeypatch):
    report = make_report(ldv1=False, interventions=False)
    monkeypatch.setattr(compute, "mechanism_report_for", lambda *a, **k: make_inputs(report))
    at = open_page(pair_db)
    info = texts(at.info)
    assert sum(t.startswith("No LDv1 statistics") for t in info) == 2
    assert any(t.startswith("No knock-outs in this report") for t in info)
    assert len(at.get("plotly_chart")) == 7


def test_compute_glue_reads_the_pair_from_the_store(pair_db, monkeypatch):
    """mechanism_report_for hands the report module the real store and pair, and adds what the view needs."""
    from gald_viz.metrics import runs as run_tables

    calls = []
    monkeypatch.setattr(
        compute,
        "mechanism_report",
        lambda store, ga, gald, **k: calls.append(("report", ga, gald, k)) or make_report(),
    )
    monkeypatch.setattr(
        compute,
        "ranked_images",
        lambda store, ga, gald, **k: calls.append(("rank", ga, gald, k)) or [("x", 0.1)],
    )
    store = ResultsStore(pair_db, read_only=True)
    runs = store.runs().set_index("run_id")
    ga_run = runs.index[runs["ld_kind"] == "none"][0]
    gald_run = runs.index[runs["ld_kind"] == "ldv2"][0]
    inputs = compute.mechanism_report_for(str(pair_db), store, ga_run, gald_run, bootstrap=300, seed=5)
    assert calls[0] == ("report", ga_run, gald_run, {"bootstrap": 300, "seed": 5})
    assert inputs.report == make_report() and (inputs.bootstrap, inputs.seed) == (300, 5)
    assert inputs.images == ["synthcity_000000_000000"]
    info = store.run(gald_run)
    # At 64×128 (diagonal 143 px) every Table V fraction rounds up to a 1 px radius.
    fractions = ["0.00088", "0.001875", "0.00375", "0.005"]
    assert inputs.thresholds == [f"1 px ({f} diag)" for f in fractions]
    for role, run in (("ga", ga_run), ("gald", gald_run)):
        table = run_tables.table_v(store, run)
        want = table.loc[table["metric"] == "boundary_f", ["road", "sidewalk", "car"]].to_numpy()
        assert inputs.boundary_f[role].shape == (len(info["thresholds"]), 3)
        assert (inputs.boundary_f[role] == want).all()
    assert inputs.models == {"ga": "synthcity/aspp", "gald": "synthcity/aspp_ldv2"}
    assert list(inputs.rank(1, None)) == [("x", 0.1)]
    assert calls[-1] == ("rank", ga_run, gald_run, {"band": 1, "class_id": None})
    store.close()


@pytest.fixture(scope="module")
def mechanism_db(tmp_path_factory):
    """A GA/GALD pair stored by the real mechanism job (two 64×128 images, two knock-outs)."""
    from gald_viz.mechanisms.plan import MechanismPlan

    db = tmp_path_factory.mktemp("mech_real") / "pair.sqlite"
    run_job("synthcity/aspp", DATA, limit=2, device="cpu", db=db, progress=False, mechanisms=MechanismPlan())
    plan = MechanismPlan(interventions=("ldv2.kernel=uniform", "context=off"))
    run_job("synthcity/aspp_ldv2", DATA, limit=2, device="cpu", db=db, progress=False, mechanisms=plan)
    return db


def test_the_real_report_of_a_stored_pair_is_drawn(mechanism_db):
    """No hand-made report: the page draws what the job stored, with intervals and the knock-out table."""
    at = open_page(mechanism_db)
    at.number_input(key="mech.bootstrap").set_value(200).run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.get("plotly_chart")) >= 6
    shown = " ".join(str(t.value) for t in at.table) + " ".join(str(d.value) for d in at.dataframe)
    assert "ldv2.kernel=uniform" in shown and "context=off" in shown
