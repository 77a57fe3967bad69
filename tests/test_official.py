"""The official GALD-Net layout: keys, counts, and logits against a functional re-implementation.

No official code is used: the official trainer's output is imitated by saving the state dict of the
official-layout network plus a faithful ``dsn`` auxiliary head with plain ``torch.save`` from "CUDA"
tensors, and the forward is checked against the fact sheet (docs/DESIGN.md) written out below with
``torch.nn.functional`` on the raw state dict.
"""

from __future__ import annotations

import copy
import hashlib
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
import torch.serialization
from torch import nn

from gald_viz.checkpoints import load_model, save_model
from gald_viz.hooks import FeatureRecorder
from gald_viz.models.contract import Evaluation
from gald_viz.models.official import (
    OLD_STEM_RENAMES,
    OfficialGALDNet,
    OfficialLayoutError,
    from_official_state_dict,
)

INPUT_SHAPE = (1, 3, 113, 129)  # non-square: a swapped H/W anywhere would show
R50_LAYERS = (3, 4, 6, 3)


def _official_dsn(num_classes: int) -> nn.Sequential:
    """The official training-only auxiliary head on layer3 (``dsn.0``, ``dsn.1``, ``dsn.4``)."""
    return nn.Sequential(
        nn.Conv2d(1024, 512, 3, padding=1),
        nn.BatchNorm2d(512),
        nn.ReLU(),
        nn.Dropout2d(0.1),
        nn.Conv2d(512, num_classes, 1),
    )


@pytest.fixture(scope="module")
def built() -> OfficialGALDNet:
    """ResNet-50 official layout with calibrated BatchNorm statistics (logits of order 1)."""
    torch.manual_seed(0)
    model = OfficialGALDNet(depth=50, num_classes=19)
    gen = torch.Generator().manual_seed(1)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d | nn.GroupNorm):
            # Distinct affine values per layer, so a mis-mapped key would change the output.
            with torch.no_grad():
                mod.weight.copy_(0.8 + 0.4 * torch.rand(mod.weight.shape, generator=gen))
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=gen))
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = None  # running stats := this batch's statistics
    with torch.no_grad():
        model.train()(torch.randn(2, *INPUT_SHAPE[1:], generator=gen))
    return model.eval()


@pytest.fixture(scope="module")
def official_sd(built: OfficialGALDNet) -> dict[str, torch.Tensor]:
    """What the official trainer saves: the model's state dict including ``dsn.*``."""
    torch.manual_seed(2)
    dsn = _official_dsn(19)
    sd = dict(built.state_dict())
    sd |= {f"dsn.{k}": v for k, v in dsn.state_dict().items()}
    return sd


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(*INPUT_SHAPE, generator=torch.Generator().manual_seed(3))


def _save_as_cuda(obj: object, path, *, legacy: bool = False) -> None:
    """``torch.save`` as from CUDA tensors (storage location tag ``cuda:0``), like the official trainer.

    ``legacy`` writes the pre-1.6 non-zip format that 2019-era checkpoints use.
    """
    with mock.patch.object(torch.serialization, "location_tag", lambda storage: "cuda:0"):
        torch.save(obj, path, _use_new_zipfile_serialization=not legacy)


@pytest.fixture(scope="module")
def official_file(official_sd, tmp_path_factory):
    path = tmp_path_factory.mktemp("official") / "GALD_res50_city.pth"
    _save_as_cuda(official_sd, path)
    return path


# --- the fact sheet, written out with torch.nn.functional on the raw state dict -------------------------


