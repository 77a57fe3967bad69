"""Context reach (issue #12 item 4): the gradient of a pixel's logit, its radial mass and its radii."""

import math

import numpy as np
import pytest
import torch

from gald_viz.analysis import analyse
from gald_viz.inference import forward_padded, model_input
from gald_viz.mechanisms.geometry import CellGeometry
from gald_viz.mechanisms.reach import MASS_LEVELS, context_reach, mass_radius, radial_mass
from gald_viz.models import build_model

IMAGE = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
PIXEL = (61, 43)


def tiny(arch: str, **options) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(arch, num_classes=3, head_channels=16, probes=False, aux=False, **options).eval()


def literal_radius(mass, px, py, centre, level):
    """Smallest candidate distance r whose disc holds ≥ level of the mass, by a loop over candidates."""
    mass, px, py = (np.asarray(a, np.float64).ravel() for a in (mass, px, py))
    dist = [math.hypot(a - centre[0], b - centre[1]) for a, b in zip(px, py, strict=True)]
    total = sum(mass)
    if total == 0:
        return None
    for r in sorted(set(dist)):
        inside = sum(m for m, d in zip(mass, dist, strict=True) if d <= r)
        if inside >= level * total - 1e-9 * total:
            return r
    raise AssertionError("unreachable")


def test_radial_mass_and_radii_against_a_loop():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(1, 40))
        mass = rng.random(n) * (rng.random(n) > 0.3)
        px, py = rng.integers(0, 6, n).astype(float), rng.integers(0, 6, n).astype(float)
        centre = (float(rng.integers(0, 6)), float(rng.integers(0, 6)))
        d, share = radial_mass(mass, px, py, centre)
        assert np.all(np.diff(d) > 0)
        for level in (0.1, 0.5, 0.9, 1.0):
            assert mass_radius(d, share, level) == pytest.approx(literal_radius(mass, px, py, centre, level))


def test_zero_gradient_has_no_radius():
    d, share = radial_mass(np.zeros(4), np.arange(4.0), np.zeros(4), (0.0, 0.0))
    assert mass_radius(d, share, 0.5) is None


def _literal_gradients(model, image, xy, class_id):
    """∂logit/∂X by X as a leaf through the head, and ∂logit/∂input through the full-size logits."""
    x, y = xy
    inp = model_input(model, image).requires_grad_(True)
    logit = forward_padded(model, inp)[0, class_id, y, x]
    (g_in,) = torch.autograd.grad(logit, [inp])
    feats = model.backbone(inp.detach()).detach().requires_grad_(True)  # 96×128 needs no padding
    logits, _ = model._head(feats)
    up = torch.nn.functional.interpolate(
        logits,
        size=(8 * (logits.shape[2] - 1) + 1, 8 * (logits.shape[3] - 1) + 1),
        mode="bilinear",
        align_corners=True,
    )
    (g_x,) = torch.autograd.grad(up[0, class_id, y, x], [feats])
    return g_x[0].numpy(), g_in[0].numpy()


@pytest.mark.parametrize("arch", ["fcn", "aspp_ldv2"])
def test_gradients_and_radii_against_literal_autograd(arch, one_thread):
    model = tiny(arch)
    reach = context_reach(model, IMAGE, PIXEL)
    with torch.no_grad():
        full = forward_padded(model, model_input(model, IMAGE))
    assert reach.class_id == int(full[0, :, PIXEL[1], PIXEL[0]].argmax())
    assert reach.logit == pytest.approx(float(full[0, reach.class_id, PIXEL[1], PIXEL[0]]), rel=1e-5)
    g_x, g_in = _literal_gradients(model, IMAGE, PIXEL, reach.class_id)
    c, h, w = g_x.shape
    norm_x = np.array(
        [[math.sqrt(sum(float(g_x[k, i, j]) ** 2 for k in range(c))) for j in range(w)] for i in range(h)]
    )
    np.testing.assert_allclose(reach.feature_grad, norm_x, rtol=1e-4, atol=1e-9)
    norm_in = np.sqrt((g_in.astype(np.float64) ** 2).sum(0))
    np.testing.assert_allclose(reach.input_grad, norm_in, rtol=1e-4, atol=1e-9)
    cells = CellGeometry.from_model(model, IMAGE.shape[:2], (h, w))
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    fx, fy = cells.centres(rows, cols)
    for level in MASS_LEVELS:
        assert reach.feature_radii[level] == pytest.approx(literal_radius(norm_x, fx, fy, PIXEL, level))
    # Input pixel u sits on native x = u (input_scale 1).
    vv, uu = np.meshgrid(np.arange(IMAGE.shape[0]), np.arange(IMAGE.shape[1]), indexing="ij")
    assert reach.input_radii[0.5] == pytest.approx(literal_radius(norm_in, uu, vv, PIXEL, 0.5))


def test_a_local_model_reaches_less_far_than_a_global_one(one_thread):
    fcn = tiny("fcn")
    local = context_reach(fcn, IMAGE, PIXEL)
    # FCN: the classifier's 3×3 conv on the 2×2 cells the bilinear logit reads: nothing beyond 2 cells.
    row, col = CellGeometry.from_model(fcn, IMAGE.shape[:2], local.feature_grad.shape).nearest_cell(*PIXEL)
    far = np.ones_like(local.feature_grad, bool)
    far[max(row - 2, 0) : row + 3, max(col - 2, 0) : col + 3] = False
    assert local.feature_grad[far].max() == 0
    nl = tiny("nl")
    with torch.no_grad():
        nl.ga.block.w_z[1].weight.fill_(20.0)  # a trained NL block: the attention output counts
    wide = context_reach(nl, IMAGE, PIXEL)
    assert wide.feature_grad[far].max() > 0
    assert wide.feature_radii[0.9] > local.feature_radii[0.9] + 16


def test_pixel_outside_the_image_is_refused():
    with pytest.raises(ValueError, match=r"\(128, 0\) is outside the 128×96 image"):
        context_reach(tiny("fcn"), IMAGE, (128, 0))


def test_input_scale_maps_positions_to_native_pixels(one_thread):
    model = tiny("fcn", input_scale=0.5)
    reach = context_reach(model, IMAGE, PIXEL)
    assert reach.input_grad.shape == (64, 64)  # 48×64 padded up to min_input_size 64
    assert reach.feature_radii[0.9] is not None and reach.input_radii[0.5] > 0


def test_ldv2_after_an_inference_mode_analysis(one_thread):
    """The app analyses first (inference_mode, LDv2 caches its window pattern), then differentiates."""
    model = tiny("aspp_ldv2")
    before = analyse(model, IMAGE, device="cpu")
    reach = context_reach(model, IMAGE, PIXEL)
    assert reach.class_id == int(before.pred[PIXEL[1], PIXEL[0]])
    assert model.ld.method == "auto" and reach.feature_radii[0.5] is not None
