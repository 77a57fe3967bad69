"""Two users, one cached model: concurrent analyses of different images each get their own results (issue 7).

The app shares one model object between browser sessions (``st.cache_resource``). Forward hooks are
per module, so a tap recorder on the shared model would also see the other session's forward unless
every hooked forward runs under the model's lock (:func:`gald_viz.analysis.model_lock`). These tests run
analyses of images of different sizes at the same time (a mixed-up tap then shows as a wrong shape or
value) and compare every result with the same analysis run alone.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from gald_viz.analysis import Analysis, analyse, model_lock
from gald_viz.checkpoints import save_model
from gald_viz.hooks import FeatureRecorder
from gald_viz.inference import forward_padded, model_input, predict
from gald_viz.models import build_model
from gald_viz.ui import sidebar, state

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 4


def smooth_image(height: int, width: int, seed: int) -> np.ndarray:
    coarse = np.random.default_rng(seed).integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)


# Different sizes, so a tap recorded from the other image cannot go unnoticed.
IMAGES = {"a": smooth_image(96, 160, 1), "b": smooth_image(144, 224, 2)}


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("aspp_ldv2", head_channels=16, input_scale=0.5).eval()


@pytest.fixture(scope="module")
def alone(model) -> dict[str, Analysis]:
    return {key: analyse(model, image, device="cpu") for key, image in IMAGES.items()}


def assert_same_analysis(got: Analysis, want: Analysis) -> None:
    assert got.native_size == want.native_size and got.feature_size == want.feature_size
    np.testing.assert_array_equal(got.pred, want.pred)
    np.testing.assert_allclose(
        got.confidence.astype(np.float32), want.confidence.astype(np.float32), atol=1e-3
    )
    np.testing.assert_allclose(got.affinity, want.affinity, rtol=1e-5, atol=1e-6)
    assert got.maps.keys() == want.maps.keys() and got.probe_preds.keys() == want.probe_preds.keys()
    for name in want.maps:
        np.testing.assert_allclose(got.maps[name], want.maps[name], rtol=1e-5, atol=1e-5)
    for name in want.probe_preds:
        np.testing.assert_array_equal(got.probe_preds[name], want.probe_preds[name])


def run_together(*jobs):
    """Run each job ROUNDS times on its own thread, all starting at once; results per job."""
    start = threading.Barrier(len(jobs))

    def loop(job):
        start.wait()
        return [job() for _ in range(ROUNDS)]

    with ThreadPoolExecutor(len(jobs)) as pool:
        return [f.result() for f in [pool.submit(loop, job) for job in jobs]]


def test_two_threads_analyse_different_images_with_one_model(model, alone):
    got_a, got_b = run_together(
        lambda: analyse(model, IMAGES["a"], device="cpu"), lambda: analyse(model, IMAGES["b"], device="cpu")
    )
    for result in got_a:
        assert_same_analysis(result, alone["a"])
    for result in got_b:
        assert_same_analysis(result, alone["b"])
    assert all(not m._forward_hooks for m in model.modules())


def test_feature_recorder_under_the_lock_next_to_an_analysis(model, alone):
    """What the Local distribution page does for full GA features, beside another session's analysis."""
    x = model_input(model, IMAGES["b"])
    with torch.inference_mode(), FeatureRecorder(model, ["ga"]) as rec:
        forward_padded(model, x)
    ga_alone = rec["ga"]

    def record_ga() -> torch.Tensor:
        with model_lock(model), torch.inference_mode(), FeatureRecorder(model, ["ga"]) as r:
            forward_padded(model, x)
        return r["ga"]

    got_a, got_ga = run_together(lambda: analyse(model, IMAGES["a"], device="cpu"), record_ga)
    for result in got_a:
        assert_same_analysis(result, alone["a"])
    for ga in got_ga:
        assert ga.shape == ga_alone.shape
        torch.testing.assert_close(ga, ga_alone)


