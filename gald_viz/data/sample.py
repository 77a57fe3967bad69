"""One image with its label map, and the *source* protocol every data reader follows."""

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Sample:
    """An RGB image, its trainId label map (or None when unlabelled) and a stable name.

    Args:
        image: H×W×3 uint8 RGB.
        label: H×W uint8 trainIds (255 = ignore), or None.
        name: the stem that identifies the image in its source (Cityscapes style, e.g.
            ``frankfurt_000000_000294``).
    """

    image: np.ndarray
    label: np.ndarray | None
    name: str


@runtime_checkable
class Source(Protocol):
    """A sequence of :class:`Sample` with names and provenance text.

    ``describe()`` is stored next to results so a number can be traced to the data that produced it
    (e.g. ``synthcity:val seed=0 1024x2048``).
    """

    names: list[str]

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Sample: ...

    def describe(self) -> str: ...


def check_index(index: int, length: int) -> int:
    """Normalise a sequence index (negative allowed) or raise IndexError naming the valid range.

    >>> check_index(-1, 3)
    2
    """
    if not isinstance(index, int | np.integer):
        raise TypeError(f"source index must be an int, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"index {index} out of range for a source of {length} samples")
    return int(index) % length if length else int(index)
