"""Label set files: the small JSON or CSV file a user gives for classes other than Cityscapes'.

The format is documented, with examples, in ``docs/label_sets.md`` (``docs/examples/``). In short:

JSON (``.json``)::

    {"name": "five", "ignore_id": 255,
     "classes": [{"name": "road", "color": [128, 64, 128], "ids": [7]}, ...],
     "void_ids": [0]}

``ignore_id`` (default 255), ``ids`` (the file ids of each class, when the files do not hold train
ids) and ``void_ids`` (file ids that are not evaluated, only with ``ids``) are optional; a colour is
``[r, g, b]`` or ``"#rrggbb"``.

CSV (``.csv``): a header ``name,r,g,b``, then one class per row in train id order; ``#`` starts a comment
line. The set is named after the file's stem, its files hold train ids and 255 is ignore.

Every problem raises :class:`~gald_viz.data.label_set.LabelSetError` naming the file and the problem.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

from gald_viz.data.label_set import CITYSCAPES, CITYSCAPES_NAME, IGNORE_INDEX, LabelSet, LabelSetError

__all__ = ["MAX_FILE_BYTES", "label_set_json", "parse_csv", "parse_json", "read_label_set", "resolve_labels"]

MAX_FILE_BYTES = 1 << 20
"""Largest label set file read (a 255-class set with ids is about 20 kB)."""
_TOP_KEYS = ("name", "classes", "ignore_id", "void_ids", "description")
_CLASS_KEYS = ("name", "color", "ids")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _color(value: object, where: str, i: int, name: object) -> tuple[int, int, int]:
    if isinstance(value, str) and _HEX.fullmatch(value):
        return tuple(int(value[k : k + 2], 16) for k in (1, 3, 5))
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value)
    ):
        return tuple(value)
    raise LabelSetError(
        f"{where}: class {i} ({name!r}): colour {value!r} must be [r, g, b] with whole numbers 0..255"
        " or '#rrggbb'"
    )


def _ids(value: object, where: str, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise LabelSetError(f"{where}: {what} must be a list of whole numbers, got {value!r}")
    bad = [v for v in value if not 0 <= v <= 255]
    if bad:
        raise LabelSetError(f"{where}: {what} holds ids {bad[:8]} outside 0..255 (label PNGs are 8-bit)")
    return value


def _unknown(keys, allowed: tuple[str, ...], where: str, what: str) -> None:
    extra = sorted(set(keys) - set(allowed))
    if extra:
        raise LabelSetError(f"{where}: unknown key(s) {extra} in {what}; allowed: {', '.join(allowed)}")


def _built(labels: LabelSet, where: str) -> LabelSet:
    """``labels``, or the built-in object for the Cityscapes set (no other set may take its name)."""
    if labels.name == CITYSCAPES_NAME:
        if labels != CITYSCAPES:
            raise LabelSetError(
                f"{where}: the name {CITYSCAPES_NAME!r} belongs to the built-in Cityscapes set and this"
                " file's classes, colours or ids differ from it; give the set another name"
            )
        return CITYSCAPES
    return labels


def parse_json(text: str, where: str) -> LabelSet:
    """The label set of a JSON text (format in the module docstring); ``where`` names it in messages."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise LabelSetError(
            f"{where}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})"
        ) from err
    if not isinstance(data, dict):
        raise LabelSetError(f"{where}: expected a JSON object with 'name' and 'classes'")
    _unknown(data, _TOP_KEYS, where, "the set")
    missing = [k for k in ("name", "classes") if k not in data]
    if missing:
        raise LabelSetError(f"{where}: missing key(s) {missing}")
    classes = data["classes"]
    if not isinstance(classes, list) or not classes:
        raise LabelSetError(f"{where}: 'classes' must be a non-empty list of objects")
    if len(classes) > 255:
        raise LabelSetError(
            f"{where}: {len(classes)} classes; a label set has at most 255 (train ids are uint8 and"
            f" {IGNORE_INDEX} is ignore)"
        )
    names, colors, pairs, with_ids = [], [], [], []
    for i, entry in enumerate(classes):
        if not isinstance(entry, dict):
            raise LabelSetError(
                f"{where}: class {i} must be an object with 'name' and 'color', got {entry!r}"
            )
        _unknown(entry, _CLASS_KEYS, where, f"class {i}")
        if "name" not in entry or "color" not in entry:
            raise LabelSetError(f"{where}: class {i} needs a 'name' and a 'color'")
        names.append(entry["name"])
        colors.append(_color(entry["color"], where, i, entry["name"]))
        with_ids.append("ids" in entry)
        if "ids" in entry:
            ids = _ids(entry["ids"], where, f"class {i} ({entry['name']!r}) 'ids'")
            if not ids:
                raise LabelSetError(f"{where}: class {i} ({entry['name']!r}) has an empty 'ids' list")
            pairs += [(v, i) for v in ids]
    if any(with_ids) and not all(with_ids):
        lacking = [f"{i} ({names[i]!r})" for i, has in enumerate(with_ids) if not has][:5]
        raise LabelSetError(
            f"{where}: some classes give 'ids' and classes {', '.join(lacking)} do not; give every class"
            " its file ids, or none (the files then hold train ids)"
        )
    if "void_ids" in data:
        if not any(with_ids):
            raise LabelSetError(
                f"{where}: 'void_ids' needs file 'ids' on the classes (files of train ids have none)"
            )
        pairs += [(v, IGNORE_INDEX) for v in _ids(data["void_ids"], where, "'void_ids'")]
    _check_ids_once(pairs, names, where)
    ignore = data.get("ignore_id", IGNORE_INDEX)
    labels = LabelSet(
        name=data["name"],
        class_names=tuple(names),
        colors=tuple(colors),
        ignore_id=ignore,
        id_map=tuple(sorted(pairs)) if any(with_ids) else None,
        source=where,
    )
    return _built(labels, where)


