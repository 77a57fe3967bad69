"""FeatureRecorder (contract 2): checks names up front, records detached CPU tensors, always unhooks."""

from __future__ import annotations

import pytest
import torch

from gald_viz.hooks import FeatureRecorder, TapError, TapInfo, available_taps
from gald_viz.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return build_model("cgnl_ldv1", num_classes=4, head_channels=32).eval()


def hook_count(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_available_taps_describe_the_model(model: torch.nn.Module) -> None:
    taps = available_taps(model)
    assert all(isinstance(t, TapInfo) for t in taps)
    assert [t.name for t in taps] == [
        "backbone",
        "ga",
        "ldv1.mask",
        "ld",
        "logits",
        "probe.backbone",
        "probe.ga",
    ]
    assert all(t.meaning and t.stride == 8 for t in taps)


def test_records_detached_cpu_tensors_and_unhooks(model: torch.nn.Module) -> None:
    x = torch.randn(1, 3, 64, 64, requires_grad=True)
    with FeatureRecorder(model, ["ga", "ldv1.mask"]) as rec:
        assert hook_count(model) == 2
        out = model(x)
    assert hook_count(model) == 0
    assert out.requires_grad and not rec["ga"].requires_grad
    assert rec["ga"].device.type == "cpu" and rec["ldv1.mask"].shape[1] == 32
    assert "ld" not in rec
    with pytest.raises(KeyError, match="ld"):
        rec["ld"]


def test_unhooks_after_an_exception(model: torch.nn.Module) -> None:
    with pytest.raises(RuntimeError), FeatureRecorder(model, ["backbone", "logits"]):
        assert hook_count(model) == 2
        model(torch.randn(1, 5, 64, 64))  # wrong channel count: the forward raises
    assert hook_count(model) == 0


def test_unknown_tap_lists_the_valid_ones(model: torch.nn.Module) -> None:
    with pytest.raises(TapError, match="ldv2.affinity") as err:
        FeatureRecorder(model, ["ga", "ldv2.affinity"])
    assert "ldv1.mask" in str(err.value) and isinstance(err.value, ValueError)
    assert hook_count(model) == 0


def test_recorder_is_reusable_and_keeps_the_last_forward(model: torch.nn.Module) -> None:
    recorder = FeatureRecorder(model, ["logits"])
    with torch.no_grad():
        for size in (64, 80):
            with recorder as rec:
                model(torch.randn(1, 3, size, size))
                model(torch.randn(1, 3, size + 8, size))
            assert rec["logits"].shape[2:] == (model(torch.randn(1, 3, size + 8, size)).shape[2:])
    assert hook_count(model) == 0


def test_model_lock_is_shared_and_reentrant(model: torch.nn.Module) -> None:
    import numpy as np

    from gald_viz import analysis
    from gald_viz.hooks import model_lock
    from gald_viz.inference import predict

    assert analysis.model_lock is model_lock and model_lock(model) is model_lock(model)
    image = np.zeros((40, 40, 3), np.uint8)
    with model_lock(model), FeatureRecorder(model, ["logits"]) as rec:
        labels = predict(model, image, device="cpu")  # takes the same lock again: must not deadlock
    assert labels.shape == (40, 40) and rec["logits"].shape[1] == 4
