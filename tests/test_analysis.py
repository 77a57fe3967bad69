"""The analysis compute path: one recorded forward, scale chain, LDv2 affinity geometry at a click."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gald_viz.analysis import (
    Analysis,
    AnalysisError,
    affinity_at,
    affinity_entropy_map,
    analyse,
    same_class_share_map,
)
from gald_viz.inference import predict
from gald_viz.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (72, 104, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def ldv2_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("aspp_ldv2", num_classes=5, head_channels=32).eval()


def hand_made(affinity: np.ndarray, k: int = 3, r: int = 1, size: int = 40) -> Analysis:
    """A 40×40 image, stride 8, 5×5 cells (cell j centred on pixel 8j), given affinities."""
    h = affinity.shape[1]
    return Analysis(
        arch="hand",
        pred=np.zeros((size, size), np.uint8),
        confidence=np.ones((size, size), np.float16),
        native_size=(size, size),
        input_size=(size, size),
        feature_size=(h, affinity.shape[2]),
        stride=8,
        affinity=affinity,
        ldv2_kernel=k,
        ldv2_dilation=r,
    )


def test_analyse_matches_predict_and_hooks_are_gone(ldv2_model, image) -> None:
    result = analyse(ldv2_model, image, device="cpu")
    np.testing.assert_array_equal(result.pred, predict(ldv2_model, image, device="cpu", mode="whole"))
    assert sum(len(m._forward_hooks) for m in ldv2_model.modules()) == 0
    assert result.confidence.shape == (72, 104) and result.confidence.dtype == np.float16
    assert float(result.confidence.min()) >= 1 / 5 - 1e-3 and float(result.confidence.max()) <= 1
    assert result.feature_size == (10, 14) and result.input_size == (72, 104)
    assert set(result.maps) == {"backbone", "ga", "ld"} and result.maps["ga"].shape == (10, 14)
    assert result.affinity.shape == (25, 10, 14) and result.ldv1_mask is None
    np.testing.assert_allclose(result.affinity.sum(0), 1, atol=1e-5)
    assert {k: v.shape for k, v in result.probe_preds.items()} == {
        "probe.backbone": (72, 104),
        "probe.ga": (72, 104),
    }


def test_ldv1_mask_and_scale_chain() -> None:
    model = build_model("psp_ldv1", num_classes=3, head_channels=32, input_scale=0.5).eval()
    img = np.random.default_rng(2).integers(0, 256, (144, 208, 3), dtype=np.uint8)
    result = analyse(model, img, device="cpu")
    assert result.input_size == (72, 104) and result.feature_size == (10, 14)
    assert result.effective_stride == (16.0, 16.0) and result.pred.shape == (144, 208)
    assert result.ldv1_mask.shape == (32, 10, 14) and result.ldv1_mask.dtype == np.float16
    np.testing.assert_allclose(
        result.maps["ldv1.mask"], result.ldv1_mask.astype(np.float32).mean(0), atol=2e-3
    )
    assert result.ldv1_mask.min() >= 0 and result.ldv1_mask.max() <= 1
    # Native pixel (x, y) ↔ cell: model-input pixel (x + 0.5)/2 − 0.5, cell = round(that / 8).
    assert result.cell_of(0, 0) == (0, 0) and result.cell_of(47, 16) == (1, 3)
    x, y = result.cell_centre(1, 3)
    assert (float(x), float(y)) == (48.5, 16.5)
    with pytest.raises(AnalysisError, match="no LDv2"):
        affinity_at(result, 3, 3)


def test_stretch_geometry_puts_the_last_cell_on_the_last_input_pixel() -> None:
    from gald_viz.mechanisms.geometry import CellGeometry
    from gald_viz.models.official import OfficialGALDNet

    torch.manual_seed(0)
    model = OfficialGALDNet(depth=50, num_classes=3).eval()
    img = np.random.default_rng(4).integers(0, 256, (120, 150, 3), dtype=np.uint8)
    result = analyse(model, img, device="cpu")
    h, w = result.feature_size
    assert result.logit_geometry == "stretch" and result.padded_size == result.input_size == (120, 150)
    assert result.cells == CellGeometry.from_model(model, (120, 150), (h, w))
    # align_corners=True over the padded input: the first and last cells sit on its corner pixels.
    x, y = result.cell_centre(np.array([0, h - 1]), np.array([0, w - 1]))
    np.testing.assert_allclose(x, [0, 149], atol=1e-12)
    np.testing.assert_allclose(y, [0, 119], atol=1e-12)
    assert 8 * (w - 1) != 149 and 8 * (h - 1) != 119  # where the "cell_centres" chain would put them
    assert result.cell_of(149, 119) == (h - 1, w - 1) and result.cell_of(0, 0) == (0, 0)
    assert result.effective_stride == pytest.approx((119 / (h - 1), 149 / (w - 1)))


def test_affinity_at_geometry_on_a_real_model(ldv2_model, image) -> None:
    result = analyse(ldv2_model, image, device="cpu")
    view = affinity_at(result, 0, 0)
    assert view.cell == (0, 0) and view.weights.shape == (5, 5)
    np.testing.assert_array_equal(view.positions[:, :, 0][0], [-48, -24, 0, 24, 48])  # r = 3 cells = 24 px
    np.testing.assert_array_equal(view.positions[:, :, 1][:, 0], [-48, -24, 0, 24, 48])
    expected_inside = np.zeros((5, 5), bool)
    expected_inside[2:, 2:] = True
    np.testing.assert_array_equal(view.inside, expected_inside)
    assert view.outside_share == pytest.approx(float(view.weights[~expected_inside].sum()))
    np.testing.assert_allclose(view.weights.ravel(), result.affinity[:, 0, 0], rtol=1e-6)
    centre = affinity_at(result, 50, 40)
    assert centre.cell == (5, 6) and centre.inside[1:4].all() and not centre.inside[[0, 4]].any()  # 10 rows
    assert centre.centre == (48.0, 40.0)
    assert 0 <= centre.entropy_normalised <= 1
    assert centre.entropy == pytest.approx(float(affinity_entropy_map(result)[5, 6]), rel=1e-5)
    with pytest.raises(AnalysisError, match="outside"):
        affinity_at(result, 104, 0)


def test_entropy_and_same_class_share_on_hand_made_arrays() -> None:
    uniform = np.full((9, 5, 5), 1 / 9, np.float32)
    result = hand_made(uniform)
    gt = np.ones((40, 40), np.uint8)
    gt[:, 20:] = 2  # cell columns 0–2 (x = 0, 8, 16) are class 1, columns 3–4 (x = 24, 32) class 2
    view = affinity_at(result, 16, 16, gt=gt)
    assert view.cell == (2, 2) and view.gt_class == 1
    assert view.same_class_share == pytest.approx(6 / 9)  # neighbour columns 1, 2 of 1, 2, 3
    assert view.entropy == pytest.approx(math.log(9)) and view.entropy_normalised == pytest.approx(1)
    corner = affinity_at(result, 0, 0, gt=gt)
    assert corner.inside.sum() == 4 and corner.outside_share == pytest.approx(5 / 9)
    assert corner.same_class_share == pytest.approx(4 / 9)  # outside neighbours count as different
    share = same_class_share_map(result, gt)
    assert share[2, 2] == pytest.approx(6 / 9) and share[0, 0] == pytest.approx(4 / 9)
    assert share[2, 3] == pytest.approx(6 / 9) and share[2, 4] == pytest.approx(6 / 9)  # 3 outside
    gt[16, 16] = 255
    assert affinity_at(result, 16, 16, gt=gt).same_class_share is None
    assert np.isnan(same_class_share_map(result, gt)[2, 2])
    with pytest.raises(AnalysisError, match="shape"):
        same_class_share_map(result, gt[:30])


def test_peaked_affinity_has_zero_entropy_and_follows_the_window_order() -> None:
    peaked = np.zeros((9, 5, 5), np.float32)
    peaked[5] = 1  # row-major index 5 = (row +0, col +1)
    result = hand_made(peaked)
    view = affinity_at(result, 8, 8)
    assert view.entropy == pytest.approx(0) and view.weights[1, 2] == 1
    assert tuple(view.positions[1, 2]) == (16, 8)
    np.testing.assert_allclose(affinity_entropy_map(result), 0, atol=1e-6)
    gt = np.zeros((40, 40), np.uint8)
    gt[:, 12:] = 3  # the right-hand neighbour of cell column 1 (x = 8 → 16) changes class
    assert affinity_at(result, 8, 8, gt=gt).same_class_share == 0
    assert affinity_at(result, 16, 8, gt=gt).same_class_share == 1


def test_analyse_refuses_non_finite_logits():
    from gald_viz.inference import InferenceError

    model = build_model("fcn", num_classes=3, head_channels=16).eval()
    with torch.no_grad():
        model.classifier[-1].bias.fill_(float("nan"))
    with pytest.raises(InferenceError, match="'fcn'"):
        analyse(model, np.zeros((32, 48, 3), np.uint8))
