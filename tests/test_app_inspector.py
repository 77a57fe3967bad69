"""The inspector under AppTest: zoomed clicks land on the exact native pixel; knock-outs apply live.

streamlit-image-coordinates cannot be clicked under AppTest: a click is its session value set by hand
(docs/DESIGN.md, practical notes), in displayed pixels of the image it was set on.
"""

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "app_pages/local_distribution.py"
TIMEOUT = 180


def native_pixel(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Native pixel:**"))


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_zoomed_clicks_map_to_native_pixels_and_clicks_are_taken_once():
    at = clean(
        AppTest.from_file(str(ROOT / "app_pages/local_distribution.py"), default_timeout=TIMEOUT).run()
    )
    assert native_pixel(at) == "**Native pixel:** `x=1024, y=512`"
    window = dict(at.session_state["ld.zoom_window"])
    # ×4 by default: 384×256 screen px show 96×64 native px centred on the point.
    assert window == {"left": 976, "top": 480, "width": 96, "height": 64, "factor": 4}
    at.session_state["ld.zoom_click"] = {"x": 9, "y": 255, "width": 384, "height": 256}
    clean(at.run())
    # 976 + floor(9·96/384) = 978, 480 + floor(255·64/256) = 543.
    assert native_pixel(at) == "**Native pixel:** `x=978, y=543`"
    assert at.query_params["x"] == "978" and at.query_params["y"] == "543"
    assert dict(at.session_state["ld.zoom_window"])["left"] == 978 - 48
    # A crop shown smaller by the browser: the same click fraction, the same native pixel.
    at.session_state["ld.zoom_click"] = {"x": 100, "y": 10, "width": 192, "height": 128}
    clean(at.run())
    assert native_pixel(at) == "**Native pixel:** `x=980, y=516`"  # 930 + 50, 511 + 5
    # A click on the main image, then a zoom factor change: the earlier zoom click is not taken again.
    at.session_state["ld.click"] = {"x": 100, "y": 50, "width": 512, "height": 256}
    clean(at.run())
    assert native_pixel(at) == "**Native pixel:** `x=400, y=200`"
    at.selectbox(key="ld.zoom").set_value(16)
    clean(at.run())
    assert native_pixel(at) == "**Native pixel:** `x=400, y=200`"
    window = dict(at.session_state["ld.zoom_window"])
    assert window == {"left": 388, "top": 192, "width": 24, "height": 16, "factor": 16}
    at.session_state["ld.zoom_click"] = {"x": 383, "y": 0, "width": 384, "height": 256}
    clean(at.run())
    assert native_pixel(at) == "**Native pixel:** `x=411, y=192`"


def test_knockout_applies_live_with_score_changes():
    at = clean(
        AppTest.from_file(str(ROOT / "app_pages/local_distribution.py"), default_timeout=TIMEOUT).run()
    )
    assert at.selectbox(key="ld.knockout").options == [
        "none",
        "ldv2.kernel=uniform",
        "ldv2.kernel=centre",
        "context=off",
    ]
    at.selectbox(key="ld.knockout").set_value("context=off")
    clean(at.run())
    table = next(d.value for d in at.dataframe if "Δ (points)" in d.value.columns)
    assert list(table["score"])[:2] == ["mIoU", "mean boundary F @ 3 px"]
    for _, row in table.iterrows():
        delta = float(row["knocked out (%)"]) - float(row["intact (%)"])
        assert abs(delta - float(row["Δ (points)"])) <= 0.011
    assert any("one forward under gald_viz.interventions.intervene" in c.value for c in at.caption)
