"""Readers for the Cityscapes folder layout and for any folder of images with matching label PNGs.

Cityscapes (Cordts et al., CVPR 2016) stores ``leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png``
and ``gtFine/{split}/{city}/{stem}_gtFine_labelIds.png``; labelIds are mapped to the 19 trainIds
GALD is evaluated on through cityscapesScripts' table (:mod:`gald_viz.data.labels`). Problems a
user can cause (missing folders, images without labels, size mismatches) raise :class:`DatasetError`
naming the path.
"""

import os
from pathlib import Path

import numpy as np

from gald_viz.data.images import ImageReadError, read_image, read_label_map
from gald_viz.data.label_encoding import (
    ENCODINGS,
    LABEL_ENDINGS,
    LabelEncodingError,
    decode_label_map,
    encoding_from_name,
)
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.data.sample import Sample, check_index

__all__ = ["ENCODINGS", "IMAGE_SUFFIXES", "CityscapesDataset", "DatasetError", "FolderPairs"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# Companion files of the Cityscapes layout that are not id maps.
_NOT_LABELS = ("_gtFine_color", "_gtFine_instanceIds", "_gtFine_instanceTrainIds")


class DatasetError(ValueError):
    """A data folder cannot be used; the message names the path and the problem."""


def _dataset_root(root: str | os.PathLike | None) -> Path:
    if root is None or str(root) == "":
        env = os.environ.get("CITYSCAPES_DATASET")
        if not env:
            raise DatasetError(
                "no Cityscapes root given and $CITYSCAPES_DATASET is not set: pass root= or set "
                "CITYSCAPES_DATASET to the folder holding leftImg8bit/ and gtFine/"
            )
        root = env
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetError(f"Cityscapes root {path}: no such folder")
    return path.resolve()


def _check_pair(image: np.ndarray, label: np.ndarray, image_path: Path, label_path: Path) -> None:
    if image.shape[:2] != label.shape:
        raise DatasetError(
            f"size mismatch: image {image_path} is {image.shape[1]}x{image.shape[0]} but its label "
            f"{label_path} is {label.shape[1]}x{label.shape[0]}"
        )


def _read_pair(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        image = read_image(image_path)
        ids = read_label_map(label_path)
    except ImageReadError as err:
        raise DatasetError(str(err)) from err
    _check_pair(image, ids, image_path, label_path)
    return image, ids


def _decode(ids: np.ndarray, label_path: Path, encoding: str, label_set: LabelSet) -> tuple[np.ndarray, str]:
    try:
        return decode_label_map(ids, str(label_path), encoding, label_set)
    except LabelEncodingError as err:
        raise DatasetError(str(err)) from err


def _set_text(label_set: LabelSet) -> str:
    """What ``describe()`` adds for a label set other than Cityscapes (so cache keys tell them apart)."""
    return "" if label_set.is_cityscapes else f" labels={label_set.describe()}"


def _missing_message(missing: list[tuple[Path, Path]], what: str) -> str:
    shown = "; ".join(f"{img} (expected {lab})" for img, lab in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    return f"{len(missing)} {what} without a label: {shown}{more}"


class CityscapesDataset:
    """The Cityscapes layout (real Cityscapes, or SynthCity written by its command line).

    Args:
        root: the folder holding ``leftImg8bit/`` and ``gtFine/``; defaults to
            ``$CITYSCAPES_DATASET`` (cityscapesScripts' convention).
        split: ``"train"``, ``"val"`` or ``"test"`` (any sub-folder name is accepted).
        label_set: how the ``*_labelIds.png`` files are read (default Cityscapes'); another set must
            have an id map from those labelIds (e.g. Cityscapes' classes merged into categories).

    ``ds[i]`` is a :class:`Sample` with the RGB image, trainIds (255 = ignore) and the stem before
    ``_leftImg8bit`` as its name.

    Raises:
        DatasetError: missing folders, a city without its gtFine folder, images without labels, a
            label set without an id map, or (on access) an image and label of different sizes.
    """

    def __init__(
        self, root: str | os.PathLike | None = None, split: str = "val", label_set: LabelSet = CITYSCAPES
    ) -> None:
        if label_set.id_map is None:
            raise DatasetError(
                f"{label_set.title}: the Cityscapes layout stores labelIds (*_gtFine_labelIds.png), but"
                " the set has no id map from file ids to its classes"
            )
        self.label_set = label_set
        self.root = _dataset_root(root)
        self.split = split
        img_dir = self.root / "leftImg8bit" / split
        gt_dir = self.root / "gtFine" / split
        for folder in (img_dir, gt_dir):
            if not folder.is_dir():
                raise DatasetError(f"Cityscapes split {split!r}: missing folder {folder}")
        cities = sorted(p for p in img_dir.iterdir() if p.is_dir())
        if not cities:
            raise DatasetError(f"Cityscapes split {split!r}: no city folders in {img_dir}")
        self._pairs: list[tuple[Path, Path]] = []
        missing: list[tuple[Path, Path]] = []
        for city in cities:
            images = sorted(city.glob("*_leftImg8bit.png"))
            if not images:
                continue
            gt_city = gt_dir / city.name
            if not gt_city.is_dir():
                raise DatasetError(f"city {city.name!r}: images in {city} but no label folder {gt_city}")
            for image in images:
                stem = image.name[: -len("_leftImg8bit.png")]
                label = gt_city / f"{stem}_gtFine_labelIds.png"
                (self._pairs if label.is_file() else missing).append((image, label))
        if missing:
            raise DatasetError(_missing_message(missing, "images"))
        if not self._pairs:
            raise DatasetError(f"Cityscapes split {split!r}: no *_leftImg8bit.png files under {img_dir}")
        self.names = [img.name[: -len("_leftImg8bit.png")] for img, _ in self._pairs]

    def __len__(self) -> int:
        return len(self._pairs)

    def __getitem__(self, index: int) -> Sample:
        index = check_index(index, len(self._pairs))
        image_path, label_path = self._pairs[index]
        image, label_ids = _read_pair(image_path, label_path)
        label, _ = _decode(label_ids, label_path, "labelId", self.label_set)
        return Sample(image=image, label=label, name=self.names[index])

    def paths(self, index: int) -> tuple[Path, Path]:
        """The (image, labelIds) file paths of sample ``index``."""
        return self._pairs[check_index(index, len(self._pairs))]

    def describe(self) -> str:
        tail = _set_text(self.label_set)
        return f"cityscapes:{self.split} root={self.root} encoding=labelId (layout) images={len(self)}{tail}"


def _label_key(stem: str) -> str | None:
    """The image stem a label file belongs to (None: a companion file that is no id map)."""
    if any(stem.endswith(end) for end in _NOT_LABELS):
        return None
    for ending, _ in LABEL_ENDINGS:
        if ending and stem.endswith(ending):
            return stem[: -len(ending)]
    return stem


def _image_key(stem: str) -> str:
    return stem[: -len("_leftImg8bit")] if stem.endswith("_leftImg8bit") else stem


def _list_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _by_key(files: list[Path], key, what: str, folder: Path) -> dict[str, Path]:
    """Files by the stem they pair on; two files on one stem (``a.png``, ``a.jpg``) are refused."""
    out: dict[str, Path] = {}
    for path in files:
        k = key(path.stem)
        if k is None:
            continue
        if k in out:
            raise DatasetError(
                f"{what} folder {folder}: {out[k].name} and {path.name} both belong to image {k!r};"
                " keep one of them (pairs are matched by file stem)"
            )
        out[k] = path
    return out


class FolderPairs:
    """Images in one folder, label PNGs with matching names in another.

    A label matches an image when their stems agree after dropping ``_leftImg8bit`` from the image
    and one of ``_gtFine_labelIds``, ``_gtFine_labelTrainIds``, ``_labelIds``, ``_trainIds``,
    ``_label`` from the label (so Cityscapes-named files and plain ``name.png`` pairs both work). Two
    files on one stem (``a.png`` and ``a.jpg``) are refused when the folders are opened. Folders are
    kept as absolute, resolved paths.

    Args:
        images_dir: folder of images (PNG, JPEG, BMP, TIFF).
        labels_dir: folder of single-channel label PNGs.
        encoding: ``"trainId"`` (0..18, 255 ignore), ``"labelId"`` (Cityscapes ids 0..33) or
            ``"auto"``: per file, by its name (``*_labelIds`` / ``*_trainIds``), else by its values only
            where they decide unambiguously (:mod:`gald_viz.data.label_encoding`); never a silent guess.
        label_set: the classes the labels belong to (default Cityscapes): its train ids, ignore id and
            id map decide what the files may hold.

    Raises:
        DatasetError: a missing or empty folder, images without labels, two files on one stem, an
            explicit encoding the label names contradict, or (on access) a label that does not fit its
            encoding (file and values named), an ambiguous unnamed label, or a size mismatch.
    """

    def __init__(
        self,
        images_dir: str | os.PathLike,
        labels_dir: str | os.PathLike,
        encoding: str = "auto",
        label_set: LabelSet = CITYSCAPES,
    ) -> None:
        if encoding not in ENCODINGS:
            raise DatasetError(f"encoding={encoding!r}: expected one of {', '.join(ENCODINGS)}")
        if encoding == "labelId" and label_set.id_map is None:
            raise DatasetError(
                f"encoding='labelId': {label_set.title} has no id map, so its label files hold trainIds"
            )
        self.label_set = label_set
        self.images_dir, self.labels_dir = Path(images_dir).expanduser(), Path(labels_dir).expanduser()
        for what, folder in (("images", self.images_dir), ("labels", self.labels_dir)):
            if not folder.is_dir():
                raise DatasetError(f"{what} folder {folder}: no such folder")
        self.images_dir, self.labels_dir = self.images_dir.resolve(), self.labels_dir.resolve()
        images = _by_key(_list_files(self.images_dir, IMAGE_SUFFIXES), _image_key, "images", self.images_dir)
        if not images:
            raise DatasetError(f"images folder {self.images_dir}: no images ({', '.join(IMAGE_SUFFIXES)})")
        labels = _by_key(_list_files(self.labels_dir, (".png",)), _label_key, "labels", self.labels_dir)
        self._pairs: list[tuple[Path, Path]] = []
        missing: list[tuple[Path, Path]] = []
        for key, image in images.items():
            if key in labels:
                self._pairs.append((image, labels[key]))
            else:
                missing.append((image, self.labels_dir / f"{key}.png"))
        if missing:
            raise DatasetError(_missing_message(missing, f"images in {self.images_dir}"))
        self._pairs.sort()
        self.names = [_image_key(img.stem) for img, _ in self._pairs]
        self.requested = encoding
        named = {encoding_from_name(lab.stem) for _, lab in self._pairs}
        if "labelId" in named and label_set.id_map is None:
            first = next(lab for _, lab in self._pairs if encoding_from_name(lab.stem) == "labelId")
            raise DatasetError(
                f"label {first}: its name says labelIds but {label_set.title} has no id map, so its"
                " label files hold trainIds"
            )
        if encoding != "auto":
            for _, lab in self._pairs:
                if encoding_from_name(lab.stem) not in (None, encoding):
                    raise DatasetError(
                        f"label {lab}: encoding={encoding!r} was chosen but the file name says "
                        f"{encoding_from_name(lab.stem)}s"
                    )
            self.encoding, self.encoding_text = encoding, f"{encoding} (explicit)"
        elif named == {"trainId"} or named == {"labelId"}:
            self.encoding = named.pop()
            self.encoding_text = f"{self.encoding} (file names)"
        elif named == {None} and label_set.id_map is None:
            self.encoding, self.encoding_text = "trainId", "trainId (the label set has no id map)"
        elif named == {None}:
            self.encoding = "labelId"
            self.encoding_text = "labelId (values of each map, refused where they do not decide)"
        else:
            self.encoding = "per-file"
            self.encoding_text = "auto: by file name, else by the values of each map"

    def __len__(self) -> int:
        return len(self._pairs)

    def __getitem__(self, index: int) -> Sample:
        index = check_index(index, len(self._pairs))
        image_path, label_path = self._pairs[index]
        image, ids = _read_pair(image_path, label_path)
        label, _ = _decode(ids, label_path, self.requested, self.label_set)
        return Sample(image=image, label=label, name=self.names[index])

    def paths(self, index: int) -> tuple[Path, Path]:
        """The (image, label) file paths of sample ``index``."""
        return self._pairs[check_index(index, len(self._pairs))]

    def describe(self) -> str:
        where = f"folders:{self.images_dir},{self.labels_dir}"
        return f"{where} encoding={self.encoding_text} images={len(self)}{_set_text(self.label_set)}"
