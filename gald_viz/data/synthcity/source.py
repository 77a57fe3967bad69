"""SynthCity scenes by number: ``generate(index, split, seed, ...)`` and the :class:`SynthCity` source."""

import numpy as np

from gald_viz.data.sample import Sample, check_index
from gald_viz.data.synthcity.canvas import Canvas
from gald_viz.data.synthcity.finish import finish
from gald_viz.data.synthcity.scene import paint_scene

SPLIT_CODES = {"train": 1, "val": 2, "test": 3}
MAX_PIXELS = 2048 * 4096
"""Largest scene rendered (4× Cityscapes' 1024×2048): rendering allocates several float canvases."""
"""Each split draws from its own RNG stream: ``default_rng([seed, SPLIT_CODES[split], index])``."""


def sample_name(index: int, seed: int = 0) -> str:
    """Cityscapes-style stem ``city_seq_frame``: the seed is the sequence, the index the frame.

    >>> sample_name(42, seed=7)
    'synthcity_000007_000042'
    """
    return f"synthcity_{seed:06d}_{index:06d}"


def _check_args(split: str, height: int, width: int) -> None:
    if split not in SPLIT_CODES:
        raise ValueError(f"split={split!r}: SynthCity splits are {sorted(SPLIT_CODES)}")
    if height < 64 or width < 64:
        raise ValueError(f"height={height}, width={width}: SynthCity renders images of at least 64x64")
    if height * width > MAX_PIXELS:
        raise ValueError(
            f"height={height}, width={width}: SynthCity renders at most {MAX_PIXELS} pixels (2048x4096)"
        )


def generate(
    index: int, split: str = "train", seed: int = 0, height: int = 1024, width: int = 2048
) -> Sample:
    """Render one SynthCity scene.

    Args:
        index: frame number (any non-negative int; the training generator is endless).
        split: ``"train"``, ``"val"`` or ``"test"``; each split has its own RNG stream.
        seed: data set seed (the Cityscapes-style sequence number in the name).
        height: image height in pixels; geometry scales with it.
        width: image width in pixels.

    Returns:
        A Sample with an H×W×3 uint8 RGB image, an exact H×W uint8 trainId label (255 = ignore)
        and the name ``synthcity_{seed:06d}_{index:06d}``. The same arguments give identical pixels.
    """
    _check_args(split, height, width)
    if index < 0 or seed < 0:
        raise ValueError(f"index={index}, seed={seed}: SynthCity index and seed must be >= 0")
    rng = np.random.default_rng([seed, SPLIT_CODES[split], index])
    cv = Canvas(rng, height, width)
    paint_scene(rng, cv)
    image = finish(rng, cv)
    return Sample(image=image, label=cv.label, name=sample_name(index, seed))


class SynthCity:
    """SynthCity as a source: ``count`` scenes of one split, rendered on access.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        count: number of scenes.
        seed: data set seed.
        height: image height.
        width: image width.
    """

    def __init__(
        self, split: str = "val", count: int = 50, seed: int = 0, height: int = 1024, width: int = 2048
    ):
        _check_args(split, height, width)
        if count < 0:
            raise ValueError(f"count={count}: must be >= 0")
        self.split, self.count, self.seed, self.height, self.width = split, count, seed, height, width
        self.names = [sample_name(i, seed) for i in range(count)]

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Sample:
        return generate(check_index(index, self.count), self.split, self.seed, self.height, self.width)

    def describe(self) -> str:
        return f"synthcity:{self.split} seed={self.seed} {self.height}x{self.width} count={self.count}"
