"""Label sets: the classes a data set and a model share, as one object the whole library takes.

A :class:`LabelSet` holds the class names (train id order), their colours, the id that marks pixels
not evaluated in the set's files (``ignore_id``) and, where the files store other ids than the train
ids, the lookup from those file ids to train ids (``id_map``). :data:`CITYSCAPES`, built from
cityscapesScripts' table through :mod:`gald_viz.data.labels`, is the default everywhere and behaves
exactly as the 19-class constants do. Other sets are read from a small JSON or CSV file
(:mod:`gald_viz.data.label_files`, format in ``docs/label_sets.md``).

In memory every label map holds train ids ``0..K-1`` and :data:`IGNORE_INDEX` (255) for pixels not
evaluated, whatever the set: decoding a file (:meth:`LabelSet.decode`) maps the set's ``ignore_id``
and its void file ids to 255, so scoring, boundaries and losses keep one ignore convention. Hence at
most :data:`MAX_CLASSES` = 255 classes, and ``ignore_id`` may not be a train id (``>= K``).

>>> CITYSCAPES.num_classes, CITYSCAPES.class_names[13], CITYSCAPES.describe()
(19, 'car', 'cityscapes (19 classes)')
>>> five = LabelSet("five", ("a", "b", "c", "d", "e"), ((0, 0, 0),) * 5)
>>> five.decode(np.array([[4, 255]]), "trainId").tolist()
[[4, 255]]
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from gald_viz.data import labels as _cs

IGNORE_INDEX = _cs.IGNORE_INDEX
"""The in-memory train id of pixels that are not evaluated, for every label set."""
MAX_CLASSES = 255
"""Most classes a set may have: train ids are uint8 and 255 stays free for ignore."""
MAX_NAME_CHARS = 80
RESERVED_NAMES = ("mean", "ignore", "metric", "threshold", "radius_px")
"""Names a class may not have: tables use them as columns, figures as the ignore label."""
CITYSCAPES_NAME = "cityscapes"


class LabelSetError(ValueError):
    """A label set that cannot be used; the message names its file (or name) and the problem."""


def _check_text(value: object, what: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelSetError(f"{where}: {what} must be a non-empty text, got {value!r}")
    if value != value.strip() or len(value) > MAX_NAME_CHARS or any(ord(c) < 32 for c in value):
        raise LabelSetError(
            f"{where}: {what} {value!r} must have no leading or trailing spaces, no control characters"
            f" and at most {MAX_NAME_CHARS} characters"
        )
    return value


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_fields(s: LabelSet, where: str) -> None:
    """Every rule of the module docstring; the message names ``where`` and the offending entry."""
    _check_text(s.name, "the set's name", where)
    k = len(s.class_names)
    if not 1 <= k <= MAX_CLASSES:
        raise LabelSetError(
            f"{where}: {k} classes; a label set has 1..{MAX_CLASSES} (train ids are uint8 and"
            f" {IGNORE_INDEX} is ignore)"
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(s.class_names):
        _check_text(name, f"class {i}'s name", where)
        if name in RESERVED_NAMES:
            raise LabelSetError(
                f"{where}: class {i} is named {name!r}, a name tables and figures use themselves"
                f" ({', '.join(RESERVED_NAMES)}); rename it"
            )
        if name in seen:
            raise LabelSetError(f"{where}: duplicate class name {name!r} (classes {seen[name]} and {i})")
        seen[name] = i
    if len(s.colors) != k:
        raise LabelSetError(f"{where}: {len(s.colors)} colours for {k} classes")
    for i, rgb in enumerate(s.colors):
        if not (isinstance(rgb, tuple) and len(rgb) == 3 and all(_whole(c, 0, 255) for c in rgb)):
            raise LabelSetError(
                f"{where}: class {i} ({s.class_names[i]!r}): colour {rgb!r} is not (r, g, b) 0..255"
            )
    if not _whole(s.ignore_id, 0, 255):
        raise LabelSetError(f"{where}: ignore id {s.ignore_id!r} must be a whole number 0..255")
    if s.ignore_id < k:
        raise LabelSetError(
            f"{where}: ignore id {s.ignore_id} collides with class {s.ignore_id}"
            f" ({s.class_names[s.ignore_id]!r}); train ids are 0..{k - 1}, so the ignore id must be"
            f" {k}..255"
        )
    if s.id_map is not None:
        _check_id_map(s, where)


def _check_id_map(s: LabelSet, where: str) -> None:
    k = len(s.class_names)
    ids = [file_id for file_id, _ in s.id_map]
    for file_id, train_id in s.id_map:
        if not _whole(file_id, 0, 255):
            raise LabelSetError(f"{where}: file id {file_id!r} is outside 0..255 (label PNGs are 8-bit)")
        if not (_whole(train_id, 0, k - 1) or train_id == IGNORE_INDEX):
            raise LabelSetError(f"{where}: file id {file_id} maps to train id {train_id!r}, not 0..{k - 1}")
        if file_id == s.ignore_id:
            raise LabelSetError(
                f"{where}: file id {file_id} is the ignore id; the ignore id needs no entry of its own"
            )
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise LabelSetError(f"{where}: file ids {twice} are listed more than once")
    if ids != sorted(ids):
        raise LabelSetError(f"{where}: the id map must be sorted by file id")
    unmapped = sorted(set(range(k)) - {t for _, t in s.id_map})
    if unmapped:
        shown = ", ".join(f"{c} ({s.class_names[c]!r})" for c in unmapped[:5])
        raise LabelSetError(f"{where}: classes {shown} have no file id; give every class its ids")


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class LabelSet:
    """The classes of a data set and its models (see the module docstring).

    Attributes:
        name: a short name recorded with runs and checkpoints ("cityscapes", "ade20k-150").
        class_names: K names in train id order.
        colors: K (r, g, b) colours, train id order (ignore and unknown ids draw black).
        ignore_id: the id that marks pixels not evaluated in the set's files (``K..255``).
        id_map: sorted ``(file id, train id)`` pairs when the files store other ids (Cityscapes'
            labelIds); train id :data:`IGNORE_INDEX` marks a void file id. None: the files hold train
            ids.
        source: where the set was read from (messages only; not part of its content or equality).

    Raises:
        LabelSetError: on construction, any rule broken (duplicate names, colours, ids, ignore id).
    """

    name: str
    class_names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...]
    ignore_id: int = IGNORE_INDEX
    id_map: tuple[tuple[int, int], ...] | None = None
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_fields(self, self.source or f"label set {self.name!r}")

    @property
    def num_classes(self) -> int:
        """K, the number of classes (train ids ``0..K-1``)."""
        return len(self.class_names)

    @cached_property
    def sha256(self) -> str:
        """Hash of the content (names, colours, ignore id, id map; not the name or the file)."""
        content = {
            "class_names": list(self.class_names),
            "colors": [list(c) for c in self.colors],
            "ignore_id": self.ignore_id,
            "id_map": None if self.id_map is None else [list(p) for p in self.id_map],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    @property
    def is_cityscapes(self) -> bool:
        """True for the built-in Cityscapes set (the one published tables and SynthCity belong to)."""
        return self.name == CITYSCAPES_NAME and self.sha256 == CITYSCAPES.sha256

    def identity(self) -> dict[str, str]:
        """What a run or a checkpoint records of the set: its name and content hash."""
        return {"name": self.name, "sha256": self.sha256}

    def describe(self) -> str:
        """``cityscapes (19 classes)``, or ``NAME (K classes, sha256 0123456789ab)`` for any other set."""
        if self.is_cityscapes:
            return f"{self.name} ({self.num_classes} classes)"
        return f"{self.name} ({self.num_classes} classes, sha256 {self.sha256[:12]})"

    @property
    def title(self) -> str:
        """How messages name the set's classes: "the Cityscapes training classes", "label set 'x'"."""
        return "the Cityscapes training classes" if self.is_cityscapes else f"label set {self.name!r}"

    @cached_property
    def color_array(self) -> np.ndarray:
        """(K, 3) uint8 RGB, read-only."""
        return _readonly(np.array(self.colors, dtype=np.uint8).reshape(-1, 3))

    @cached_property
    def palette(self) -> np.ndarray:
        """(256, 3) uint8: the class colours, black for ignore and every other id; read-only."""
        out = np.zeros((256, 3), dtype=np.uint8)
        out[: self.num_classes] = self.color_array
        return _readonly(out)

    @cached_property
    def train_lookup(self) -> np.ndarray:
        """(256,) uint8: a train-id file's value → the in-memory train id (ignore id → 255)."""
        out = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        out[: self.num_classes] = np.arange(self.num_classes)
        return _readonly(out)

    @cached_property
    def train_valid(self) -> np.ndarray:
        """(256,) bool: the values a train-id file may hold (the train ids and the ignore id)."""
        out = np.zeros(256, dtype=bool)
        out[: self.num_classes] = True
        out[self.ignore_id] = True
        return _readonly(out)

    @cached_property
    def id_lookup(self) -> np.ndarray | None:
        """(256,) uint8: a file id → its train id (void and unknown ids → 255); None without an id map."""
        if self.id_map is None:
            return None
        out = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        for file_id, train_id in self.id_map:
            out[file_id] = train_id
        return _readonly(out)

    @cached_property
    def id_valid(self) -> np.ndarray | None:
        """(256,) bool: what a file of ids may hold (mapped ids, the ignore id); None without a map."""
        if self.id_map is None:
            return None
        out = np.zeros(256, dtype=bool)
        out[[file_id for file_id, _ in self.id_map]] = True
        out[self.ignore_id] = True
        return _readonly(out)

    def decode(self, ids: np.ndarray, encoding: str) -> np.ndarray:
        """A file's values (already checked to fit) as in-memory train ids.

        Args:
            ids: integer array; values outside 0..255 and negative ids become ignore.
            encoding: ``"trainId"`` (the file holds train ids and the ignore id) or ``"labelId"``
                (the file holds the ids of :attr:`id_map`).
        """
        table = self.id_lookup if encoding == "labelId" else self.train_lookup
        if table is None:
            raise LabelSetError(f"label set {self.name!r} has no id map; its files hold train ids")
        ids = np.asarray(ids)
        out = table[np.clip(ids, 0, 255).astype(np.intp)]
        if np.issubdtype(ids.dtype, np.signedinteger) and (ids < 0).any():
            out[ids < 0] = IGNORE_INDEX
        return out

    def colorize(self, train_ids: np.ndarray) -> np.ndarray:
        """Colour an in-memory train-id map: H×W×3 uint8, ignore and other ids black."""
        return self.palette[np.clip(np.asarray(train_ids), 0, 255).astype(np.intp)]

    def class_name(self, train_id: int) -> str:
        """The name of a train id, "ignore" for 255 and "id N" for anything else."""
        if 0 <= train_id < self.num_classes:
            return self.class_names[train_id]
        return "ignore" if train_id == IGNORE_INDEX else f"id {train_id}"

    def train_text(self) -> str:
        """What a train-id file holds, for messages: ``trainIds (0..18, 255 ignore)``."""
        return f"trainIds (0..{self.num_classes - 1}, {self.ignore_id} ignore)"

    def id_text(self) -> str:
        """What a file of ids holds, for messages: ``Cityscapes labelIds (0..33, 255)``."""
        owner = "Cityscapes" if self.is_cityscapes else f"label set {self.name!r}"
        return f"{owner} labelIds ({_ranges(sorted(f for f, _ in self.id_map or ()))}, {self.ignore_id})"


def _ranges(values: list[int]) -> str:
    """``0..33`` or ``0, 2..5`` for sorted whole numbers.

    >>> _ranges([0, 2, 3, 4, 5, 9])
    '0, 2..5, 9'
    """
    parts, start = [], None
    for i, v in enumerate(values):
        start = v if start is None else start
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(v) if v == start else f"{start}..{v}")
            start = None
    return ", ".join(parts)


def _cityscapes() -> LabelSet:
    id_map = tuple((label_id, int(_cs.LABELID_TO_TRAINID[label_id])) for label_id in sorted(_cs.LABEL_IDS))
    return LabelSet(
        name=CITYSCAPES_NAME,
        class_names=_cs.CLASS_NAMES,
        colors=tuple(tuple(int(c) for c in rgb) for rgb in _cs.CLASS_COLORS),
        ignore_id=IGNORE_INDEX,
        id_map=id_map,
        source="the built-in Cityscapes label set",
    )


CITYSCAPES = _cityscapes()
"""The 19 Cityscapes training classes (cityscapesScripts): names, colours, labelIds → trainIds."""
