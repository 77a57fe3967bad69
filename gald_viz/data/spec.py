"""Typed data specs: what a command line, the sidebar, training and the results store call a data set.

A spec is a small frozen dataclass that parses itself from the short text form the command lines take
and prints itself back in one canonical form (``str(spec)``), so a spec built by the sidebar, parsed from
``--data`` or stored with a run reads the same everywhere:

    ``synthcity:SPLIT[:count=N,seed=S,size=HxW]`` — SynthCity rendered on access (defaults: val, seed 0,
    1024×2048, 50 scenes unless a limit is given);
    ``cityscapes:SPLIT[:ROOT]`` — the Cityscapes layout (root defaults to ``$CITYSCAPES_DATASET``);
    ``folders:IMAGES,LABELS[,ENCODING]`` — a folder of images and one of label PNGs with matching stems.

>>> str(parse_spec("synthcity:val:size=512x1024,seed=0"))
'synthcity:val:size=512x1024'
>>> parse_spec("cityscapes")
CityscapesSpec(split='val', root=None)
>>> str(FolderSpec("imgs", "labs", "labelId"))
'folders:imgs,labs,labelId'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from gald_viz.data.cityscapes import ENCODINGS

SYNTHCITY_SPLITS = ("train", "val", "test")
SYNTHCITY_DEFAULT_COUNT = 50
SYNTHCITY_DEFAULT_SIZE = (1024, 2048)
KINDS = "synthcity:val, cityscapes:val[:ROOT] or folders:IMAGES,LABELS"


class SourceError(ValueError):
    """A source spec cannot be parsed or opened; the message names the spec."""


@dataclass(frozen=True)
class SynthCitySpec:
    """SynthCity scenes: ``count`` None means the default count (or exactly the caller's limit)."""

    split: str = "val"
    count: int | None = None
    seed: int = 0
    size: tuple[int, int] = SYNTHCITY_DEFAULT_SIZE

    def __post_init__(self) -> None:
        if self.split not in SYNTHCITY_SPLITS:
            raise SourceError(f"source {self}: SynthCity split must be one of {', '.join(SYNTHCITY_SPLITS)}")

    def __str__(self) -> str:
        options = [f"count={self.count}"] if self.count is not None else []
        options += [f"seed={self.seed}"] if self.seed != 0 else []
        options += [f"size={self.size[0]}x{self.size[1]}"] if self.size != SYNTHCITY_DEFAULT_SIZE else []
        return f"synthcity:{self.split}" + (":" + ",".join(options) if options else "")


@dataclass(frozen=True)
class CityscapesSpec:
    """A Cityscapes split under ``root`` (None: ``$CITYSCAPES_DATASET``)."""

    split: str = "val"
    root: str | None = None

    def __str__(self) -> str:
        return f"cityscapes:{self.split}" + (f":{self.root}" if self.root else "")


@dataclass(frozen=True)
class FolderSpec:
    """Images and label maps in two folders, pairs matched by file stem."""

    images: str
    labels: str
    encoding: str = "auto"

    def __str__(self) -> str:
        tail = f",{self.encoding}" if self.encoding != "auto" else ""
        return f"folders:{self.images},{self.labels}{tail}"


DataSpec = SynthCitySpec | CityscapesSpec | FolderSpec


def _synthcity(text: str, rest: str) -> SynthCitySpec:
    split, _, options = rest.partition(":")
    if split not in SYNTHCITY_SPLITS:
        raise SourceError(f"source {text!r}: SynthCity split must be one of {', '.join(SYNTHCITY_SPLITS)}")
    fields: dict = {}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        if key not in ("count", "seed", "size"):
            raise SourceError(f"source {text!r}: unknown SynthCity option {key!r} (count, seed, size)")
        try:
            if key == "size":
                h, w = value.lower().split("x")
                fields["size"] = (int(h), int(w))
            else:
                fields[key] = int(value)
        except ValueError as err:
            raise SourceError(
                f"source {text!r}: bad {item!r} (e.g. count=30, seed=0, size=512x1024)"
            ) from err
    return SynthCitySpec(split=split, **fields)


def _folders(text: str, rest: str) -> FolderSpec:
    parts = rest.split(",")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise SourceError(f"source {text!r}: expected folders:IMAGES,LABELS[,ENCODING]")
    encoding = parts[2] if len(parts) == 3 else "auto"
    if encoding not in ENCODINGS:
        raise SourceError(f"source {text!r}: encoding must be one of {', '.join(ENCODINGS)}")
    return FolderSpec(parts[0], parts[1], encoding)


def parse_spec(text: str | DataSpec) -> DataSpec:
    """The spec a text names (a spec is returned as it is).

    Raises:
        SourceError: an unknown kind or a malformed spec; the message quotes the text.
    """
    if not isinstance(text, str):
        return text
    kind, sep, rest = text.partition(":")
    if kind == "synthcity":
        return _synthcity(text, rest if sep else "val")
    if kind == "cityscapes":
        split, _, root = rest.partition(":")
        return CityscapesSpec(split=split or "val", root=root or None)
    if kind == "folders":
        return _folders(text, rest)
    raise SourceError(f"source {text!r}: unknown kind {kind!r}; use {KINDS}")


def _real(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def resolved(spec: str | DataSpec) -> DataSpec:
    """The spec with absolute, real paths: what a run records, so the same text run from two working
    folders, or with ``$CITYSCAPES_DATASET`` pointing elsewhere, names two data sets.

    A Cityscapes spec without a root takes ``$CITYSCAPES_DATASET`` (left None when it is unset, so
    opening the source says so).

    >>> str(resolved("synthcity:val"))
    'synthcity:val'
    """
    spec = parse_spec(spec)
    if isinstance(spec, FolderSpec):
        return replace(spec, images=_real(spec.images), labels=_real(spec.labels))
    if isinstance(spec, CityscapesSpec):
        root = spec.root or os.environ.get("CITYSCAPES_DATASET") or None
        return replace(spec, root=_real(root) if root else None)
    return spec


CITYSCAPES_SPLITS = ("train", "val", "test", "train_extra")


def training_spec(text: str | DataSpec) -> DataSpec:
    """``--data`` of the trainer, where a spec without a split names the train split.

    ``synthcity`` is SynthCity's train split and ``cityscapes[:ROOT]`` the train split under ROOT.

    >>> str(training_spec("cityscapes:/data/cs")), str(training_spec("cityscapes:val"))
    ('cityscapes:train:/data/cs', 'cityscapes:val')
    >>> str(training_spec("synthcity"))
    'synthcity:train'
    """
    if isinstance(text, str):
        kind, _, rest = text.partition(":")
        if kind == "cityscapes" and rest.split(":")[0] not in CITYSCAPES_SPLITS:
            return CityscapesSpec(split="train", root=rest or None)
        if kind == "synthcity" and not rest:
            return SynthCitySpec(split="train")
    return parse_spec(text)
