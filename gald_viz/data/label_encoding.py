"""Which ids a label map holds, trainIds or Cityscapes labelIds, decided without guessing silently.

A label PNG holds either the 19 trainIds (0..18, 255 = ignore) or Cityscapes labelIds (0..33; 255 is
accepted as ignore too). Every trainId map is also a valid labelId map, so the values alone rarely
decide. The rule, in this order:

1. **An explicit choice** (``encoding="trainId"`` or ``"labelId"``): used, and the map must fit it. A
   file whose name says the other encoding (``x_labelIds.png`` read as trainIds) is refused.
2. **The file name convention** (``encoding="auto"``): ``*_labelIds.png`` (``*_gtFine_labelIds.png``)
   means labelIds; ``*_trainIds.png``, ``*_labelTrainIds.png`` mean trainIds. The map must fit it.
3. **The values** (``"auto"``, no naming convention): only where they fit one encoding unambiguously:
   the map holds ids 19..33 (impossible as trainIds), all its values are labelIds, and those ids cover
   at least :data:`LABELID_EVIDENCE` of its pixels (vegetation, sky, cars, people: 8–48 % of every
   SynthCity scene, most of a Cityscapes one). A few stray pixels of such ids in a trainId map
   (damage, an export bug) are not evidence: that map is refused, not decoded as labelIds. A map
   holding only ids < 19 fits both encodings and is refused with a request for an explicit encoding.

Maps that fit neither encoding (values 34..254) are always refused; messages name the file and the
offending values. :func:`decode_label_map` returns the trainIds and the text saying how it decided.

Another label set (:class:`~gald_viz.data.label_set.LabelSet`) follows the same rule with its own ids:
"labelIds" are the file ids of its id map, trainIds are ``0..K-1`` and its ignore id. A set without an
id map has only train-id files, so ``"auto"`` reads an unnamed map as trainIds.
"""

from __future__ import annotations

import numpy as np

from gald_viz.data.label_set import CITYSCAPES, LabelSet

ENCODINGS = ("auto", "trainId", "labelId")

#: Share of a map's pixels that ids 19..33 must cover for ``"auto"`` to read an unnamed map as labelIds.
LABELID_EVIDENCE = 0.05

# Label file name endings (stems), longest first, and the encoding each implies (None: no convention).
LABEL_ENDINGS: tuple[tuple[str, str | None], ...] = (
    ("_gtFine_labelTrainIds", "trainId"),
    ("_gtFine_labelIds", "labelId"),
    ("_gtFine_trainIds", "trainId"),
    ("_labelTrainIds", "trainId"),
    ("_labelIds", "labelId"),
    ("_trainIds", "trainId"),
    ("_label", None),
    ("", None),
)

_ASK = (
    "name the files *_trainIds.png or *_labelIds.png, or choose the encoding explicitly"
    " (encoding='trainId' / 'labelId'; folders:IMAGES,LABELS,trainId)"
)


class LabelEncodingError(ValueError):
    """A label map that does not fit its encoding, or whose encoding cannot be decided; names the file."""


def encoding_from_name(stem: str) -> str | None:
    """The encoding a label file's stem implies by convention, or None.

    >>> encoding_from_name("aachen_000000_000019_gtFine_labelIds"), encoding_from_name("x_trainIds")
    ('labelId', 'trainId')
    >>> encoding_from_name("x") is None
    True
    """
    for ending, encoding in LABEL_ENDINGS:
        if ending and stem.endswith(ending):
            return encoding
    return None


def _stem(name: str) -> str:
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def _values(ids: np.ndarray, mask: np.ndarray) -> str:
    bad = np.unique(ids[mask]).tolist()
    return f"{bad[:8]}" + (f" (and {len(bad) - 8} more)" if len(bad) > 8 else "")


def _check_fits(ids: np.ndarray, name: str, encoding: str, why: str, label_set: LabelSet) -> None:
    fits = label_set.train_valid if encoding == "trainId" else label_set.id_valid
    bad = ~fits[ids]
    if bad.any():
        text = label_set.train_text() if encoding == "trainId" else label_set.id_text()
        hint = ""
        if encoding == "trainId" and label_set.id_map is not None:
            ids_of = "Cityscapes ids" if label_set.is_cityscapes else "the set's file ids"
            hint = f"; pass encoding='labelId' for {ids_of}"
        raise LabelEncodingError(f"{name}: values {_values(ids, bad)} are not {text} ({why}){hint}")


