"""Inference: presets, devices, whole vs sliding window, input_scale, padding of small images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gald_viz import inference
from gald_viz.inference import (
    PRESETS,
    InferenceError,
    predict,
    predict_logits,
    preprocess,
    resolve_device,
)
from gald_viz.models import Evaluation, SegmentationModel, build_model
from gald_viz.models.official import OfficialGALDNet

pytestmark = pytest.mark.usefixtures("one_thread")


def cells(n: int) -> int:
    """Cells of the zoo backbone for an n-pixel side (stem s2, ceil-mode max-pool, stride-2 stage)."""
    n = (n - 1) // 2 + 1
    n = -(-(n - 1) // 2) + 1
    return (n - 1) // 2 + 1


class CellSampler(SegmentationModel):
    """Stub with the zoo geometry: as many cells as the backbone, cell j reads input pixel 8j (clamped).

    Logits are (channel 0, −channel 0).
    """

    preset = "imagenet_rgb"
    output_stride = 8
    logit_geometry = "cell_centres"
    evaluation = Evaluation("whole")

    def __init__(self, input_scale: float = 1.0, min_input_size: int = 1) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.input_scale = input_scale
        self.min_input_size = min_input_size
        self.seen: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(x.shape[2:]))
        h, w = x.shape[2:]
        rows = (8 * torch.arange(cells(h))).clamp(max=h - 1)
        cols = (8 * torch.arange(cells(w))).clamp(max=w - 1)
        sampled = x[:, :1, rows][:, :, :, cols] * self.scale
        return torch.cat([sampled, -sampled], dim=1)


def ramp(h: int, w: int) -> np.ndarray:
    """A smooth image: red grows linearly along x and y, so bilinear upsampling reproduces it."""
    y, x = np.mgrid[0:h, 0:w]
    red = (x / (w - 1) * 150 + y / (h - 1) * 100).astype(np.float32)
    return np.stack([red, np.zeros_like(red), np.zeros_like(red)], -1).round().astype(np.uint8)


def red_logit(image: np.ndarray) -> np.ndarray:
    return (image[:, :, 0] / 255 - PRESETS["imagenet_rgb"].mean[0]) / PRESETS["imagenet_rgb"].std[0]


def test_presets_follow_their_definitions() -> None:
    image = np.array([[[255, 0, 10]]], np.uint8)
    rgb = preprocess(image, "imagenet_rgb")[0, :, 0, 0]
    torch.testing.assert_close(
        rgb, torch.tensor([(1 - 0.485) / 0.229, -0.456 / 0.224, (10 / 255 - 0.406) / 0.225])
    )
    bgr = preprocess(image, "official_bgr")[0, :, 0, 0]
    torch.testing.assert_close(bgr, torch.tensor([10 - 104.00698793, 0 - 116.66876762, 255 - 122.67891434]))
    with pytest.raises(InferenceError, match="valid presets"):
        preprocess(image, "caffe")
    with pytest.raises(InferenceError, match="uint8"):
        preprocess(image.astype(np.float32), "imagenet_rgb")


def test_devices() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InferenceError, match="not a device"):
        resolve_device("banana")
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:0"):
            with pytest.raises(InferenceError, match="CUDA is not available"):
                resolve_device(name)


def test_official_tiles_are_shifted_back_inside() -> None:
    assert inference._tile_starts(1024, 832, 555) == [0, 192]
    assert inference._tile_starts(2048, 832, 555) == [0, 555, 1110, 1216]
    assert inference._tile_starts(500, 832, 555) == [0]


def test_whole_and_slide_agree_on_a_smooth_image() -> None:
    image = ramp(201, 297)  # 8·25+1 × 8·37+1: cell centres land on the first and last pixels
    model = CellSampler()
    whole = predict_logits(model, image, device="cpu", mode="whole")
    slide = predict_logits(model, image, device="cpu", mode="slide", tile=97, stride=64)
    assert len(model.seen) == 1 + 3 * 5
    torch.testing.assert_close(whole, slide, atol=1e-4, rtol=0)
    np.testing.assert_allclose(whole[0].numpy(), red_logit(image), atol=0.05)


def test_auto_mode_slides_inputs_over_the_models_limit() -> None:
    model = CellSampler()
    model.evaluation = Evaluation("whole", max_whole_pixels=100 * 100)
    predict_logits(model, ramp(90, 100), device="cpu")
    assert len(model.seen) == 1
    predict_logits(model, ramp(90, 120), device="cpu", tile=64)
    assert len(model.seen) > 2
    before = len(model.seen)
    model.evaluation = Evaluation("whole", max_whole_pixels=None)
    predict_logits(model, ramp(900, 1200), device="cpu", tile=64)
    assert model.seen[before:] == [(900, 1200)]


def _forwards_at(model: SegmentationModel, size: tuple[int, int]) -> list[tuple[int, int]]:
    """The input sizes of the forwards ``predict_logits`` runs on an image of ``size`` (forward stubbed:
    the real one is too slow at 1024×2048 for a test)."""
    seen: list[tuple[int, int]] = []

    def stub_forward(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[2:]))
        return torch.zeros(1, model.num_classes, (x.shape[2] - 1) // 8 + 1, (x.shape[3] - 1) // 8 + 1)

    model.forward = stub_forward
    predict_logits(model, np.zeros((*size, 3), np.uint8), device="cpu")
    return seen


def test_small_backbone_models_run_full_resolution_whole() -> None:
    """The bundled models (small backbone, input_scale 1.0) take 1024×2048 in one forward, as the mechanism
    statistics need; a ResNet zoo model slides there to bound its memory, and runs 1024×1024 whole."""
    small = build_model("aspp_ldv2", num_classes=3, input_scale=1.0)
    assert _forwards_at(small, (1024, 2048)) == [(1024, 2048)]
    assert len(_forwards_at(small, (2048, 2560))) > 1  # past the small backbone's own bound
    with torch.device("meta"):
        resnet = build_model("aspp", num_classes=3, backbone="resnet50", input_scale=1.0)
    resnet.to_empty(device="cpu")
    assert _forwards_at(resnet, (1024, 1024)) == [(1024, 1024)]
    # 832² tiles at stride 555: rows 0, 192 × columns 0, 555, 1110, 1216.
    assert _forwards_at(resnet, (1024, 2048)) == [(832, 832)] * 8


def test_input_scale_resizes_first_and_returns_native_size() -> None:
    image = ramp(161, 241)
    model = CellSampler(input_scale=0.5)
    logits = predict_logits(model, image, device="cpu", mode="whole")
    assert model.seen == [(80, 120)]
    assert logits.shape == (2, 161, 241)
    np.testing.assert_allclose(logits[0].numpy(), red_logit(image), atol=0.1)


def test_small_images_are_padded_and_cropped() -> None:
    model = CellSampler(min_input_size=64)
    logits = predict_logits(model, ramp(20, 30), device="cpu", mode="whole")
    assert model.seen == [(64, 64)] and logits.shape == (2, 20, 30)
    assert predict(build_model("psp"), ramp(5, 7), device="cpu").shape == (5, 7)


def test_auto_mode_follows_the_declared_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Official models slide 832×832 tiles at stride 555 (the official scripts); zoo models run whole."""
    slides: list[tuple[int, int]] = []
    slide = inference._slide

    def spy(model, x, tile, stride):
        slides.append((tile, stride))
        return slide(model, x, tile, stride)

    monkeypatch.setattr(inference, "_slide", spy)
    image = ramp(840, 1000)  # under AUTO_SLIDE_PIXELS, larger than one official tile
    with torch.device("meta"):
        official = OfficialGALDNet(depth=50, num_classes=2)
    official.to_empty(device="cpu")
    seen: list[tuple[int, int]] = []

    def stub_forward(x: torch.Tensor) -> torch.Tensor:  # the ResNet-50 forward is too slow for a test
        seen.append(tuple(x.shape[2:]))
        return torch.zeros(1, 2, x.shape[2] // 8 + 1, x.shape[3] // 8 + 1)

    official.forward = stub_forward
    assert predict_logits(official, image, device="cpu").shape == (2, 840, 1000)
    assert slides == [(832, 555)] and seen == [(832, 832)] * 4  # tiles at rows 0, 8 and columns 0, 168

    zoo = build_model("fcn", num_classes=2, head_channels=16)
    assert zoo.evaluation.mode == "whole"
    zoo_seen: list[tuple[int, int]] = []
    zoo.register_forward_pre_hook(lambda _m, args: zoo_seen.append(tuple(args[0].shape[2:])))
    predict_logits(zoo, image, device="cpu")
    assert zoo_seen == [(840, 1000)] and slides == [(832, 555)]


def test_predict_outputs_and_mode_restored() -> None:
    model = build_model("aspp_ldv1", num_classes=5).train()
    image = np.random.default_rng(0).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    logits = predict_logits(model, image, device="cpu")
    labels = predict(model, image, device="cpu")
    assert model.training
    assert logits.shape == (5, 70, 90) and labels.shape == (70, 90) and labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, logits.argmax(0).numpy())
    # A single tile covering the image is the whole-image forward.
    same = predict_logits(model, image, device="cpu", mode="slide", tile=128)
    torch.testing.assert_close(same, predict_logits(model, image, device="cpu", mode="whole"))
    with pytest.raises(InferenceError, match="mode"):
        predict(model, image, mode="tiles")
