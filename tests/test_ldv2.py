"""LDv2 against a plain per-pixel loop of GALD Eq. 6–8, borders included (zero-padded φ and g)."""

from __future__ import annotations

import pytest
import torch

from gald_viz.hooks import FeatureRecorder
from gald_viz.models import build_model
from gald_viz.models.ldv2 import LDv2

pytestmark = pytest.mark.usefixtures("one_thread")


def eq8_loop(theta: torch.Tensor, phi: torch.Tensor, g: torch.Tensor, k: int, r: int):
    """Eq. 6–8 one position at a time: outside neighbours have key 0 and value 0 (zero padding)."""
    _, h, w = theta.shape
    out = torch.zeros(g.shape, dtype=theta.dtype)
    aff = torch.zeros(k * k, h, w, dtype=theta.dtype)
    for i in range(h):
        for j in range(w):
            logits, values = [], []
            for a in range(k):
                for b in range(k):
                    ni, nj = i + r * (a - k // 2), j + r * (b - k // 2)
                    if 0 <= ni < h and 0 <= nj < w:
                        key, value = phi[:, ni, nj], g[:, ni, nj]
                    else:
                        key, value = torch.zeros_like(phi[:, 0, 0]), torch.zeros_like(g[:, 0, 0])
                    logits.append(float(theta[:, i, j] @ key))
                    values.append(value)
            weights = torch.softmax(torch.tensor(logits, dtype=theta.dtype), dim=0)
            aff[:, i, j] = weights
            out[:, i, j] = sum(wn * v for wn, v in zip(weights, values, strict=True))
    return out, aff


@pytest.mark.parametrize("method", ["sparse", "shifted"])
@pytest.mark.parametrize(
    ("k", "r", "h", "w"), [(5, 3, 7, 9), (3, 1, 4, 6), (5, 1, 6, 5), (1, 2, 3, 4), (3, 4, 3, 3)]
)
@torch.no_grad()
def test_ldv2_equals_per_pixel_loop(method: str, k: int, r: int, h: int, w: int) -> None:
    gen = torch.Generator().manual_seed(k * 10 + r)
    module = LDv2(6, 4, key_channels=3, kernel=k, dilation=r, method=method).double().eval()
    for conv in (module.theta, module.phi, module.g):
        conv.weight.data = torch.randn(conv.weight.shape, generator=gen, dtype=torch.float64)
    x = torch.randn(2, 6, h, w, generator=gen, dtype=torch.float64)
    recorded = {}
    module.affinity.register_forward_hook(lambda _m, _i, out: recorded.setdefault("aff", out))
    out = module(x)
    for n in range(2):
        theta, phi, g = (
            torch.einsum("oc,chw->ohw", c.weight[:, :, 0, 0], x[n])
            for c in (module.theta, module.phi, module.g)
        )
        expected, aff = eq8_loop(theta, phi, g, k, r)
        torch.testing.assert_close(out[n], expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(recorded["aff"][n], aff, atol=1e-5, rtol=0)
    torch.testing.assert_close(recorded["aff"].sum(1), torch.ones(2, h, w, dtype=torch.float64))
    assert recorded["aff"].shape == (2, k * k, h, w)


@pytest.mark.parametrize("method", ["sparse", "shifted"])
@torch.no_grad()
def test_border_neighbours_take_weight_but_no_value(method: str) -> None:
    module = LDv2(2, 1, key_channels=1, kernel=3, dilation=1, method=method).eval()
    for conv in (module.theta, module.phi):
        torch.nn.init.zeros_(conv.weight)
    torch.nn.init.ones_(module.g.weight)
    x = torch.ones(1, 2, 4, 4) / 2  # g = 1 everywhere, all logits 0: uniform weights over 9 neighbours
    out = module(x)[0, 0]
    assert out[1, 1] == pytest.approx(1.0)  # interior: all 9 inside
    assert out[0, 0] == pytest.approx(4 / 9)  # corner: 5 of 9 neighbours outside carry value 0
    assert out[0, 1] == pytest.approx(6 / 9)


@pytest.mark.parametrize("method", ["sparse", "shifted"])
def test_a_hook_on_the_affinity_tap_replaces_the_weights_of_eq8(method: str) -> None:
    gen = torch.Generator().manual_seed(5)
    k, r, h, w = 3, 2, 4, 5
    module = LDv2(3, 2, key_channels=2, kernel=k, dilation=r, method=method).double()
    x = torch.randn(2, 3, h, w, generator=gen, dtype=torch.float64)
    fixed = torch.rand(2, k * k, h, w, generator=gen, dtype=torch.float64, requires_grad=True)
    handle = module.affinity.register_forward_hook(lambda _m, _i, _out: fixed)
    try:
        out = module(x)
        g = torch.einsum("oc,nchw->nohw", module.g.weight[:, :, 0, 0], x)
        expected = torch.zeros_like(out)
        for n, (dy, dx) in enumerate(module.offsets()):
            for i in range(h):
                for j in range(w):
                    if 0 <= i + dy < h and 0 <= j + dx < w:  # outside neighbours carry no value
                        expected[:, :, i, j] += fixed[:, n, i, j, None] * g[:, :, i + dy, j + dx]
        torch.testing.assert_close(out, expected)
        # Gradients flow through the replacement into whatever produced it.
        (grad,) = torch.autograd.grad(out.square().sum(), [fixed])
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    finally:
        handle.remove()


def test_ldv2_in_galdnet_reads_concat_of_ga_and_backbone() -> None:
    torch.manual_seed(0)
    model = build_model("aspp_ldv2", num_classes=3, head_channels=32).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad(), FeatureRecorder(model, ["backbone", "ga", "ld", "ldv2.affinity"]) as rec:
        model(x)
        again = model.ld(torch.cat([rec["ga"], rec["backbone"]], dim=1))
    torch.testing.assert_close(again, rec["ld"])
    assert model.ld.offsets()[0] == (-6, -6) and model.ld.offsets()[12] == (0, 0)


@pytest.mark.parametrize("method", ["sparse", "shifted"])
def test_ldv2_gradients_match_finite_differences(method: str) -> None:
    torch.manual_seed(0)
    module = LDv2(3, 2, key_channels=2, kernel=3, dilation=2, method=method).double()
    x = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,), fast_mode=True)
    grads = torch.autograd.grad(module(x).square().sum(), [x, module.theta.weight, module.g.weight])
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


def test_ldv2_rejects_even_kernels() -> None:
    with pytest.raises(ValueError, match="ldv2_kernel"):
        LDv2(4, 4, key_channels=2, kernel=4)