def _check_ids_once(pairs: list[tuple[int, int]], names: list, where: str) -> None:
    """Refuse a file id given twice, naming where it appears (two classes, or a class and void_ids)."""
    owner: dict[int, int] = {}
    for file_id, train_id in pairs:
        if file_id in owner:
            what = [
                ("void_ids" if t == IGNORE_INDEX else f"class {t} ({names[t]!r})")
                for t in (owner[file_id], train_id)
            ]
            raise LabelSetError(f"{where}: file id {file_id} is given twice: in {what[0]} and in {what[1]}")
        owner[file_id] = train_id


def parse_csv(text: str, where: str, name: str) -> LabelSet:
    """The label set of a CSV text (header ``name,r,g,b``; see the module docstring), named ``name``."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows or [c.strip().lower() for c in rows[0]] != ["name", "r", "g", "b"]:
        raise LabelSetError(f"{where}: the first row must be the header name,r,g,b")
    if len(rows) == 1:
        raise LabelSetError(f"{where}: no classes after the header")
    if len(rows) - 1 > 255:
        raise LabelSetError(f"{where}: {len(rows) - 1} classes; a label set has at most 255")
    names, colors = [], []
    for i, row in enumerate(rows[1:]):
        if len(row) != 4:
            raise LabelSetError(
                f"{where}: class {i} ({row[:1]}): expected 4 fields name,r,g,b, got {len(row)}"
            )
        names.append(row[0].strip())
        try:
            rgb = [int(c) for c in row[1:]]
        except ValueError:
            rgb = row[1:]
        colors.append(_color(rgb, where, i, row[0].strip()))
    return _built(LabelSet(name, tuple(names), tuple(colors), source=where), where)


def read_label_set(path: str | os.PathLike) -> LabelSet:
    """Read a label set file (``.json`` or ``.csv``).

    Raises:
        LabelSetError: the file is missing, a folder, too large, not UTF-8, of another kind, or breaks a
            rule (duplicate names, a bad colour, ids out of range, an ignore id colliding with a class,
            more than 255 classes…); the message names the file.
    """
    p = Path(path).expanduser()
    where = f"label set {str(p)!r}"
    if not p.exists():
        raise LabelSetError(f"{where}: no such file")
    if not p.is_file():
        raise LabelSetError(f"{where}: not a file")
    if p.suffix.lower() not in (".json", ".csv"):
        raise LabelSetError(f"{where}: expected a .json or .csv file (format: docs/label_sets.md)")
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LabelSetError(
                f"{where}: {size} bytes, more than the {MAX_FILE_BYTES} a label set file may have"
            )
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise LabelSetError(f"{where}: cannot be read ({err.strerror})") from err
    except UnicodeDecodeError as err:
        raise LabelSetError(f"{where}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    if p.suffix.lower() == ".json":
        return parse_json(text, where)
    return parse_csv(text, where, p.stem)


def resolve_labels(value: str | os.PathLike | LabelSet | None) -> LabelSet:
    """The set a caller names: None, "" or "cityscapes" → :data:`CITYSCAPES`; a path → its file's set."""
    if isinstance(value, LabelSet):
        return value
    if value is None or os.fspath(value) in ("", CITYSCAPES_NAME):
        return CITYSCAPES
    return read_label_set(value)


def label_set_json(labels: LabelSet) -> dict:
    """The JSON object of a set (what :func:`parse_json` reads back to an equal set)."""
    ids: dict[int, list[int]] = {}
    for file_id, train_id in labels.id_map or ():
        ids.setdefault(train_id, []).append(file_id)
    classes = []
    for i, (name, rgb) in enumerate(zip(labels.class_names, labels.colors, strict=True)):
        entry: dict = {"name": name, "color": list(rgb)}
        if labels.id_map is not None:
            entry["ids"] = ids[i]
        classes.append(entry)
    out: dict = {"name": labels.name, "ignore_id": labels.ignore_id, "classes": classes}
    if IGNORE_INDEX in ids:
        out["void_ids"] = ids[IGNORE_INDEX]
    return out
