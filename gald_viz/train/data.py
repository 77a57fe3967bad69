"""The training set: augmented crops of SynthCity (from memory) or of a dataset on disk.

SynthCity is trained from memory, never from disk: a pool of ``--pool`` train images is generated once at
``--data-size`` (1024×2048 by default) and resized by the model's ``input_scale`` the way
:func:`gald_viz.inference.model_input` resizes at inference, and every crop is a fresh random
scale/crop/flip of a pool image (:class:`gald_viz.data.augment.TrainCrops`). The batch at iteration
``t`` is a pure function of ``(seed, t)``, so a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch
from tqdm import tqdm

from gald_viz.data.sample import Sample
from gald_viz.data.spec import SynthCitySpec, training_spec
from gald_viz.train.config import TrainConfig, TrainError, label_set_of


class SynthCityPool:
    """A fixed pool of SynthCity train samples held in memory, indexable without end.

    Index ``i`` maps to pool image ``hash(seed, i) mod size``, so the order is random but reproducible.
    Images are generated at ``data_size`` and resized by ``input_scale`` exactly as inference resizes a
    full-size image; labels use nearest-neighbour resizing.
    """

    def __init__(
        self,
        *,
        size: int,
        seed: int,
        input_scale: float,
        data_size: tuple[int, int],
        progress: bool = True,
    ) -> None:
        from gald_viz.data.synthcity import generate

        if size < 1:
            raise TrainError(f"--pool must be at least 1, got {size}")
        self.seed = seed
        self.samples = [
            _resize_sample(
                generate(i, split="train", seed=seed, height=data_size[0], width=data_size[1]), input_scale
            )
            for i in tqdm(range(size), desc="SynthCity pool", leave=False, disable=not progress)
        ]

    def __call__(self, index: int) -> Sample:
        pick = np.random.default_rng([self.seed, index]).integers(len(self.samples))
        return self.samples[pick]


def _resize_sample(sample: Sample, scale: float) -> Sample:
    """Resize like ``inference.model_input`` (area when shrinking, bilinear when enlarging)."""
    h, w = sample.image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return sample
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.resize(sample.image, size, interpolation=interp)
    label = cv2.resize(sample.label, size, interpolation=cv2.INTER_NEAREST)
    return Sample(image=image, label=label, name=sample.name)


def build_dataset(
    config: TrainConfig, input_scale: float, *, progress: bool = True
) -> tuple[torch.utils.data.Dataset, str]:
    """The augmented training set for ``config.data`` and its description for the metadata."""
    from gald_viz.data.augment import TrainCrops

    spec = training_spec(config.data)
    label_set = label_set_of(config)
    if isinstance(spec, SynthCitySpec):
        if not label_set.is_cityscapes:
            raise TrainError(
                f"--data {config.data!r}: SynthCity draws the Cityscapes classes, not {label_set.title};"
                " train on a folders: or cityscapes: source"
            )
        if spec != SynthCitySpec(split="train"):
            raise TrainError(
                f"--data {config.data!r}: SynthCity trains on its train split only; use 'synthcity'"
            )
        source: Callable[[int], Sample] | Sequence[Sample] = SynthCityPool(
            size=config.pool,
            seed=config.seed,
            input_scale=input_scale,
            data_size=config.data_size,
            progress=progress,
        )
        h, w = config.data_size
        described = (
            f"synthcity:train seed={config.seed} pool={config.pool} generated {h}x{w}, "
            f"resized by input_scale {input_scale:g}"
        )
        base_scale = 1.0
    else:
        from gald_viz.data.sources import open_source

        try:
            source = open_source(spec, label_set=label_set)
        except ValueError as err:
            raise TrainError(f"--data {config.data!r}: {err}") from err
        described = source.describe()
        base_scale = input_scale
    crops = TrainCrops(
        source,
        crop=config.crop,
        scale=config.scale,
        base_scale=base_scale,
        seed=config.seed,
        length=config.iters * config.batch,
    )
    return crops, described


def batch_at(
    dataset: torch.utils.data.Dataset, iteration: int, batch: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch of ``iteration``: samples ``iteration·batch … +batch-1`` (a pure function of the index)."""
    items = [dataset[iteration * batch + j] for j in range(batch)]
    images = torch.stack([it["image"] for it in items])
    labels = torch.stack([it["label"] for it in items])
    return images, labels
