"""Interventions (issue #12): each equals its hand-made counterpart; names are checked; hooks go away."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from gald_viz.hooks import FeatureRecorder
from gald_viz.interventions import INTERVENTIONS, intervene
from gald_viz.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")

X = torch.randn(1, 3, 64, 72, generator=torch.Generator().manual_seed(0))


def tiny(arch: str) -> torch.nn.Module:
    torch.manual_seed(1)
    return build_model(arch, num_classes=3, head_channels=16, probes=False, aux=False).eval()


@pytest.fixture(scope="module")
def ldv1() -> torch.nn.Module:
    return tiny("aspp_ldv1")


@pytest.fixture(scope="module")
def ldv2() -> torch.nn.Module:
    return tiny("aspp_ldv2")


def hook_count(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@torch.no_grad()
def test_uniform_kernel_is_the_model_with_theta_zero(ldv2):
    reference = copy.deepcopy(ldv2)
    reference.ld.theta.weight.zero_()
    with intervene(ldv2, "ldv2.kernel=uniform"):
        logits = ldv2(X)
    # CPU default (sparse kernels): bit for bit; the shifted implementation sums in another order.
    assert torch.equal(logits, reference(X))
    assert not torch.equal(logits, ldv2(X))
    # The tap records the replaced kernel (1/k² everywhere), which θ = 0 gives too.
    with intervene(ldv2, "ldv2.kernel=uniform"), FeatureRecorder(ldv2, ["ldv2.affinity"]) as taps:
        ldv2(X)
    with FeatureRecorder(reference, ["ldv2.affinity"]) as theta_zero:
        reference(X)
    assert torch.equal(taps["ldv2.affinity"], theta_zero["ldv2.affinity"])
    k2 = ldv2.ld.tap_channels
    assert torch.equal(taps["ldv2.affinity"], torch.full_like(taps["ldv2.affinity"], 1 / k2))
    ldv2.ld.method = reference.ld.method = "shifted"
    try:
        with intervene(ldv2, "ldv2.kernel=uniform"):
            assert torch.allclose(ldv2(X), reference(X), rtol=1e-6, atol=1e-7)
    finally:
        ldv2.ld.method = "auto"


@torch.no_grad()
def test_centre_kernel_passes_g_of_the_centre(ldv2):
    with intervene(ldv2, "ldv2.kernel=centre"), FeatureRecorder(ldv2, ["backbone", "ga", "ld"]) as rec:
        logits = ldv2(X)
    x = torch.cat([rec["ga"], rec["backbone"]], dim=1)
    assert torch.equal(rec["ld"], F.conv2d(x, ldv2.ld.g.weight))
    with intervene(ldv2, "ldv2.kernel=centre"), FeatureRecorder(ldv2, ["ldv2.affinity"]) as taps:
        ldv2(X)
    # The tap records the replaced kernel: one-hot on the centre of the k² window.
    centre = torch.zeros_like(taps["ldv2.affinity"])
    centre[:, ldv2.ld.tap_channels // 2] = 1
    assert torch.equal(taps["ldv2.affinity"], centre)
    assert torch.equal(logits, ldv2.classifier(torch.cat([rec["ld"], rec["backbone"]], dim=1)))


@torch.no_grad()
def test_mask_one_is_twice_x_g(ldv1):
    with intervene(ldv1, "ldv1.mask=1"), FeatureRecorder(ldv1, ["backbone", "ga", "ldv1.mask", "ld"]) as rec:
        logits = ldv1(X)
    assert torch.equal(rec["ldv1.mask"], torch.ones_like(rec["ga"]))
    assert torch.equal(rec["ld"], 2 * rec["ga"])
    assert torch.equal(logits, ldv1.classifier(torch.cat([2 * rec["ga"], rec["backbone"]], dim=1)))


@torch.no_grad()
def test_mask_mean_is_the_per_channel_spatial_mean(ldv1):
    with FeatureRecorder(ldv1, ["ldv1.mask"]) as plain:
        ldv1(X)
    with intervene(ldv1, "ldv1.mask=mean"), FeatureRecorder(ldv1, ["ga", "ldv1.mask", "ld"]) as rec:
        ldv1(X)
    mean = plain["ldv1.mask"].mean(dim=(2, 3), keepdim=True)
    assert torch.equal(rec["ldv1.mask"], mean.expand_as(plain["ldv1.mask"]))
    assert torch.equal(rec["ld"], mean * rec["ga"] + rec["ga"])


@pytest.mark.parametrize("arch", ["aspp_ldv1", "aspp_ldv2", "aspp", "aspp_ldv1_parallel", "ldv2"])
@torch.no_grad()
def test_context_off_equals_zeroing_z(arch):
    model = tiny(arch)
    taps = {"aspp_ldv1_parallel": ["tap_ga", "tap_ld"], "aspp": ["tap_ga"]}.get(arch, ["tap_ld"])
    handles = [
        model.get_submodule(t).register_forward_hook(lambda _m, _i, out: torch.zeros_like(out)) for t in taps
    ]
    try:
        reference = model(X)
    finally:
        for h in handles:
            h.remove()
    with intervene(model, "context=off"):
        assert torch.equal(model(X), reference)


@torch.no_grad()
def test_combined_and_hooks_removed(ldv2):
    before = ldv2(X)
    with intervene(ldv2, "ldv2.kernel=centre", "context=off"):
        assert hook_count(ldv2) == 2
    assert hook_count(ldv2) == 0
    with pytest.raises(RuntimeError), intervene(ldv2, "ldv2.kernel=uniform"):
        ldv2(torch.randn(1, 5, 64, 64))  # wrong channel count: the forward raises
    assert hook_count(ldv2) == 0 and torch.equal(ldv2(X), before)


@pytest.mark.parametrize(
    ("arch", "names", "message"),
    [
        ("aspp_ldv2", ["ldv2.kernel=gaussian"], "unknown intervention 'ldv2.kernel=gaussian'"),
        ("aspp_ldv2", ["mask"], "unknown intervention 'mask'"),
        ("aspp_ldv2", ["ldv1.mask=1"], "'ldv1.mask=1': model 'aspp_ldv2' has no 'ldv1.mask' tap"),
        ("aspp_ldv1", ["ldv2.kernel=uniform"], "'ldv2.kernel=uniform': model 'aspp_ldv1' has no"),
        ("fcn", ["context=off"], "'context=off': model 'fcn' has no context Z"),
        ("aspp_ldv2", ["ldv2.kernel=uniform", "ldv2.kernel=centre"], "already intervened"),
        ("aspp_ldv2", ["context=off", "ldv1.mask=mean"], "has no 'ldv1.mask' tap"),
    ],
)
def test_bad_names_raise_naming_them(arch, names, message):
    model = tiny(arch)
    with pytest.raises(ValueError, match=message), intervene(model, *names):
        pass
    assert hook_count(model) == 0


def test_every_listed_intervention_is_accepted():
    assert len(INTERVENTIONS) == 5
    with intervene(tiny("aspp_ldv1"), "ldv1.mask=mean", "context=off"):
        pass


def test_official_models_take_the_mask_interventions_only():
    from gald_viz.models.official import OfficialGALDNet

    model = OfficialGALDNet(depth=50, num_classes=3)
    with intervene(model, "ldv1.mask=1"):
        assert len(model.get_submodule("head.a2block.local_attention.mask")._forward_hooks) == 1
    assert hook_count(model) == 0
    with pytest.raises(ValueError, match="no context Z"), intervene(model, "context=off"):
        pass
