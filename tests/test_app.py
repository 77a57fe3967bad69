"""AppTest smoke and interaction tests of app.py and every page, on the embedded default.

The default is SynthCity val at 1024×2048 with the bundled ``synthcity/aspp`` (GA) and
``synthcity/aspp_ldv2`` (GALD) models. Models and analyses are cached per process (st.cache_resource /
st.cache_data), so only the first test pays for the forward passes.
"""

import os
from pathlib import Path
from urllib.parse import parse_qsl

import cv2
import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gald_viz.checkpoints import save_model
from gald_viz.jobs import run_job
from gald_viz.models import build_model

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "app_pages/home.py",
    "app_pages/ga_vs_gald.py",
    "app_pages/local_distribution.py",
    "app_pages/boundary_f.py",
]
TIMEOUT = 120


def run(path: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def frame(at: AppTest, column: str):
    """The first table on the page with this column (st.dataframe keys are not visible to AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def native_pixel(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Native pixel:**"))


def test_router_opens_home_with_defaults():
    at = run("app.py")
    assert_clean(at)
    assert "GALD" in markdown_text(at)
    models = at.dataframe[0].value
    assert list(models.index) == ["synthcity/aspp", "synthcity/aspp_ldv2"]
    assert models.loc["synthcity/aspp_ldv2", "local distribution"] == "ldv2"
    assert at.query_params["page"] == "home"


def test_router_opens_the_page_a_link_names():
    at = run("app.py", page="local", x="64", y="32")
    assert_clean(at)
    assert native_pixel(at) == "**Native pixel:** `x=64, y=32`"
    assert at.query_params["page"] == "local"


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_its_own(page):
    assert_clean(run(page))


def test_compare_follows_image_model_and_threshold_widgets():
    at = run("app_pages/ga_vs_gald.py")
    assert_clean(at)
    names = at.selectbox(key="sb.image").options
    before = frame(at, "GALD fixes")
    at.selectbox(key="sb.image").set_value(names[1]).run()
    assert_clean(at)
    assert at.query_params["image"] == names[1]
    assert names[1] in at.caption[0].value
    assert not before.equals(frame(at, "GALD fixes"))

    at.selectbox(key="sb.gald_model").set_value("synthcity/aspp_ldv1").run()
    assert_clean(at)
    assert at.query_params["gald"] == "synthcity/aspp_ldv1"
    assert any("aspp_ldv1" in h.value for h in at.subheader)

    at.selectbox(key="cmp.threshold").set_value(9).run()
    assert_clean(at)
    assert at.query_params["threshold"] == "9"
    assert any(e.label == "Per class at 9 px (0.00375 diag)" for e in at.expander)


def test_local_distribution_click_moves_the_view():
    at = run("app_pages/local_distribution.py")
    assert_clean(at)
    start = native_pixel(at)
    weights0 = at.table[0].value.to_numpy()
    assert weights0.shape == (5, 5) and weights0.sum() == pytest.approx(1.0, abs=1e-4)

    at.session_state["ld.click"] = {"x": 100, "y": 50, "width": 512, "height": 256}
    at.run()
    assert_clean(at)
    # 2048 / 512 = 4 native pixels per displayed pixel.
    assert native_pixel(at) == "**Native pixel:** `x=400, y=200`" != start
    assert "display (100, 50) of 512×256 → native (400, 200) of 2048×1024" in markdown_text(at)
    assert at.query_params["x"] == "400" and at.query_params["y"] == "200"
    weights1 = at.table[0].value.to_numpy()
    assert not np.allclose(weights0, weights1)

    at.session_state["ld.click"] = {"x": 5, "y": 250, "width": 512, "height": 256}
    at.run()
    assert native_pixel(at) == "**Native pixel:** `x=20, y=1000`"
    assert not np.allclose(weights1, at.table[0].value.to_numpy())


def test_local_distribution_says_what_a_model_lacks():
    at = run("app_pages/local_distribution.py")
    at.selectbox(key="sb.gald_model").set_value("synthcity/cgnl_ldv1").run()
    assert_clean(at)
    notes = [i.value for i in at.info]
    assert any("No LDv2" in n for n in notes) and not any("No LDv1" in n for n in notes)
    assert "LDv1 mask mean at cell" in list(frame(at, "read-out")["read-out"])
    at.number_input(key="ld.mask_channel").set_value(3).run()
    assert_clean(at)

    at.segmented_control(key="ld.which").set_value("GA model").run()
    assert_clean(at)
    notes = [i.value for i in at.info]
    assert any("No LDv1" in n for n in notes) and any("No LDv2" in n for n in notes)


def test_url_reopens_the_view():
    at = AppTest.from_file(str(ROOT / "app_pages/local_distribution.py"), default_timeout=TIMEOUT)
    at.query_params.update(
        {
            "image": "synthcity_000000_000002",
            "gald": "synthcity/aspp_ldv2",
            "x": "300",
            "y": "200",
            "threshold": "5",
        }
    )
    at.run()
    assert_clean(at)
    assert at.selectbox(key="sb.image").value == "synthcity_000000_000002"
    assert native_pixel(at) == "**Native pixel:** `x=300, y=200`"
    assert at.session_state["gv.threshold"] == 5


def test_an_in_app_link_opens_its_view_and_the_sidebar_links_keep_it():
    """Under the router, what a click on an ``st.page_link`` with query parameters sends: page and query."""
    at = run("app.py")
    assert_clean(at)
    assert at.selectbox(key="sb.image").value == "synthcity_000000_000000"
    link = {
        "page": "compare",
        "data": "synthcity:val:count=20",
        "image": "synthcity_000000_000003",
        "ga": "synthcity/aspp",
        "gald": "synthcity/aspp_ldv1",
        "threshold": "9",
    }
    at.query_params = dict(link)
    at.switch_page("app_pages/ga_vs_gald.py").run()
    assert_clean(at)
    assert at.selectbox(key="sb.image").value == "synthcity_000000_000003"
    assert at.selectbox(key="sb.gald_model").value == "synthcity/aspp_ldv1"
    assert at.session_state["gv.threshold"] == 9
    assert "could not be restored" not in _warnings(at)
    assert at.query_params == link  # the page shows what its URL says: the URL is not rewritten

    # The sidebar's page links navigate with an empty query: the view stays, the URL follows it.
    at.query_params = {}
    at.switch_page("app_pages/local_distribution.py").run()
    assert_clean(at)
    assert at.selectbox(key="sb.image").value == "synthcity_000000_000003"
    assert at.query_params["page"] == "local" and at.query_params["image"] == "synthcity_000000_000003"
    # A query naming another page than the one opened, or a rerun of the same page, does not move the view.
    at.query_params = {**link, "image": "synthcity_000000_000005"}
    at.switch_page("app_pages/home.py").run()
    assert at.selectbox(key="sb.image").value == "synthcity_000000_000003"
    at.query_params = {**link, "page": "home", "image": "synthcity_000000_000005"}
    at.run()
    assert at.selectbox(key="sb.image").value == "synthcity_000000_000003"
    assert at.query_params["image"] == "synthcity_000000_000003"


def test_missing_folder_and_cuda_choice_keep_the_app_usable(tmp_path):
    at = run("app_pages/home.py")
    at.selectbox(key="sb.source").set_value("Cityscapes folder").run()
    at.text_input(key="sb.cityscapes_root").set_value(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert any("nowhere" in e.value for e in at.error)
    assert "synthcity" in markdown_text(at)
    if not torch.cuda.is_available():
        at.selectbox(key="sb.device").set_value("cuda").run()
        assert not at.exception
        assert any("CUDA" in w.value for w in at.warning)
        assert "**Device:** CPU" in markdown_text(at)


def test_boundary_page_reads_the_store_and_links_to_compare(tmp_path):
    db = tmp_path / "results.sqlite"
    for model in ("synthcity/aspp", "synthcity/aspp_ldv2"):
        run_job(model, "synthcity:val:size=256x512", limit=2, device="cpu", db=db, progress=False)
    at = run("app_pages/boundary_f.py")
    at.text_input(key="bf.db").set_value(str(db)).run()
    assert_clean(at)
    table = frame(at, "mean")
    sources = set(table.index.get_level_values("source"))
    assert any(s.startswith("store run") for s in sources) and any(s.startswith("published") for s in sources)
    assert any(c.value.startswith("Run ") and "256×512" in c.value for c in at.caption)
    # Run on its own the page has no navigation: "Open on Compare" is the picked image's whole permalink,
    # and so is each row's "open ↗" link (data and models included, not only the image).
    picked = at.selectbox(key="bf.open_image").value
    go = next(m.value for m in at.markdown if m.value.startswith("[Open on Compare](compare?"))
    query = dict(parse_qsl(go[go.index("?") + 1 : -1]))
    view = {"page": "compare", "data": "synthcity:val:count=20", "ga": "synthcity/aspp"}
    view |= {"gald": "synthcity/aspp_ldv2", "threshold": "3"}
    assert query == view | {"image": picked}
    per_image = frame(at, "open")
    assert len(per_image) == 2
    for name, link in zip(per_image["image"], per_image["open"], strict=True):
        path, query = link.split("?", 1)
        assert path == "compare" and dict(parse_qsl(query)) == view | {"image": name}
    # Both runs side by side, headed by the radius (3 px at 256×512 is 1 px), with the difference.
    delta = "Δ F (GALD − GA) @ 1 px"
    assert {"GA F @ 1 px", "GALD F @ 1 px", delta} <= set(per_image.columns)
    np.testing.assert_allclose(per_image[delta], per_image["GALD F @ 1 px"] - per_image["GA F @ 1 px"])
    assert any(m.value.startswith("Mean per-image difference GALD − GA") for m in at.markdown)

    at.multiselect(key="bf.classes").set_value(["road", "car"]).run()
    assert list(frame(at, "mean").columns) == ["mean", "road", "car"]
    at.selectbox(key="bf.sort").set_value("mean").run()
    at.selectbox(key="bf.tol").set_value(9).run()
    table = frame(at, "mean")
    assert table["mean"].is_monotonic_decreasing and len(table) == 2 + 2 + 4  # stored, live, published
    assert any(c.value.startswith("Rows at 0.00375 diag (9 px at 1024×2048) only") for c in at.caption)


def test_boundary_page_runs_an_evaluation_job(tmp_path):
    db = tmp_path / "job.sqlite"
    at = run("app_pages/boundary_f.py")
    at.text_input(key="bf.db").set_value(str(db)).run()
    assert any("no results database yet" in i.value for i in at.info)
    at.number_input(key="bf.job_images").set_value(1).run()
    at.button(key="bf.run_job").click().run()
    assert_clean(at)
    sources = set(frame(at, "mean").index.get_level_values("source"))
    assert sum(s.startswith("store run") for s in sources) == 2
    assert len(frame(at, "open")) == 1
    done = [s.value for s in at.success]
    assert len(done) == 1 and done[0].startswith("Evaluation finished. synthcity/aspp: run "), done
    assert done[0].count("1/1 images, finished") == 2 and "synthcity/aspp_ldv2: run " in done[0]


def test_boundary_page_survives_a_corrupt_store(tmp_path):
    bad = tmp_path / "broken.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    at = run("app_pages/boundary_f.py")
    at.text_input(key="bf.db").set_value(str(bad)).run()
    assert not at.exception and not at.error
    assert any("broken.sqlite" in w.value for w in at.warning)
    sources = set(frame(at, "mean").index.get_level_values("source"))
    assert any(s.startswith("live") for s in sources)


def test_a_checkpoint_rewritten_at_the_same_path_gives_fresh_results(tmp_path, monkeypatch):
    from gald_viz.ui import cache

    curves = []
    live_curve = cache.live_curve
    monkeypatch.setattr(cache, "live_curve", lambda *a, **k: curves.append(a[0]) or live_curve(*a, **k))

    path = str(tmp_path / "ga.safetensors")
    image = np.zeros((64, 128, 3), np.uint8)
    gt = np.zeros((64, 128), np.uint8)
    gt[:, 64:] = 13

    def train_to(class_id: int, stamp_s: int) -> cache.LoadedModel:
        """Write a checkpoint at ``path`` that predicts ``class_id`` everywhere, as a training run would."""
        model = build_model("aspp", head_channels=16, input_scale=0.25)
        last = model.classifier[-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.fill_(-10.0)
            last.bias[class_id] = 10.0
        save_model(model, path)
        # Two writes in one clock tick would share a modification time; the stamps here differ for sure.
        os.utime(path, ns=(stamp_s * 10**9, stamp_s * 10**9))
        return cache.loaded_model(path, "cpu", cache.path_key(path))

    first = train_to(0, 1)
    before = cache.analysis(cache.result_key("test/image", first), first, image)
    cache.tolerance_curve(cache.result_key("test/image", first), before.pred, gt)
    second = train_to(13, 2)
    assert second.key.name == first.key.name and second.key != first.key
    assert second.key.sha256 != first.key.sha256 and second.key.stamp != first.key.stamp
    after = cache.analysis(cache.result_key("test/image", second), second, image)
    assert (before.pred == 0).all() and (after.pred == 13).all()
    curve_after = cache.tolerance_curve(cache.result_key("test/image", second), after.pred, gt)
    # The curve was computed again, from the new prediction (a display label as key would have hit).
    assert len(curves) == 2 and (curves[0] == 0).all() and (curves[1] == 13).all()
    # The same checkpoint again is a cache hit: no second forward, no second curve.
    again = cache.analysis(cache.result_key("test/image", second), second, image)
    np.testing.assert_array_equal(again.pred, after.pred)
    assert cache.tolerance_curve(cache.result_key("test/image", second), after.pred, gt) == curve_after
    assert len(curves) == 2


class _Upload:
    """Stands in for Streamlit's UploadedFile (AppTest cannot drive a file uploader)."""

    def __init__(self, name: str, array: np.ndarray) -> None:
        import cv2

        self.name = name
        ok, buf = cv2.imencode(".png", array[:, :, ::-1] if array.ndim == 3 else array)
        assert ok
        self._data = buf.tobytes()

    def getvalue(self) -> bytes:
        return self._data


def test_uploaded_image_and_label_map():
    from gald_viz.ui.sidebar import _uploaded_sample

    image = np.zeros((120, 240, 3), np.uint8)
    label_ids = np.full((120, 240), 7, np.uint8)  # Cityscapes labelId 7 = road
    label_ids[:, 120:] = 26  # car
    s = _uploaded_sample(_Upload("street.png", image), _Upload("street_gtFine_labelIds.png", label_ids))
    assert s.name == "street.png" and s.label[0, 0] == 0 and s.label[0, 200] == 13
    # A label map of another size is reported (st.error) and the image is shown without labels.
    assert _uploaded_sample(_Upload("street.png", image), _Upload("small.png", label_ids[:60])).label is None
    with pytest.raises(ValueError, match="broken.png"):
        bad = _Upload("broken.png", image)
        bad._data = b"\x89PNG not really"
        _uploaded_sample(bad, None)


def _png(array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", array[:, :, ::-1] if array.ndim == 3 else array)
    assert ok
    return buf.tobytes()


def test_compare_on_a_300x500_upload_picks_each_tolerance_by_its_threshold():
    """Issue 13 item 15: at 300×500 Table V's thresholds are 1/2/3/3 px; each choice shows its own column."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from test_boundary import oracle_prf  # the literal G-SCNN computation, sharing no code with the app

    from gald_viz.analysis import analyse
    from gald_viz.checkpoints import load_model
    from gald_viz.data.sources import open_source
    from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS

    scene = open_source("synthcity:val:count=1,size=300x500")[0]
    at = run("app_pages/ga_vs_gald.py")
    at.selectbox(key="sb.source").set_value("Upload an image").run()
    at.file_uploader(key="sb.upload").set_value(("street.png", _png(scene.image), "image/png"))
    at.file_uploader(key="sb.upload_label").set_value(("street_trainIds.png", _png(scene.label), "image/png"))
    at.run()
    assert_clean(at)
    pred = analyse(load_model("synthcity/aspp"), scene.image, device="cpu").pred
    literal = oracle_prf(pred, scene.label, DEFAULT_THRESHOLDS)[2]  # F, (threshold, class)
    radii = [int(np.ceil(th * np.hypot(300, 500))) for th in DEFAULT_THRESHOLDS]
    assert radii == [1, 2, 3, 3]
    seen = []
    for t, px in enumerate((3, 5, 9, 12)):
        at.selectbox(key="cmp.threshold").set_value(px).run()
        assert_clean(at)
        expected = f"Per class at {radii[t]} px ({DEFAULT_THRESHOLDS[t]:g} diag)"
        assert [e.label for e in at.expander if e.label.startswith("Per class")] == [expected]
        column = frame(at, "F GA: synthcity/aspp")["F GA: synthcity/aspp"].to_numpy()
        np.testing.assert_allclose(column, literal[t], atol=1e-12)
        seen.append(expected)
    assert len(set(seen)) == 4  # 3 px shows 0.00088 at 1 px; 5/9/12 px three other columns


def test_compare_says_what_differs_between_the_models_and_when_the_source_fell_back(tmp_path):
    at = run("app_pages/ga_vs_gald.py")
    assert_clean(at)
    assert not at.warning
    assert any(e.label.startswith("The models differ only in local distribution") for e in at.expander)
    at.selectbox(key="sb.gald_model").set_value("synthcity/fcn").run()
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("The GALD slot holds a model without local distribution (fcn)") for w in warnings)
    assert any(w.startswith("The GA heads differ (aspp vs none)") for w in warnings)
    at.selectbox(key="sb.gald_model").set_value("synthcity/cgnl_ldv1").run()
    assert [w.value for w in at.warning] == [
        "The GA heads differ (aspp vs cgnl): a GA/GALD difference mixes the head with local distribution."
    ]
    at.selectbox(key="sb.source").set_value("Cityscapes folder").run()
    at.text_input(key="sb.cityscapes_root").set_value(str(tmp_path / "nowhere")).run()
    assert not at.exception
    notice = [
        w.value for w in at.main.warning if w.value.startswith("The Cityscapes folder could not be opened")
    ]
    assert len(notice) == 1 and "Showing synthcity" in notice[0] and "not your data" in notice[0], notice


def _warnings(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


def test_a_link_carries_the_data_count_so_a_later_image_opens():
    # The default shows 20 images; without the count in the link, image 22 silently became image 0.
    at = run(
        "app.py",
        page="compare",
        data="synthcity:val:count=25",
        image="synthcity_000000_000022",
        threshold="9",
    )
    assert_clean(at)
    assert at.selectbox(key="sb.image").value == "synthcity_000000_000022"
    assert at.number_input(key="sb.synthcity_count").value == 25
    assert "could not be restored" not in _warnings(at)
    assert at.query_params["data"] == "synthcity:val:count=25"
    assert at.query_params["image"] == "synthcity_000000_000022"
    assert at.query_params["threshold"] == "9"


def test_a_link_that_cannot_be_honoured_says_what(tmp_path, monkeypatch):
    monkeypatch.setenv("GALD_VIZ_ROOTS", str(tmp_path / "only_here"))
    secret = tmp_path / "secret.safetensors"
    secret.write_bytes(b"\x00" * 8 + b"{secret}")
    at = run(
        "app_pages/local_distribution.py",
        image="synthcity_000000_000099",
        ga=str(secret),
        gald="../../etc/passwd",
        data="folders:/etc,/etc",
        threshold="7",
        x="12abc",
        y="3",
        inspect="both",
        features="everything",
    )
    assert not at.exception
    text = _warnings(at)
    assert "could not be restored" in text
    for part in (
        "image 'synthcity_000000_000099' is not among the 20 images of synthcity:val:count=20",
        f"GA model: GA model checkpoint {str(secret)!r}: outside the folders this app may open",
        "GALD model: GALD model checkpoint '../../etc/passwd': outside the folders",
        "data source 'folders:/etc,/etc': Images folder '/etc': outside the folders",
        "tolerance '7': not one of 3/5/9/12 px",
        "pixel x='12abc', y='3': not a pixel",
        "inspect 'both'",
        "features 'everything'",
    ):
        assert part in text, part
    assert "secret}" not in text and "root:" not in text
    # The view shown is the default, and the URL now says so.
    assert at.selectbox(key="sb.image").value == "synthcity_000000_000000"
    assert at.query_params["ga"] == "synthcity/aspp" and at.query_params["gald"] == "synthcity/aspp_ldv2"
    assert at.query_params["data"] == "synthcity:val:count=20"


def test_sidebar_and_store_paths_outside_the_roots_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GALD_VIZ_ROOTS", str(tmp_path / "only_here"))
    at = run("app_pages/home.py")
    at.selectbox(key="sb.source").set_value("Folder of images + labels").run()
    at.text_input(key="sb.images_dir").set_value("/etc").run()
    at.text_input(key="sb.labels_dir").set_value("/etc").run()
    assert not at.exception
    assert any("Images folder '/etc': outside the folders this app may open" in e.value for e in at.error)
    at.selectbox(key="sb.gald_model").set_value("checkpoint file…").run()
    at.text_input(key="sb.gald_path").set_value("/etc/shadow").run()
    assert any("GALD model checkpoint '/etc/shadow': outside" in e.value for e in at.error)

    db = tmp_path / "elsewhere" / "made.sqlite"
    at = run("app_pages/boundary_f.py")
    at.text_input(key="bf.db").set_value(str(db)).run()
    assert any(f"Results database {str(db)!r}: outside" in w.value for w in at.warning)
    at.number_input(key="bf.job_images").set_value(1).run()
    at.button(key="bf.run_job").click().run()
    assert not at.exception
    assert any("Evaluation failed: Results database" in e.value for e in at.error)
    assert not db.parent.exists()


def test_folder_labels_without_a_naming_convention_need_the_encoding_chosen(tmp_path):
    """Plain-named trainId PNGs: "automatic" refuses to guess; choosing trainIds shows them."""
    images, labels = tmp_path / "img", tmp_path / "lab"
    images.mkdir()
    labels.mkdir()
    label = np.zeros((40, 64), np.uint8)
    label[:, 32:] = 13  # car: a trainId that is also a valid labelId (13 = wall), so values cannot decide
    cv2.imwrite(str(images / "x.png"), np.full((40, 64, 3), 90, np.uint8))
    cv2.imwrite(str(labels / "x.png"), label)
    at = run("app_pages/home.py")
    at.selectbox(key="sb.source").set_value("Folder of images + labels").run()
    at.text_input(key="sb.images_dir").set_value(str(images))
    at.text_input(key="sb.labels_dir").set_value(str(labels)).run()
    assert any("x.png" in e.value for e in at.error)  # refused, with the file named
    at.selectbox(key="sb.label_encoding").set_value("trainId").run()
    assert_clean(at)
    assert not at.warning
    assert at.query_params["data"] == f"folders:{images},{labels},trainId"