def _conv(x, sd, name, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(x, sd[f"{name}.weight"], sd.get(f"{name}.bias"), stride, padding, dilation, groups)


def _bn(x, sd, name):
    return F.batch_norm(
        x,
        sd[f"{name}.running_mean"],
        sd[f"{name}.running_var"],
        sd[f"{name}.weight"],
        sd[f"{name}.bias"],
        training=False,
        eps=1e-5,
    )


def reference_backbone(sd, x):
    """Deep stem, ceil-mode max-pool, bottlenecks with stride/dilation on conv2, multi-grid 1/2/4."""
    x = F.relu(_bn(_conv(x, sd, "conv1.0", stride=2, padding=1), sd, "conv1.1"))
    x = F.relu(_bn(_conv(x, sd, "conv1.3", padding=1), sd, "conv1.4"))
    x = F.relu(_bn(_conv(x, sd, "conv1.6", padding=1), sd, "bn1"))
    x = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
    stages = [(1, 1, (1,)), (2, 1, (1,)), (1, 2, (1,)), (1, 4, (1, 2, 4))]
    for layer, (blocks, (stride, dil, grid)) in enumerate(zip(R50_LAYERS, stages, strict=True), start=1):
        for b in range(blocks):
            p = f"layer{layer}.{b}"
            s, d = (stride if b == 0 else 1), dil * grid[b % len(grid)]
            out = F.relu(_bn(_conv(x, sd, f"{p}.conv1"), sd, f"{p}.bn1"))
            out = F.relu(_bn(_conv(out, sd, f"{p}.conv2", stride=s, padding=d, dilation=d), sd, f"{p}.bn2"))
            out = _bn(_conv(out, sd, f"{p}.conv3"), sd, f"{p}.bn3")
            if f"{p}.downsample.0.weight" in sd:
                x = _bn(_conv(x, sd, f"{p}.downsample.0", stride=s), sd, f"{p}.downsample.1")
            x = F.relu(out + x)
    return x


def _depthwise_down(x, sd, name):
    return F.relu(_bn(_conv(x, sd, f"{name}.0", stride=2, groups=x.shape[1]), sd, f"{name}.1"))


def reference_head(
    sd, x, *, ld_times_g: float = 2.0, ga_align_corners: bool = True, mask_align_corners: bool = True
):
    """Official head; the keyword arguments give wrong variants (G·(1+M), align_corners=False) to reject."""
    a = F.relu(_bn(_conv(x, sd, "head.conva.0", padding=1), sd, "head.conva.1"))
    d = _depthwise_down(a, sd, "head.a2block.down")
    cg = "head.a2block.long_relation"
    t, p, g = (_conv(d, sd, f"{cg}.{n}") for n in "tpg")
    per = t.shape[1] // 8
    groups = []
    for i in range(8):  # one scalar per group: sum of p·g over its channels and pixels
        sl = slice(i * per, (i + 1) * per)
        groups.append((p[:, sl] * g[:, sl]).sum(dim=(1, 2, 3), keepdim=True) * t[:, sl])
    z = _conv(torch.cat(groups, 1), sd, f"{cg}.z", groups=8)
    z = F.group_norm(z, 8, sd[f"{cg}.gn.weight"], sd[f"{cg}.gn.bias"], eps=1e-5) + d
    big = F.interpolate(z, size=a.shape[2:], mode="bilinear", align_corners=ga_align_corners)
    m = big
    for k in (1, 2, 3):
        m = _depthwise_down(m, sd, f"head.a2block.local_attention.dconv{k}")
    mask = torch.sigmoid(
        F.interpolate(m, size=big.shape[2:], mode="bilinear", align_corners=mask_align_corners)
    )
    ld = big * (ld_times_g + mask)
    b = F.relu(_bn(_conv(ld, sd, "head.convb.0", padding=1), sd, "head.convb.1"))
    h = F.relu(_bn(_conv(torch.cat([x, b], 1), sd, "head.bottleneck.0", padding=1), sd, "head.bottleneck.1"))
    return {"ga": big, "ldv1.mask": mask, "ld": ld, "logits": _conv(h, sd, "head.bottleneck.3")}


@pytest.fixture(scope="module")
def recorded(built, x) -> dict[str, torch.Tensor]:
    """Every tap of one forward of the built module (``logits`` is the returned value)."""
    names = ["backbone", "ga", "ldv1.mask", "ld", "logits"]
    with torch.no_grad(), FeatureRecorder(built, names) as rec:
        logits = built(x)
    assert torch.equal(rec["logits"], logits)
    return {name: rec[name] for name in names}


@pytest.fixture(scope="module")
def reference(official_sd, x):
    with torch.no_grad():
        feats = reference_backbone(official_sd, x)
        return {"backbone": feats, **reference_head(official_sd, feats)}


# --- tests ------------------------------------------------------------------------------------------------


def test_key_and_parameter_counts_match_the_fact_sheet(built, official_sd):
    assert len(official_sd) == 393
    dsn_params = sum(p.numel() for p in _official_dsn(19).parameters())
    own = sum(p.numel() for p in built.parameters())
    assert own == 47_672_787
    assert own + dsn_params == 52_402_662
    assert set(built.state_dict()) == {k for k in official_sd if not k.startswith("dsn.")}


def test_head_key_layout():
    with torch.device("meta"):
        keys = set(OfficialGALDNet(depth=50, num_classes=19).state_dict())
    for key in (
        "conv1.0.weight",
        "conv1.6.weight",
        "bn1.running_var",
        "layer1.0.downsample.1.weight",
        "layer4.2.bn3.bias",
        "head.conva.0.weight",
        "head.conva.1.running_mean",
        "head.a2block.down.0.bias",
        "head.a2block.long_relation.z.weight",
        "head.a2block.long_relation.gn.bias",
        "head.a2block.local_attention.dconv3.0.bias",
        "head.convb.1.weight",
        "head.bottleneck.3.bias",
    ):
        assert key in keys, key
    assert not any(k.startswith("dsn.") or "tap" in k or "mask" in k for k in keys)


def test_forward_matches_functional_reference_and_taps(recorded, reference):
    logits = recorded["logits"]
    assert logits.shape == (1, 19, 15, 17)
    assert 0.1 < logits.std() < 100  # calibrated: the 1e-4 tolerance below is meaningful
    for name, value in recorded.items():
        torch.testing.assert_close(value, reference[name], atol=1e-4, rtol=1e-4, msg=name)


def test_tap_catalogue_matches_recorded_shapes(built, recorded):
    h, w = INPUT_SHAPE[2:]
    assert [t.name for t in built.feature_info] == list(recorded)
    for tap in built.feature_info:
        cells = ((h - 1) // tap.stride + 1, (w - 1) // tap.stride + 1)
        assert recorded[tap.name].shape == (1, tap.channels, *cells), tap.name


HEAD_TAPS = {"ga": "a2block.tap_ga", "ldv1.mask": "a2block.local_attention.mask", "ld": "tap_ld"}


@pytest.fixture(scope="module")
def head_case(built):
    """The head alone on 23×25 features: dconv3 then gives 2×2 cells, so M varies over the image.

    (At the 113×129 input of the full forward M is one value per channel.) The copy's BatchNorm
    statistics are recalibrated on features of this size so M is not saturated.
    """
    head = copy.deepcopy(built.head)
    gen = torch.Generator().manual_seed(4)
    for mod in head.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None
    with torch.no_grad():
        head.train()(torch.relu(torch.randn(2, 2048, 23, 25, generator=gen)))
    head.eval()
    feats = torch.relu(torch.randn(1, 2048, 23, 25, generator=gen))
    out = {}
    handles = [
        head.get_submodule(path).register_forward_hook(lambda _m, _i, o, name=name: out.__setitem__(name, o))
        for name, path in HEAD_TAPS.items()
    ]
    with torch.no_grad():
        out["logits"] = head(feats)
    for handle in handles:
        handle.remove()
    sd = {f"head.{k}": v for k, v in head.state_dict().items()}
    return sd, feats, out


def test_head_matches_reference_with_a_varying_mask(head_case):
    sd, feats, out = head_case
    with torch.no_grad():
        ref = reference_head(sd, feats)
    for name in ("ga", "ldv1.mask", "ld", "logits"):
        torch.testing.assert_close(out[name], ref[name], atol=1e-4, rtol=1e-4, msg=name)
    mask = out["ldv1.mask"]
    # The official W_d ends in a ReLU, so M = σ(≥ 0) lies in [0.5, 1].
    assert mask.min() >= 0.5 and mask.max() <= 1
    assert mask.std(dim=(2, 3)).mean() > 1e-2


@pytest.mark.parametrize(
    "variant", [{"ld_times_g": 1.0}, {"ga_align_corners": False}, {"mask_align_corners": False}]
)
def test_reference_rejects_wrong_variants(head_case, variant):
    """The comparison is sharp: G·(1+M) (the paper's Eq. 2) or an align_corners=False resize fails it."""
    sd, feats, out = head_case
    with torch.no_grad():
        other = reference_head(sd, feats, **variant)["logits"]
    assert (other - out["logits"]).abs().max() > 1e-2


def test_load_official_file_saved_from_cuda(recorded, official_file, x, reference):
    with pytest.raises(RuntimeError, match="CUDA"):  # the file really carries CUDA storages
        torch.load(official_file, weights_only=True)
    model = load_model(official_file)
    assert isinstance(model, OfficialGALDNet) and not model.training
    assert model.arch == "official_gald_r50" and model.num_classes == 19
    assert model.preset == "official_bgr" and model.min_input_size == 111
    assert model.evaluation == Evaluation("slide", 832, 555) and model.logit_geometry == "stretch"
    info = model.checkpoint_info
    assert info["format"] == "official"
    assert info["sha256"] == hashlib.sha256(official_file.read_bytes()).hexdigest()
    assert "dropped 9 dsn.* keys" in info["metadata"]["conversion"]
    assert all(p.device.type == "cpu" for p in model.parameters())
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out, recorded["logits"], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out, reference["logits"], atol=1e-4, rtol=1e-4)


def _old_stem(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the deep stem to the older separate-module layout (inverse of OLD_STEM_RENAMES)."""
    inverse = {new: old for old, new in OLD_STEM_RENAMES.items()}
    out = {}
    for k, v in sd.items():
        parts = k.split(".")
        head = ".".join(parts[:2]) if parts[0] == "conv1" else parts[0]
        out[k.replace(head, inverse[head], 1) if head in inverse else k] = v
    return out


def test_old_stem_prefix_wrapper_and_legacy_format_through_a_file(built, official_sd, tmp_path):
    old = _old_stem(official_sd)
    assert "conv2.weight" in old and "bn3.running_mean" in old and "conv1.0.weight" not in old
    path = tmp_path / "wrapped.pth"
    _save_as_cuda({"state_dict": {f"module.{k}": v for k, v in old.items()}, "epoch": 40}, path, legacy=True)
    assert path.read_bytes()[:1] == b"\x80"  # a bare pickle stream, not a zip
    model = load_model(path)
    conversion = model.checkpoint_info["metadata"]["conversion"]
    for note in ("unwrapped 'state_dict'", "module.", "older stem", "dsn"):
        assert note in conversion
    expected = built.state_dict()
    got = model.state_dict()
    assert set(got) == set(expected)
    assert all(torch.equal(got[k], expected[k]) for k in expected)


@pytest.mark.parametrize("wrapper", [None, "state_dict", "model"])
def test_wrappers_and_prefixes_in_memory(built, official_sd, wrapper):
    sd = {f"module.{k}": v for k, v in official_sd.items()}
    model = from_official_state_dict({wrapper: sd} if wrapper else sd)
    got, expected = model.state_dict(), built.state_dict()
    assert all(torch.equal(got[k], expected[k]) for k in expected)


def test_missing_num_batches_tracked_is_tolerated(built, official_sd):
    sd = {k: v for k, v in official_sd.items() if not k.endswith("num_batches_tracked")}
    model = from_official_state_dict(sd)
    assert torch.equal(model.head.bottleneck[3].weight, built.head.bottleneck[3].weight)


def test_resnet101_and_classes_detected_from_keys():
    with torch.device("meta"):
        sd = OfficialGALDNet(depth=101, num_classes=21).state_dict()
    model = from_official_state_dict(dict(sd))
    assert model.arch == "official_gald_r101" and model.num_classes == 21
    assert len(model.layer3) == 23


def test_layout_errors_name_keys_and_shapes(official_sd):
    bad = dict(official_sd)
    bad["head.convb.0.weight"] = torch.zeros(512, 512, 1, 1)
    del bad["layer2.1.conv1.weight"]
    bad["fc.weight"] = torch.zeros(3)
    with pytest.raises(OfficialLayoutError) as err:
        from_official_state_dict(bad)
    msg = str(err.value)
    assert "missing keys (1): layer2.1.conv1.weight" in msg
    assert "unexpected keys (1): fc.weight" in msg
    assert "head.convb.0.weight: file (512, 512, 1, 1) vs model (512, 512, 3, 3)" in msg

    short = {k: v for k, v in official_sd.items() if not k.startswith("layer3.5.")}
    with pytest.raises(OfficialLayoutError, match="layer3 has 5 blocks"):
        from_official_state_dict(short)
    with pytest.raises(OfficialLayoutError, match="not tensors"):
        from_official_state_dict({"epoch": 3, "conv1.0.weight": torch.zeros(1)})


def test_input_below_111_px_is_refused(built):
    with pytest.raises(ValueError, match="111"):
        built(torch.zeros(1, 3, 110, 200))


def test_project_round_trip_of_the_official_layout(built, tmp_path):
    """save_model/load_model also carry the official layout (outputs follow from identical tensors)."""
    path = save_model(built, tmp_path / "official_r50.safetensors", note="converted")
    model = load_model(path)
    assert isinstance(model, OfficialGALDNet) and model.arch == "official_gald_r50"
    assert model.checkpoint_info["format"] == "project"
    assert model.checkpoint_info["metadata"]["note"] == "converted"
    got, expected = model.state_dict(), built.state_dict()
    assert set(got) == set(expected)
    assert all(torch.equal(got[k], expected[k]) for k in expected)
