"""The settings of a training run, each field written once.

Every :class:`TrainConfig` field carries, in its dataclass metadata, what the rest of the trainer needs
to know about it: the help text of its command-line flag (:mod:`gald_viz.train.cli` generates the
parser from the fields), whether a resumed run must repeat it (:func:`resume_mismatches`), and under
which key the checkpoint metadata records it (:func:`checkpoint_metadata`).
"""

from __future__ import annotations

import argparse
import json
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from gald_viz.train.loss import OHEM_MIN_KEPT, OHEM_THRESH


class TrainError(ValueError):
    """A training argument or file that cannot be used; the message names it."""


def setting(
    default: Any = MISSING,
    *,
    help: str | None = None,
    flag: str | None = "",
    metavar: str | tuple[str, ...] | None = None,
    parse: typing.Callable[[str], Any] | None = None,
    same_on_resume: bool = False,
    recorded: bool | str = False,
) -> Any:
    """A :class:`TrainConfig` field and what it means outside the dataclass.

    Args:
        default: the value when the flag is not given; none makes the flag required. A list default is
            copied for every config.
        help: the flag's help text.
        flag: the command-line flag; ``""`` derives it from the name (``ohem_min_kept`` →
            ``--ohem-min-kept``), ``None`` gives the field no flag.
        metavar: the flag's metavar.
        parse: parses one flag value (list and dict fields: one item of a repeatable flag).
        same_on_resume: a resumed run must have the same value as the run that wrote the sidecar.
        recorded: the checkpoint metadata records the value: ``True`` under the field's name, a string
            under that key.
    """
    meta = dict(
        help=help, flag=flag, metavar=metavar, parse=parse, same_on_resume=same_on_resume, recorded=recorded
    )
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def parse_option(text: str) -> tuple[str, object]:
    """``key=value`` with the value parsed as JSON when it is JSON (numbers, true/false), else a string.

    >>> parse_option("head_channels=128"), parse_option("backbone=small")
    (('head_channels', 128), ('backbone', 'small'))
    """
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--option {text!r}: expected key=value")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def parse_lr_mult(text: str) -> tuple[str, float]:
    """``PREFIX=FACTOR`` with a positive factor.

    >>> parse_lr_mult("ld.=10")
    ('ld.', 10.0)
    """
    prefix, sep, value = text.partition("=")
    try:
        factor = float(value)
    except ValueError:
        factor = float("nan")
    if not sep or not prefix or not factor > 0 or factor == float("inf"):
        raise argparse.ArgumentTypeError(f"--lr-mult {text!r}: expected PREFIX=FACTOR with FACTOR > 0")
    return prefix, factor


