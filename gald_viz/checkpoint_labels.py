"""What a checkpoint says about its classes, and the refusal of a model that does not fit a label set.

A project checkpoint records the number of classes it predicts (``gald_viz.num_classes``) and, when the
trainer or :func:`gald_viz.checkpoints.save_model` was given a label set, the class names
(:data:`CLASSES_KEY`) and the set's name and hash (:data:`LABEL_SET_KEY`). :func:`check_labels` refuses
a model whose count or recorded names differ from the data's label set; a model that records no names
is checked by its count only.
"""

from __future__ import annotations

import json

from gald_viz.data.label_set import LabelSet

CLASSES_KEY = "classes"
"""Metadata key of the class names a checkpoint predicts (a JSON list, train id order)."""
LABEL_SET_KEY = "label_set"
"""Metadata key of the label set's identity (JSON ``{"name", "sha256"}``) a checkpoint was trained on."""


class CheckpointError(ValueError):
    """A checkpoint cannot be loaded; the message names the file (or name) and the problem."""


def model_class_names(model, where: str = "model") -> tuple[str, ...] | None:
    """The class names a loaded model's metadata records (``classes``), or None when it records none.

    Raises:
        CheckpointError: the metadata holds ``classes`` but not as a JSON list of names.
    """
    text = (getattr(model, "checkpoint_info", None) or {}).get("metadata", {}).get(CLASSES_KEY)
    if text is None:
        return None
    try:
        names = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{where}: metadata {CLASSES_KEY!r} is not a JSON list of class names")
    return tuple(names)


def check_labels(model, label_set: LabelSet, where: str = "model") -> None:
    """Refuse a model whose number of classes or recorded class names differ from ``label_set``'s.

    Raises:
        CheckpointError: naming ``where``, both counts, or the first class whose name differs.
    """
    k = int(model.num_classes)
    if k != label_set.num_classes:
        raise CheckpointError(
            f"{where}: the model predicts {k} classes, expected {label_set.num_classes} ({label_set.title})"
        )
    names = model_class_names(model, where)
    if names is not None and names != label_set.class_names:
        if len(names) != k:
            raise CheckpointError(
                f"{where}: the metadata names {len(names)} classes but the model predicts {k}"
                " (damaged metadata)"
            )
        i = next(i for i, (a, b) in enumerate(zip(names, label_set.class_names, strict=True)) if a != b)
        raise CheckpointError(
            f"{where}: the model's classes differ from {label_set.title}: class {i} is"
            f" {names[i]!r} in the checkpoint and {label_set.class_names[i]!r} in the label set"
        )
