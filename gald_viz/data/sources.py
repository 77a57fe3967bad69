"""Open a data source from a short text spec, as the command lines and the app name them.

Specs:
    ``synthcity:val`` / ``synthcity:train`` — SynthCity rendered on access (1024×2048, seed 0,
    50 scenes unless ``limit``); options may follow: ``synthcity:val:count=30,seed=1,size=512x1024``.
    ``cityscapes:val`` or ``cityscapes:val:ROOT`` — the Cityscapes layout (root defaults to
    ``$CITYSCAPES_DATASET``); any split name.
    ``folders:IMAGES,LABELS`` — :class:`~gald_viz.data.cityscapes.FolderPairs` (``encoding=`` may
    follow after a third comma-separated field: ``folders:imgs,labels,labelId``).
"""

from gald_viz.data.cityscapes import ENCODINGS, CityscapesDataset, DatasetError, FolderPairs
from gald_viz.data.sample import Sample, check_index
from gald_viz.data.synthcity import SPLIT_CODES, SynthCity

SYNTHCITY_DEFAULT_COUNT = 50


class SourceError(ValueError):
    """A source spec cannot be parsed or opened; the message names the spec."""


class Limited:
    """The first ``limit`` samples of another source."""

    def __init__(self, source, limit: int) -> None:
        self.source = source
        self.count = min(limit, len(source))
        self.names = list(source.names[: self.count])

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Sample:
        return self.source[check_index(index, self.count)]

    def describe(self) -> str:
        return f"{self.source.describe()} first={self.count}"


def _synthcity(spec: str, rest: str, limit: int | None) -> SynthCity:
    split, _, options = rest.partition(":")
    if split not in SPLIT_CODES:
        raise SourceError(f"source {spec!r}: SynthCity split must be one of {', '.join(SPLIT_CODES)}")
    count, seed, size = SYNTHCITY_DEFAULT_COUNT, 0, (1024, 2048)
    count_given = False
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        if key not in ("count", "seed", "size"):
            raise SourceError(f"source {spec!r}: unknown SynthCity option {key!r} (count, seed, size)")
        try:
            if key == "size":
                h, w = value.lower().split("x")
                size = int(h), int(w)
            elif key == "count":
                count, count_given = int(value), True
            else:
                seed = int(value)
        except ValueError as err:
            raise SourceError(
                f"source {spec!r}: bad {item!r} (e.g. count=30, seed=0, size=512x1024)"
            ) from err
    if limit is not None:
        count = min(count, limit) if count_given else limit
    try:
        return SynthCity(split=split, count=count, seed=seed, height=size[0], width=size[1])
    except ValueError as err:
        raise SourceError(f"source {spec!r}: {err}") from err


def open_source(spec: str, limit: int | None = None):
    """Open the source a spec names.

    Args:
        spec: ``synthcity:SPLIT[:OPTIONS]``, ``cityscapes:SPLIT[:ROOT]`` or ``folders:IMAGES,LABELS``.
        limit: keep only the first ``limit`` samples (for SynthCity: render exactly ``limit`` scenes).

    Returns:
        A source: a sequence of Sample with ``names`` and ``describe()``.

    Raises:
        SourceError: an unknown kind, a malformed spec, or a folder problem (message names the spec).

    >>> open_source("synthcity:val", limit=3).describe()
    'synthcity:val seed=0 1024x2048 count=3'
    """
    if limit is not None and limit < 0:
        raise SourceError(f"limit={limit}: must be >= 0")
    kind, sep, rest = spec.partition(":")
    if not sep and kind in ("synthcity", "cityscapes"):
        rest = "val"
    if kind == "synthcity":
        return _synthcity(spec, rest, limit)
    if kind == "cityscapes":
        split, _, root = rest.partition(":")
        try:
            source = CityscapesDataset(root=root or None, split=split or "val")
        except DatasetError as err:
            raise SourceError(f"source {spec!r}: {err}") from err
    elif kind == "folders":
        parts = rest.split(",")
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise SourceError(f"source {spec!r}: expected folders:IMAGES,LABELS[,ENCODING]")
        encoding = parts[2] if len(parts) == 3 else "auto"
        if encoding not in ENCODINGS:
            raise SourceError(f"source {spec!r}: encoding must be one of {', '.join(ENCODINGS)}")
        try:
            source = FolderPairs(parts[0], parts[1], encoding=encoding)
        except DatasetError as err:
            raise SourceError(f"source {spec!r}: {err}") from err
    else:
        raise SourceError(
            f"source {spec!r}: unknown kind {kind!r}; use synthcity:val, cityscapes:val[:ROOT] "
            "or folders:IMAGES,LABELS"
        )
    return Limited(source, limit) if limit is not None else source