def _neither_text(label_set: LabelSet) -> str:
    if label_set.id_map is None:
        return label_set.train_text()
    return f"{label_set.train_text()} nor {label_set.id_text()}"


def decode_label_map(
    ids: np.ndarray, name: str, encoding: str = "auto", label_set: LabelSet = CITYSCAPES
) -> tuple[np.ndarray, str]:
    """A label map as trainIds, and how its encoding was decided (see the module rule).

    Args:
        ids: H×W integer label map as read (uint8 or uint16).
        name: its file name or path (for the convention and for messages).
        encoding: ``"auto"``, ``"trainId"`` or ``"labelId"`` (the ids of the set's id map).
        label_set: the label set the file belongs to. A set without an id map has train-id files only:
            ``"auto"`` reads them as trainIds and a labelId file (by name or choice) is refused. The
            set's ignore id becomes 255 in memory.

    Returns:
        ``(train_ids, how)``: uint8 trainIds (255 = ignore) and e.g. ``"labelId (file name)"``.

    Raises:
        LabelEncodingError: a map that does not fit, an explicit choice the name contradicts, or an
            unnamed map whose values do not decide.

    >>> decode_label_map(np.array([[7, 26]]), "x_labelIds.png")
    (array([[ 0, 13]], dtype=uint8), 'labelId (file name)')
    """
    if encoding not in ENCODINGS:
        raise LabelEncodingError(f"{name}: encoding={encoding!r}; expected one of {', '.join(ENCODINGS)}")
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() > 255):
        raise LabelEncodingError(
            f"{name}: values up to {int(ids.max())} are neither {_neither_text(label_set)}"
        )
    ids = ids.astype(np.uint8, copy=False)
    named = encoding_from_name(_stem(name))
    if encoding != "auto":
        if named is not None and named != encoding:
            raise LabelEncodingError(
                f"{name}: encoding={encoding!r} was chosen but the file name says {named}s; rename the"
                " file or choose the encoding its name says"
            )
        chosen, why = encoding, "explicit"
    elif named is not None:
        chosen, why = named, "file name"
    elif label_set.id_map is None:
        chosen, why = "trainId", "label set"
    else:
        chosen, why = _by_values(ids, name, label_set), "values"
    if chosen == "labelId" and label_set.id_map is None:
        raise LabelEncodingError(
            f"{name}: read as labelIds ({why}) but {label_set.title} has no id map, so its files hold"
            f" {label_set.train_text()}; name the file without _labelIds or choose trainId"
        )
    _check_fits(
        ids, name, chosen, f"decided by {why}" if why != "explicit" else "chosen explicitly", label_set
    )
    if chosen == "trainId" and label_set.ignore_id == 255:
        return ids, f"{chosen} ({why})"  # train ids as they are (every value was checked to fit)
    return label_set.decode(ids, chosen), f"{chosen} ({why})"


def _by_values(ids: np.ndarray, name: str, label_set: LabelSet) -> str:
    """``"labelId"`` where an unnamed map's values decide unambiguously; otherwise refuse."""
    neither = ~label_set.id_valid[ids]
    if neither.any():
        raise LabelEncodingError(f"{name}: values {_values(ids, neither)} are not {_neither_text(label_set)}")
    label_only = ~label_set.train_valid[ids]
    if not label_only.any():
        raise LabelEncodingError(
            f"{name}: the encoding is ambiguous: its values {_values(ids, np.ones_like(neither))} are"
            f" valid trainIds and valid {label_set.id_text().split(' (')[0]}; {_ASK}"
        )
    share = float(label_only.mean())
    if share < LABELID_EVIDENCE:
        raise LabelEncodingError(
            f"{name}: the encoding is ambiguous: ids {_values(ids, label_only)} exist only as labelIds but"
            f" cover {100 * share:.2g} % of the pixels (fewer than {100 * LABELID_EVIDENCE:g} %): stray"
            f" values in a trainId map, or labelIds? {_ASK}"
        )
    return "labelId"


def upload_encoding_text(name: str, label_set: LabelSet = CITYSCAPES) -> str:
    """How :func:`decode_label_map` with ``"auto"`` decided a map it accepted, from its name alone.

    Values only ever decide labelIds (a trainId map always fits labelIds too, so it is refused unless
    its name says trainIds).

    >>> upload_encoding_text("x_trainIds.png"), upload_encoding_text("x.png")
    ('trainId (file name)', 'labelId (values)')
    """
    named = encoding_from_name(_stem(name))
    if named:
        return f"{named} (file name)"
    return "labelId (values)" if label_set.id_map is not None else "trainId (label set)"
