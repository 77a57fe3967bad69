"""TrainCrops: random scale, crop with ignore padding, flip; deterministic per (seed, index)."""

import functools

import cv2
import numpy as np
import pytest
import torch

from gald_viz.data.augment import TrainCrops
from gald_viz.data.sample import Sample
from gald_viz.data.synthcity import generate


def _toy(h: int = 40, w: int = 60) -> list[Sample]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    label = (np.arange(w)[None, :] // 10 + np.zeros((h, 1), int)).astype(np.uint8)  # columns 0..5
    return [Sample(image=image, label=label, name="toy")]


def test_items_have_the_contracted_types_and_are_deterministic():
    ds = TrainCrops(_toy(), crop=(24, 32), scale=(0.8, 1.5), seed=3, length=5)
    a, b = ds[4], ds[4]
    assert a["image"].shape == (3, 24, 32) and a["image"].dtype == torch.uint8
    assert a["label"].shape == (24, 32) and a["label"].dtype == torch.int64
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])
    other = TrainCrops(_toy(), crop=(24, 32), scale=(0.8, 1.5), seed=4, length=5)[4]
    assert not torch.equal(a["image"], other["image"])
    assert len(ds) == 5


def test_crop_larger_than_image_pads_label_with_ignore_and_image_with_zero():
    ds = TrainCrops(_toy(20, 30), crop=(50, 70), scale=(1.0, 1.0), length=1)
    item = ds[0]
    label, image = item["label"], item["image"]
    assert (label == 255).sum() == 50 * 70 - 20 * 30
    assert (image[:, label == 255] == 0).all()
    assert set(label.unique().tolist()) <= {0, 1, 2, 255}


def test_base_scale_halves_and_label_uses_nearest_neighbour():
    toy = _toy(40, 60)
    ds = TrainCrops(toy, crop=(20, 30), scale=(1.0, 1.0), base_scale=0.5, length=8)
    expected = cv2.resize(toy[0].label, (30, 20), interpolation=cv2.INTER_NEAREST)
    flips = 0
    for i in range(8):
        got = ds[i]["label"].numpy()
        if np.array_equal(got, expected[:, ::-1]) and not np.array_equal(got, expected):
            flips += 1
        else:
            np.testing.assert_array_equal(got, expected)
    assert 0 < flips < 8  # horizontal flip happens for some indices, not all


def test_generator_source_needs_a_length_and_trains_from_synthcity():
    gen = functools.partial(generate, split="train", seed=0, height=64, width=128)
    with pytest.raises(ValueError, match="length"):
        TrainCrops(gen, crop=(32, 64))
    item = TrainCrops(gen, crop=(32, 64), scale=(0.5, 1.0), length=100)[42]
    assert item["label"].shape == (32, 64)
    assert item["label"].max() <= 255 and item["label"].min() >= 0


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="scale"):
        TrainCrops(_toy(), crop=(8, 8), scale=(2.0, 1.0))
    with pytest.raises(ValueError, match="crop"):
        TrainCrops(_toy(), crop=(0, 8))
    with pytest.raises(IndexError):
        TrainCrops(_toy(), crop=(8, 8), length=2)[2]
