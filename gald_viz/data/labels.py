"""The 19 Cityscapes training classes, derived from cityscapesScripts' label definitions.

Cordts et al., "The Cityscapes Dataset for Semantic Urban Scene Understanding", CVPR 2016. The table is
read at import from ``cityscapesscripts.helpers.labels`` so names, ids and colours can never drift from
the official definitions: GALD (and every Cityscapes paper) trains and evaluates on these 19 trainIds.
"""

import numpy as np
from cityscapesscripts.helpers import labels as _cs

IGNORE_INDEX = 255
"""trainId of pixels that are not evaluated (Cityscapes' void classes)."""

# trainId -1 (license plate) and 255 are not training classes; ids < 0 are not stored in label PNGs.
_TRAIN_LABELS = sorted(
    (lab for lab in _cs.labels if 0 <= lab.trainId < IGNORE_INDEX), key=lambda lab: lab.trainId
)

NUM_CLASSES = len(_TRAIN_LABELS)
if NUM_CLASSES != 19 or [lab.trainId for lab in _TRAIN_LABELS] != list(range(19)):
    raise ImportError("cityscapesscripts does not define the 19 consecutive Cityscapes trainIds")

CLASS_NAMES: tuple[str, ...] = tuple(lab.name for lab in _TRAIN_LABELS)
"""Class names in trainId order (``CLASS_NAMES[0] == "road"``)."""

CLASS_COLORS: np.ndarray = np.array([lab.color for lab in _TRAIN_LABELS], dtype=np.uint8)
"""(19, 3) uint8 RGB colours of the official Cityscapes palette, trainId order."""


def _build_lookups() -> tuple[np.ndarray, np.ndarray]:
    label_to_train = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for lab in _cs.labels:
        if 0 <= lab.id < 256:
            label_to_train[lab.id] = lab.trainId if 0 <= lab.trainId < IGNORE_INDEX else IGNORE_INDEX
    # Ignore maps back to labelId 0 ("unlabeled"), the id cityscapesScripts' evaluation skips.
    train_to_label = np.zeros(256, dtype=np.uint8)
    for lab in _TRAIN_LABELS:
        train_to_label[lab.trainId] = lab.id
    return label_to_train, train_to_label


LABELID_TO_TRAINID, TRAINID_TO_LABELID = _build_lookups()
"""256-entry uint8 lookups: ``LABELID_TO_TRAINID[label_ids]`` and ``TRAINID_TO_LABELID[train_ids]``."""

LABEL_IDS: frozenset[int] = frozenset(lab.id for lab in _cs.labels if 0 <= lab.id < 256)
"""The Cityscapes labelIds a ``*_gtFine_labelIds.png`` may hold (0..33)."""

LABELID_TO_TRAINID.flags.writeable = False
TRAINID_TO_LABELID.flags.writeable = False
CLASS_COLORS.flags.writeable = False

# Ignore and every id without a class draw black, as cityscapesScripts colours "unlabeled".
_PALETTE = np.zeros((256, 3), dtype=np.uint8)
_PALETTE[:NUM_CLASSES] = CLASS_COLORS


def to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map a Cityscapes labelId map (``*_gtFine_labelIds.png``) to trainIds.

    Args:
        label_ids: integer array of labelIds (0..33; other values map to ignore).

    Returns:
        uint8 array of the same shape with trainIds 0..18 and 255 for ignore.

    >>> to_train_ids(np.array([7, 26, 0, 33])).tolist()
    [0, 13, 255, 18]
    """
    ids = np.asarray(label_ids)
    out = LABELID_TO_TRAINID[np.clip(ids, 0, 255).astype(np.intp)]
    if np.issubdtype(ids.dtype, np.signedinteger) and (ids < 0).any():
        out[ids < 0] = IGNORE_INDEX
    return out


def to_label_ids(train_ids: np.ndarray) -> np.ndarray:
    """Map trainIds back to Cityscapes labelIds (ignore becomes 0, "unlabeled").

    Args:
        train_ids: integer array of trainIds (0..18, 255 ignore).

    Returns:
        uint8 array of labelIds, the encoding of ``*_gtFine_labelIds.png``.

    >>> to_label_ids(np.array([0, 13, 255])).tolist()
    [7, 26, 0]
    """
    return TRAINID_TO_LABELID[np.clip(np.asarray(train_ids), 0, 255).astype(np.intp)]


def colorize(train_ids: np.ndarray) -> np.ndarray:
    """Colour a trainId map with the Cityscapes palette.

    Args:
        train_ids: H×W integer trainId map.

    Returns:
        H×W×3 uint8 RGB image; ignore (255) and out-of-range ids are black.

    >>> colorize(np.array([[0, 255]])).tolist()
    [[[128, 64, 128], [0, 0, 0]]]
    """
    return _PALETTE[np.clip(np.asarray(train_ids), 0, 255).astype(np.intp)]
