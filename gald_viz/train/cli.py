"""``python -m gald_viz.train``: the command line, generated from the :class:`TrainConfig` fields.

Each field with a flag becomes one option: ``str``/``int``/``float`` fields take one value, ``bool``
fields are switches, pairs take two values, lists and dicts repeat (``--freeze A --freeze B``,
``--option k=v``). The flags that only steer this process (device, resume, threads, progress bar) are
not part of the config and follow below them.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence
from dataclasses import MISSING, Field, fields

import torch

from gald_viz.train.config import TrainConfig, TrainError, field_types
from gald_viz.train.loop import train


def flag_of(f: Field) -> str | None:
    """The command-line flag of field ``f`` (``None``: it has none)."""
    flag = f.metadata["flag"]
    return "--" + f.name.replace("_", "-") if flag == "" else flag


def add_field(parser: argparse.ArgumentParser, f: Field, annotation: object) -> None:
    """Add the option of field ``f`` (typed ``annotation``) to ``parser``."""
    kwargs: dict = dict(help=f.metadata["help"], metavar=f.metadata["metavar"], dest=f.name)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if f.default is MISSING and f.default_factory is MISSING:
        kwargs["required"] = True
    else:
        default = f.default_factory() if f.default is MISSING else f.default
        kwargs["default"] = list(default.items()) if isinstance(default, dict) else default
    if annotation is bool:
        del kwargs["metavar"]
        kwargs["action"] = "store_true"
    elif origin is tuple:
        kwargs.update(type=args[0], nargs=len(args))
    elif origin is list or annotation is dict:
        kwargs.update(action="append", type=f.metadata["parse"] or (args[0] if args else str))
    else:  # a plain value, or ``X | None``
        kwargs["type"] = f.metadata["parse"] or next(a for a in (annotation, *args) if a in (str, int, float))
    parser.add_argument(flag_of(f), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The parser: one option per :class:`TrainConfig` field with a flag, then the run-only flags."""
    from gald_viz import train as package

    p = argparse.ArgumentParser(
        prog="python -m gald_viz.train",
        description=package.__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    types = field_types()
    for f in fields(TrainConfig):
        if flag_of(f) is not None:
            add_field(p, f, types[f.name])
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:i]")
    p.add_argument("--resume", help="resume sidecar (OUT.resume.safetensors) of an interrupted run")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    return p


def parse_args(argv: Sequence[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    """Parse the command line into a :class:`TrainConfig` (plus the run-only flags)."""
    p = build_parser()
    a = p.parse_args(argv)
    if a.iters < 1 or a.batch < 1:
        p.error("--iters and --batch must be positive")
    config = TrainConfig.from_dict({f.name: getattr(a, f.name) for f in fields(TrainConfig) if flag_of(f)})
    return config, a


def main(argv: Sequence[str] | None = None) -> None:
    config, a = parse_args(argv)
    if a.threads:
        # One thread per run beats several when the cores are shared: OpenMP threads stall on busy cores.
        torch.set_num_threads(a.threads)
    try:
        train(config, resume=a.resume, device=a.device, progress=not a.no_progress)
    except TrainError as exc:
        sys.exit(f"error: {exc}")
