"""Every zoo model: builds, runs, honours contract 1 and exposes the taps its feature_info declares."""

from __future__ import annotations

import json
import math

import pytest
import torch

from gald_viz.hooks import FeatureRecorder, available_taps
from gald_viz.models import (
    GA_HEADS,
    LD_MODULES,
    MODEL_NAMES,
    SegmentationModel,
    UnknownModelError,
    build_model,
    non_local,
)
from gald_viz.models.backbone import BACKBONES, build_backbone
from gald_viz.models.cgnl import CGNLBlock
from gald_viz.models.gald import GALDNet
from gald_viz.models.non_local import NonLocalBlock
from gald_viz.models.official import OfficialGALDNet

pytestmark = pytest.mark.usefixtures("one_thread")


H, W = 48, 64


def stride8_size(n: int) -> int:
    """Cells of the OS8 backbone for an n-pixel side (stem conv s2, ceil-mode max-pool, stride-2 stage)."""
    n = (n - 1) // 2 + 1
    n = math.ceil((n - 1) / 2) + 1
    return (n - 1) // 2 + 1


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return torch.randn(2, 3, H, W, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", MODEL_NAMES)
class TestZooModel:
    def test_forward_is_stride8_logits(self, name: str, batch: torch.Tensor) -> None:
        model = build_model(name, num_classes=7, head_channels=32).eval()
        with torch.no_grad():
            out = model(batch)
        assert out.shape == (2, 7, stride8_size(H), stride8_size(W))
        assert torch.isfinite(out).all()
        assert model.output_stride == 8 and model.preset == "imagenet_rgb"

    def test_forward_train_outputs(self, name: str, batch: torch.Tensor) -> None:
        model = build_model(name, num_classes=5, head_channels=32).train()
        out = model.forward_train(batch)
        expected = {"out", "aux", "probe.backbone"} | ({"probe.ga"} if model.ga_kind != "none" else set())
        assert set(out) == expected
        for value in out.values():
            assert value.shape == (2, 5, stride8_size(H), stride8_size(W))
        sum(v.mean() for v in out.values()).backward()
        assert model.classifier[2].weight.grad is not None

    def test_taps_match_feature_info(self, name: str, batch: torch.Tensor) -> None:
        model = build_model(name, num_classes=6).eval()
        taps = available_taps(model)
        names = [t.name for t in taps]
        assert len(names) == len(set(names))
        assert {"backbone", "logits", "probe.backbone"} <= set(names)
        assert ("ga" in names) == (model.ga_kind != "none")
        assert ("ldv1.mask" in names) == (model.ld_kind == "ldv1")
        assert ("ldv2.affinity" in names) == (model.ld_kind == "ldv2")
        with torch.no_grad(), FeatureRecorder(model, names) as rec:
            logits = model(batch)
        for tap in taps:
            value = rec[tap.name]
            assert value.shape[1] == tap.channels, tap
            # Stride checked against the real input: every tap lives on the logits' grid.
            assert value.shape[2:] == (stride8_size(H), stride8_size(W)) == logits.shape[2:], tap
            assert tap.stride == 8
        assert torch.equal(rec["logits"], logits)
        if "ldv1.mask" in names:
            assert rec["ldv1.mask"].min() >= 0 and rec["ldv1.mask"].max() <= 1
        if "ldv2.affinity" in names:
            assert rec["ldv2.affinity"].shape[1] == model.ldv2_kernel**2 == 25
            torch.testing.assert_close(rec["ldv2.affinity"].sum(1), torch.ones_like(logits[:, 0]))

    def test_options_rebuild_the_same_network(self, name: str) -> None:
        model = build_model(name, num_classes=4, head_channels=32, ldv2_kernel=3, ldv1_downsample=4)
        options = json.loads(json.dumps(model.options))
        again = build_model(model.arch, num_classes=model.num_classes, **options)
        shapes = {k: v.shape for k, v in model.state_dict().items()}
        assert shapes == {k: v.shape for k, v in again.state_dict().items()}
        assert again.options == model.options


def test_zoo_has_the_required_names() -> None:
    required = {"fcn", "aspp", "psp", "nl", "cgnl", "ldv1", "ldv2", "aspp_ldv1", "aspp_ldv2"}
    required |= {f"{ga}_{ld}" for ga in GA_HEADS for ld in ("ldv1", "ldv2")}
    assert required <= set(MODEL_NAMES)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownModelError, match="aspp_ldv2") as err:
        build_model("aspp_ldv3")
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    with pytest.raises(ValueError, match="head_channels"):
        build_model("aspp", head_channel=64)
    with pytest.raises(ValueError, match="small"):
        build_model("aspp", backbone="resnet18")