def test_predict_on_one_thread_does_not_leak_into_an_analysis_on_another(model, alone):
    """Deterministic interleaving: predict(b) runs while analyse(a) has its hooks on the model."""
    pred_b = predict(model, IMAGES["b"], device="cpu")
    a_forward_done, b_done = threading.Event(), threading.Event()
    thread_a: list[int] = []

    def hold_analysis_open(_module, _inputs, _output) -> None:
        # Runs at the end of analyse's forward, inside its FeatureRecorder: let predict(b) run now.
        if thread_a and threading.get_ident() == thread_a[0]:
            a_forward_done.set()
            b_done.wait(timeout=3)  # a locked predict cannot start before the analysis ends

    def run_a() -> Analysis:
        thread_a.append(threading.get_ident())
        return analyse(model, IMAGES["a"], device="cpu")

    def run_b() -> np.ndarray:
        a_forward_done.wait(timeout=30)
        try:
            return predict(model, IMAGES["b"], device="cpu")
        finally:
            b_done.set()

    handle = model.register_forward_hook(hold_analysis_open)
    try:
        with ThreadPoolExecutor(2) as pool:
            got_a, got_b = pool.submit(run_a), pool.submit(run_b)
            got_a, got_b = got_a.result(), got_b.result()
    finally:
        handle.remove()
    np.testing.assert_array_equal(got_b, pred_b)
    assert_same_analysis(got_a, alone["a"])


# -- two app sessions -------------------------------------------------------------------------------------
@pytest.fixture
def app_models(monkeypatch, tmp_path_factory):
    """Tiny random-init GA and GALD checkpoints as the app's defaults (no bundled weights needed)."""
    folder = tmp_path_factory.mktemp("concurrency_models")
    torch.manual_seed(0)
    paths = {
        arch: str(
            save_model(build_model(arch, head_channels=16, input_scale=0.25), folder / f"{arch}.safetensors")
        )
        for arch in ("aspp", "aspp_ldv2")
    }
    for module in (state, sidebar):
        monkeypatch.setattr(module, "DEFAULT_GA_MODEL", paths["aspp"])
        monkeypatch.setattr(module, "DEFAULT_GALD_MODEL", paths["aspp_ldv2"])
    return paths


def local_distribution_session(image: str) -> AppTest:
    """A Local distribution session on ``image`` that also records the full GA features (PCA view)."""
    at = AppTest.from_file(str(ROOT / "app_pages" / "local_distribution.py"), default_timeout=120)
    at.query_params["image"] = image
    at.session_state["ld.ga_view"] = "PCA → RGB"
    return at


def what_it_shows(at: AppTest) -> dict:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return {
        "image": at.selectbox(key="sb.image").value,
        "markdown": [m.value for m in at.markdown],
        "captions": [c.value for c in at.caption],
        "weights": at.table[0].value.to_numpy(),
        "readout": [d.value.to_dict() for d in at.dataframe],
    }


def test_two_app_sessions_on_one_cached_model(app_models):
    images = ["synthcity_000000_000001", "synthcity_000000_000003"]
    st.cache_data.clear()
    sessions = [local_distribution_session(name) for name in images]
    start = threading.Barrier(2)

    def run(at: AppTest) -> AppTest:
        start.wait()
        return at.run()

    with ThreadPoolExecutor(2) as pool:
        together = [what_it_shows(at) for at in pool.map(run, sessions)]
    st.cache_data.clear()
    for name, shown in zip(images, together, strict=True):
        alone = what_it_shows(local_distribution_session(name).run())
        assert shown["image"] == alone["image"] == name
        np.testing.assert_allclose(shown["weights"], alone["weights"], atol=1e-6)
        assert shown["markdown"] == alone["markdown"] and shown["captions"] == alone["captions"]
        assert shown["readout"] == alone["readout"]
    assert not np.allclose(together[0]["weights"], together[1]["weights"])
