"""Training crops: random scale, random crop and horizontal flip, deterministic per (seed, index).

The augmentation GALD's training recipe uses on Cityscapes (random scaling, cropping and flipping),
with the image resized bilinearly and the label with nearest neighbour so trainIds stay exact.
"""

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from gald_viz.data.labels import IGNORE_INDEX
from gald_viz.data.sample import Sample


class TrainCrops(Dataset):
    """A torch Dataset of augmented crops drawn from a source or an endless generator.

    Args:
        source: a source (sequence of Sample) or a callable ``index -> Sample`` (e.g. SynthCity's
            ``generate``), which needs ``length``.
        crop: (height, width) of every crop.
        scale: (low, high) range of the random resize factor.
        base_scale: a fixed factor applied before the random one (0.5 trains at half resolution).
        seed: augmentation seed; ``(seed, index)`` fixes scale, crop position and flip.
        length: number of crops per epoch (default: the source's length). Indices beyond the
            source's length wrap around with fresh augmentation.

    Each item is ``{"image": uint8 3×h×w tensor (RGB), "label": int64 h×w tensor (255 = ignore)}``.
    """

    def __init__(
        self,
        source: Sequence[Sample] | Callable[[int], Sample],
        crop: tuple[int, int] = (512, 1024),
        scale: tuple[float, float] = (0.5, 2.0),
        base_scale: float = 1.0,
        seed: int = 0,
        length: int | None = None,
    ) -> None:
        if len(crop) != 2 or min(crop) < 1:
            raise ValueError(f"crop={crop!r}: expected (height, width) of positive ints")
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale={scale!r}: expected 0 < low <= high")
        if base_scale <= 0:
            raise ValueError(f"base_scale={base_scale}: must be > 0")
        self.is_sequence = hasattr(source, "__getitem__") and hasattr(source, "__len__")
        if not self.is_sequence and not callable(source):
            raise ValueError("source: expected a sequence of Sample or a callable index -> Sample")
        if length is None:
            if not self.is_sequence:
                raise ValueError("length: required when source is a generator callable")
            length = len(source)
        if length < 1 or (self.is_sequence and len(source) == 0):
            raise ValueError("TrainCrops needs a non-empty source and length >= 1")
        self.source, self.crop, self.scale = source, (int(crop[0]), int(crop[1])), scale
        self.base_scale, self.seed, self.length = base_scale, seed, int(length)

    def __len__(self) -> int:
        return self.length

    def _sample(self, index: int) -> Sample:
        if self.is_sequence:
            return self.source[index % len(self.source)]
        return self.source(index)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} crops")
        sample = self._sample(index)
        if sample.label is None:
            raise ValueError(f"sample {sample.name!r} has no label: TrainCrops needs labelled data")
        rng = np.random.default_rng([self.seed, index])
        factor = self.base_scale * rng.uniform(*self.scale)
        h, w = sample.label.shape
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        image = cv2.resize(sample.image, size, interpolation=cv2.INTER_LINEAR)
        label = cv2.resize(sample.label, size, interpolation=cv2.INTER_NEAREST)
        ch, cw = self.crop
        pad_h, pad_w = max(ch - size[1], 0), max(cw - size[0], 0)
        if pad_h or pad_w:
            image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            label = cv2.copyMakeBorder(label, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=IGNORE_INDEX)
        y = rng.integers(label.shape[0] - ch + 1)
        x = rng.integers(label.shape[1] - cw + 1)
        image, label = image[y : y + ch, x : x + cw], label[y : y + ch, x : x + cw]
        if rng.random() < 0.5:
            image, label = image[:, ::-1], label[:, ::-1]
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
            "label": torch.from_numpy(label.astype(np.int64)),
        }
