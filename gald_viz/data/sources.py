"""Open the data source a spec names (see :mod:`gald_viz.data.spec` for the spec forms)."""

import hashlib
import os
from pathlib import Path

from gald_viz.data.cityscapes import CityscapesDataset, DatasetError, FolderPairs
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.data.sample import Sample, Source, check_index
from gald_viz.data.spec import (
    SYNTHCITY_DEFAULT_COUNT,
    CityscapesSpec,
    DataSpec,
    FolderSpec,
    SourceError,
    SynthCitySpec,
    parse_spec,
)
from gald_viz.data.synthcity import SynthCity

__all__ = ["Limited", "SourceError", "fingerprint", "open_source"]


class Limited:
    """The first ``limit`` samples of another source."""

    def __init__(self, source: Source, limit: int) -> None:
        self.source = source
        self.count = min(limit, len(source))
        self.names = list(source.names[: self.count])

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Sample:
        return self.source[check_index(index, self.count)]

    def describe(self) -> str:
        return f"{self.source.describe()} first={self.count}"

    def paths(self, index: int) -> tuple[Path, ...]:
        """The files of sample ``index`` (sources without files: AttributeError, as theirs)."""
        return self.source.paths(check_index(index, self.count))


def fingerprint(source: Source) -> str:
    """A hash of the source's image and label files: names, sizes and modification times (ns).

    Cheap (two ``stat`` calls per image: 10 ms for 500 image and label pairs on this machine) and it
    changes when a file is added, removed, renamed, replaced or edited in place (editing sets the mtime). A
    content hash would also catch an edit that restores size and mtime on purpose, at the cost of
    reading every file (about 1 GB for Cityscapes val). Sources rendered from their spec (SynthCity)
    have no files: ``""``.

    Raises:
        SourceError: a file vanished since the source was opened.
    """
    if not hasattr(getattr(source, "source", source), "paths"):
        return ""
    digest = hashlib.sha256()
    for i in range(len(source)):
        for path in source.paths(i):
            try:
                st = os.stat(path)
            except OSError as err:
                raise SourceError(f"data file {path}: cannot be read ({err.strerror})") from err
            digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _synthcity(spec: SynthCitySpec, limit: int | None) -> SynthCity:
    count = spec.count if spec.count is not None else SYNTHCITY_DEFAULT_COUNT
    if limit is not None:
        count = min(count, limit) if spec.count is not None else limit
    try:
        return SynthCity(
            split=spec.split, count=count, seed=spec.seed, height=spec.size[0], width=spec.size[1]
        )
    except ValueError as err:
        raise SourceError(f"source {str(spec)!r}: {err}") from err


def open_source(spec: str | DataSpec, limit: int | None = None, label_set: LabelSet = CITYSCAPES) -> Source:
    """Open the source a spec names.

    Args:
        spec: a :data:`~gald_viz.data.spec.DataSpec` or its text (``synthcity:SPLIT[:OPTIONS]``,
            ``cityscapes:SPLIT[:ROOT]``, ``folders:IMAGES,LABELS[,ENCODING]``).
        limit: keep only the first ``limit`` samples (for SynthCity: render exactly ``limit`` scenes).
        label_set: the classes the label files hold (:mod:`gald_viz.data.label_set`; default
            Cityscapes). SynthCity draws the Cityscapes classes only.

    Returns:
        A source: a sequence of Sample with ``names`` and ``describe()``.

    Raises:
        SourceError: an unknown kind, a malformed spec, a folder problem, or SynthCity with another
            label set (message names the spec).

    >>> open_source("synthcity:val", limit=3).describe()
    'synthcity:val seed=0 1024x2048 count=3'
    """
    if limit is not None and limit < 0:
        raise SourceError(f"limit={limit}: must be >= 0")
    text = spec if isinstance(spec, str) else str(spec)
    parsed = parse_spec(spec)
    if isinstance(parsed, SynthCitySpec):
        if not label_set.is_cityscapes:
            raise SourceError(
                f"source {text!r}: SynthCity draws the 19 Cityscapes classes, not {label_set.title}"
                f" ({label_set.num_classes} classes); use a folders: or cityscapes: source"
            )
        return _synthcity(parsed, limit)
    try:
        if isinstance(parsed, CityscapesSpec):
            source: Source = CityscapesDataset(root=parsed.root, split=parsed.split, label_set=label_set)
        elif isinstance(parsed, FolderSpec):
            source = FolderPairs(parsed.images, parsed.labels, encoding=parsed.encoding, label_set=label_set)
        else:
            raise SourceError(f"source {text!r}: not a data spec")
    except DatasetError as err:
        raise SourceError(f"source {text!r}: {err}") from err
    return Limited(source, limit) if limit is not None else source