def test_every_model_declares_the_contract() -> None:
    with torch.device("meta"):
        official = OfficialGALDNet(depth=50)
    for model in (official, *(build_model(name, head_channels=16) for name in MODEL_NAMES)):
        assert isinstance(model, SegmentationModel)
        missing = [a for a in SegmentationModel.__annotations__ if not hasattr(model, a)]
        assert not missing, (model.arch, missing)
        assert model.evaluation.mode == ("slide" if model is official else "whole")
        assert (model.ldv2_kernel is not None) == (model.ld_kind == "ldv2")
        assert dict(model.checkpoint_info) == {}


def test_registries_name_the_valid_heads() -> None:
    assert list(GA_HEADS) == ["aspp", "psp", "nl", "cgnl"] and list(LD_MODULES) == ["ldv1", "ldv2"]
    with pytest.raises(KeyError, match="unknown GA head 'aspp2'; valid names: aspp, psp, nl, cgnl"):
        GALDNet(arch="x", options={}, ga="aspp2")
    with pytest.raises(KeyError, match="unknown LD module 'ldv3'; valid names: ldv1, ldv2"):
        LD_MODULES["ldv3"]


def test_default_heads_are_small_cpu_models() -> None:
    params = sum(p.numel() for p in build_model("aspp_ldv2").parameters())
    assert 0.8e6 < params < 1.6e6
    assert build_model("aspp", backbone="resnet50").options["head_channels"] == 512


def test_resnet50_layout_and_output_stride() -> None:
    net = build_backbone("resnet50")
    keys = set(net.state_dict())
    for key in (
        "conv1.0.weight",
        "conv1.1.running_mean",
        "conv1.3.weight",
        "conv1.4.weight",
        "conv1.6.weight",
        "bn1.weight",
        "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.weight",
        "layer3.5.conv3.weight",
        "layer4.2.bn3.running_var",
    ):
        assert key in keys, key
    assert "conv1.6.bias" not in keys and "layer3.6.conv1.weight" not in keys
    assert net.conv1[0].stride == (2, 2) and net.maxpool.ceil_mode
    assert [b.conv2.dilation[0] for b in net.layer3] == [2] * 6
    assert [b.conv2.dilation[0] for b in net.layer4] == [4, 8, 16]
    assert net.layer2[0].conv2.stride == (2, 2) and net.layer3[0].conv2.stride == (1, 1)
    assert len(build_backbone("resnet101").layer3) == 23
    with torch.device("meta"):
        stages = build_backbone("resnet50").forward_stages(torch.empty(1, 3, 1024, 2048))
    assert [tuple(s.shape[1:]) for s in stages] == [
        (256, 257, 513),
        (512, 129, 257),
        (1024, 129, 257),
        (2048, 129, 257),
    ]
    assert set(BACKBONES) >= {"small", "resnet50", "resnet101"}


def test_cgnl_matches_grouped_dot_product_definition() -> None:
    torch.manual_seed(0)
    block = CGNLBlock(16, 8, groups=4).eval()
    x = torch.randn(2, 16, 5, 6)
    t, p, g = block.t(x), block.p(x), block.g(x)
    parts = []
    for k in range(4):
        sl = slice(2 * k, 2 * k + 2)
        scalar = (p[:, sl] * g[:, sl]).sum(dim=(1, 2, 3), keepdim=True)
        parts.append(scalar * t[:, sl])
    expected = block.gn(block.z(torch.cat(parts, 1))) + x
    torch.testing.assert_close(block(x), expected)
    assert {n for n, _ in block.named_children()} == {"t", "p", "g", "z", "gn"}


def test_non_local_chunking_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    block = NonLocalBlock(8).eval()
    torch.nn.init.normal_(block.w_z[1].weight)
    x = torch.randn(1, 8, 9, 11)
    whole = block(x)
    monkeypatch.setattr(non_local, "QUERY_CHUNK", 7)
    torch.testing.assert_close(block(x), whole)
    assert not torch.allclose(whole, x)