@dataclass
class TrainConfig:
    """Everything that defines a run; stored in the resume sidecar and the checkpoint metadata."""

    arch: str = setting(help="model name (gald_viz.models.MODEL_NAMES)", same_on_resume=True)
    data: str = setting(
        help="synthcity | cityscapes[:ROOT] | folders:IMAGES,LABELS (train split)", same_on_resume=True
    )
    out: str = setting(help="output .safetensors (log and resume sidecar beside it)")
    labels: str | None = setting(
        None,
        help="label set file (.json or .csv, docs/label_sets.md); default: the 19 Cityscapes classes",
        metavar="FILE",
        same_on_resume=True,
    )
    iters: int = setting(1000, help="training iterations", same_on_resume=True, recorded=True)
    batch: int = setting(8, help="images per iteration", same_on_resume=True, recorded=True)
    crop: tuple[int, int] = setting(
        (256, 512),
        help="crop size at the model's input scale",
        metavar=("H", "W"),
        same_on_resume=True,
        recorded=True,
    )
    scale: tuple[float, float] = setting(
        (0.5, 2.0),
        help="random rescale range",
        metavar=("LO", "HI"),
        same_on_resume=True,
        recorded=True,
    )
    lr: float = setting(
        0.01, help="base learning rate of the poly schedule", same_on_resume=True, recorded=True
    )
    wd: float = setting(5e-4, help="weight decay", same_on_resume=True, recorded=True)
    momentum: float = setting(0.9, flag=None)
    seed: int = setting(
        0, help="seed of the initialisation, the data and the crops", same_on_resume=True, recorded=True
    )
    ohem: bool = setting(False, help="OHEM on the main loss", same_on_resume=True, recorded=True)
    ohem_thresh: float = setting(OHEM_THRESH, help="OHEM: probability below which a pixel is hard")
    ohem_min_kept: int = setting(OHEM_MIN_KEPT, help="OHEM: the least number of pixels kept")
    probes: bool = setting(
        False,
        help="train only the probe heads of the frozen --init model",
        same_on_resume=True,
        recorded="probes_only",
    )
    init: str | None = setting(
        None, help="checkpoint to initialise from (tensors matching by name and shape)", recorded=True
    )
    init_only: list[str] = setting(
        [],
        help="with --init: copy only tensors whose name starts with PREFIX (repeatable)",
        metavar="PREFIX",
        recorded=True,
    )
    freeze: list[str] = setting(
        [],
        help="keep parameters whose name starts with PREFIX fixed, their BN statistics too (repeatable)",
        metavar="PREFIX",
        same_on_resume=True,
        recorded=True,
    )
    lr_mult: dict = setting(
        {},
        help="scale the learning rate of parameters whose name starts with PREFIX (repeatable), "
        "e.g. ld.=10; the longest matching prefix wins",
        metavar="PREFIX=FACTOR",
        parse=parse_lr_mult,
        same_on_resume=True,
        recorded=True,
    )
    options: dict = setting(
        {},
        help="build_model option, e.g. backbone=small, head_channels=128, probes=true",
        flag="--option",
        metavar="KEY=VALUE",
        parse=parse_option,
        same_on_resume=True,
    )
    pool: int = setting(300, help="SynthCity: train images generated into memory", same_on_resume=True)
    data_size: tuple[int, int] = setting(
        (1024, 2048),
        help="SynthCity: size the pool images are generated at",
        metavar=("H", "W"),
        same_on_resume=True,
    )
    val_every: int = setting(
        0,
        help="score the main output and probe heads on unseen SynthCity val scenes every N iterations "
        "(0: never); the curve goes into the checkpoint",
        same_on_resume=True,
        recorded=True,
    )
    val_images: int = setting(
        10, help="validation scenes (SynthCity val, seed 9100)", same_on_resume=True, recorded=True
    )
    patience: int = setting(
        0,
        help="stop when the trained heads' validation mIoU has not risen for N validations (0: never)",
        same_on_resume=True,
        recorded=True,
    )
    save_every: int = setting(200, help="iterations between resume sidecars")
    log_every: int = setting(10, help="iterations between log lines")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config of ``dataclasses.asdict(config)``, its JSON or parsed flags: pairs become tuples,
        dicts are built from ``(key, value)`` items."""
        types = field_types()
        return cls(**{k: _convert(v, types[k]) for k, v in values.items()})


def field_types() -> dict[str, Any]:
    """``{field name: its resolved type}`` of :class:`TrainConfig`."""
    return typing.get_type_hints(TrainConfig)


def _convert(value: Any, annotation: Any) -> Any:
    if typing.get_origin(annotation) is tuple:
        return tuple(value)
    return dict(value) if annotation is dict else value


def resume_mismatches(saved: TrainConfig, config: TrainConfig) -> list[str]:
    """Names of the fields a resumed run must repeat whose values differ from the saved run's."""
    return [
        f.name
        for f in fields(TrainConfig)
        if f.metadata["same_on_resume"] and getattr(saved, f.name) != getattr(config, f.name)
    ]


def label_set_of(config: TrainConfig):
    """The run's :class:`~gald_viz.data.label_set.LabelSet` (``--labels``, default Cityscapes).

    Raises:
        TrainError: the file cannot be used (the message names it and the problem).
    """
    from gald_viz.data.label_files import resolve_labels
    from gald_viz.data.label_set import LabelSetError

    try:
        return resolve_labels(config.labels)
    except LabelSetError as err:
        raise TrainError(f"--labels: {err}") from err


def checkpoint_metadata(config: TrainConfig) -> dict[str, Any]:
    """The settings the checkpoint metadata records, under their keys (pairs as lists)."""
    recorded = {}
    for f in fields(TrainConfig):
        if key := f.metadata["recorded"]:
            value = getattr(config, f.name)
            recorded[f.name if key is True else key] = list(value) if isinstance(value, tuple) else value
    return recorded
