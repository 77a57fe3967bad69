"""Save and load checkpoints without ever running a file's code (docs/DESIGN.md contract 3).

Three kinds of input:

- a bundled name, ``synthcity/<name>`` → ``gald_viz/bundled/synthcity/<name>.safetensors``, package data
  (in the source tree and after ``pip install``; the model cards are ``gald_viz/bundled/README.md``);
- a project checkpoint: safetensors whose metadata names the architecture, its options and K
  (``gald_viz.format = "project"``), so the file alone rebuilds its model (:func:`save_model`);
- a state dict written by the official GALD-Net training code (``torch.save(state_dict)``, CUDA tensors),
  read with ``torch.load(weights_only=True, map_location="cpu")`` and built as
  :class:`~gald_viz.models.official.OfficialGALDNet` (safetensors without project metadata too).

Files are recognised by their first bytes, not their names. Resource bounds: files over
:data:`MAX_CHECKPOINT_BYTES` are not read; project metadata may ask for at most :data:`MAX_NUM_CLASSES`
classes and :data:`MAX_CHANNELS` channels, and is built on the meta device and compared with the file's
tensor shapes before any memory is used; tensors whose shape exceeds their storage (stride-0 views) are
refused; weights holding NaN or inf are refused. Anything else, and any file whose pickle
would import a callable (code), is refused with a :class:`CheckpointError` naming the file and the
problem. Nothing is cached here; the app caches loaded models.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import io
import json
import os
import pickle
import re
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from gald_viz.checkpoint_labels import CLASSES_KEY, LABEL_SET_KEY, CheckpointError, check_labels
from gald_viz.data.label_set import LabelSet
from gald_viz.inference import resolve_device
from gald_viz.models.contract import SegmentationModel
from gald_viz.models.official import (
    OFFICIAL_ARCHS,
    OfficialGALDNet,
    OfficialLayoutError,
    convert_official_state_dict,
    from_official_state_dict,
    state_dict_mismatch,
)
from gald_viz.models.zoo import build_model

#: The bundled weights and their model cards: package data of ``gald_viz`` (installed packages are
#: folders on disk; a zipped one would fail here, loudly).
BUNDLED_DIR = Path(os.fspath(importlib.resources.files("gald_viz") / "bundled"))
#: Folders of :data:`BUNDLED_DIR` whose files are addressed as ``<folder>/<name>``.
BUNDLED_FAMILIES: tuple[str, ...] = ("synthcity",)

FORMAT_KEY = "gald_viz.format"
ARCH_KEY = "gald_viz.arch"
OPTIONS_KEY = "gald_viz.options"
NUM_CLASSES_KEY = "gald_viz.num_classes"
_RESERVED = (FORMAT_KEY, ARCH_KEY, OPTIONS_KEY, NUM_CLASSES_KEY)

#: The 19 Cityscapes training classes every part of the app assumes.
EXPECTED_CLASSES = 19

#: Largest checkpoint file read (bytes): the official ResNet-101 GALD-Net is about 0.3 GB; the size is
#: checked before anything is read, so a huge file is refused at once.
MAX_CHECKPOINT_BYTES = 2 * 1024**3
#: Bounds on what a project checkpoint's metadata may ask to build (checked before building, which
#: happens on the meta device first, so no memory is used until the file's tensors are known to fit).
MAX_NUM_CLASSES = 1024
MAX_CHANNELS = 8192
_INT_OPTIONS = ("head_channels", "ldv2_key_channels", "ldv1_downsample", "ldv2_kernel", "ldv2_dilation")


def list_bundled() -> list[str]:
    """Names of the bundled checkpoints (``synthcity/<name>``), sorted."""
    return sorted(
        f"{family}/{f.stem}"
        for family in BUNDLED_FAMILIES
        if (BUNDLED_DIR / family).is_dir()
        for f in (BUNDLED_DIR / family).glob("*.safetensors")
    )


DEFAULT_PAIR_FILE = "defaults.json"
"""In :data:`BUNDLED_DIR`: the app's default GA and GALD models, chosen by the evidence
(:func:`gald_viz.model_evidence.default_pair`, written by ``python -m gald_viz.model_cards``)."""


def default_pair(folder: Path = BUNDLED_DIR) -> tuple[str, str, str]:
    """The app's default (GA model, GALD model, why): the evidence's choice in ``folder``, else
    aspp / aspp_ldv2."""
    path = Path(folder) / DEFAULT_PAIR_FILE
    if path.is_file():
        chosen = json.loads(path.read_text(encoding="utf-8"))
        if chosen.get("ga") in list_bundled() and chosen.get("gald") in list_bundled():
            return chosen["ga"], chosen["gald"], chosen.get("reason", "")
    return "synthcity/aspp", "synthcity/aspp_ldv2", "no evidence file: the built-in default"


def write_default_pair(chosen: dict, folder: Path = BUNDLED_DIR) -> Path:
    """Write the evidence's ``{"ga", "gald", "reason"}`` choice for :func:`default_pair`."""
    path = Path(folder) / DEFAULT_PAIR_FILE
    path.write_text(json.dumps(chosen, indent=1) + "\n", encoding="utf-8")
    return path


def save_model(
    model: SegmentationModel,
    path: str | os.PathLike,
    *,
    label_set: LabelSet | None = None,
    **metadata: Any,
) -> Path:
    """Write ``model`` as a project checkpoint (safetensors) that rebuilds itself on load.

    The metadata holds ``gald_viz.format = "project"``, ``gald_viz.arch``, ``gald_viz.options`` (JSON)
    and ``gald_viz.num_classes``, plus ``metadata`` (strings kept, other values JSON-encoded).

    Args:
        model: a zoo or official model (``arch``, ``options``, ``num_classes`` attributes).
        path: output file; written to a temporary name first, then renamed.
        label_set: the classes the model predicts; recorded as ``classes`` (the names) and
            ``label_set`` (name and hash), so loading it against other data is refused.
        **metadata: provenance to store (training data, iterations, git commit…).

    Returns:
        The path written.

    Raises:
        CheckpointError: the model lacks ``arch``/``options``/``num_classes``, a metadata key is
            reserved, or ``label_set`` has another number of classes than the model.
    """
    path = Path(path)
    if label_set is not None:
        check_labels(model, label_set, f"save_model({path})")
        metadata = {CLASSES_KEY: list(label_set.class_names), LABEL_SET_KEY: label_set.identity(), **metadata}
    missing = [a for a in ("arch", "options", "num_classes") if not hasattr(model, a)]
    if missing:
        raise CheckpointError(f"save_model({path}): {type(model).__name__} has no {', '.join(missing)}")
    clash = sorted(set(metadata) & set(_RESERVED))
    if clash:
        raise CheckpointError(f"save_model({path}): metadata keys {clash} are reserved")
    meta = {
        FORMAT_KEY: "project",
        ARCH_KEY: str(model.arch),
        OPTIONS_KEY: json.dumps(model.options, sort_keys=True),
        NUM_CLASSES_KEY: str(int(model.num_classes)),
    }
    meta |= {k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in metadata.items()}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        safetensors.torch.save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _resolve(name_or_path: str | os.PathLike) -> tuple[str, Path]:
    """(display name, file) for a bundled name or a path."""
    text = os.fspath(name_or_path)
    family, sep, stem = text.partition("/")
    if isinstance(name_or_path, str) and sep and family in BUNDLED_FAMILIES and not Path(text).exists():
        bundled = BUNDLED_DIR / family / f"{stem}.safetensors"
        if "/" in stem or not bundled.is_file():
            raise CheckpointError(
                f"unknown bundled model {text!r}; bundled models: {', '.join(list_bundled()) or 'none'}"
            )
        return text, bundled
    path = Path(text).expanduser()
    if not path.exists():
        raise CheckpointError(f"checkpoint {text!r}: no such file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {text!r} is not a file")
    return path.name, path


def _sniff(data: bytes) -> str:
    """``"safetensors"``, ``"torch"`` (zip or legacy pickle) or ``"unknown"`` from the first bytes."""
    # safetensors (little-endian u64 header length, then the JSON header) is tested first: the length's
    # first byte can be anything, 0x80 (pickle's PROTO opcode) included. Torch files never have "{" at 8.
    if data[8:9] == b"{":
        return "safetensors"
    if data[:4] == b"PK\x03\x04" or data[:1] == b"\x80":
        return "torch"
    return "unknown"


def _read_safetensors(data: bytes, where: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + size])
        tensors = safetensors.torch.load(data)
    except Exception as err:  # any failure of an untrusted file is the file's problem
        raise CheckpointError(f"{where}: damaged or truncated safetensors file ({err})") from err
    return tensors, dict(header.get("__metadata__") or {})


def _torch_load(data: bytes, where: str) -> object:
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if found:
            raise CheckpointError(
                f"{where}: refused, the file asks the unpickler to import {found.group(1)} (code, not "
                "tensors); gald-viz loads tensors only (torch.load weights_only=True) and never runs a "
                "file's code"
            ) from err
        detail = re.search(r"(Unsupported[^\n]*|Unpickling error[^\n]*|invalid load key[^\n]*)", str(err))
        reason = detail.group(1).strip() if detail else "weights_only=True could not read it"
        raise CheckpointError(
            f"{where}: refused, the pickle holds something other than tensors and plain containers "
            f"({reason}); gald-viz never unpickles code"
        ) from err
    except Exception as err:  # truncated zips, bad records: untrusted input, report rather than crash
        raise CheckpointError(f"{where}: damaged or truncated torch checkpoint ({err})") from err


def _check_options(arch: str, options: object, num_classes: int, where: str) -> None:
    """Refuse metadata asking for more than the documented limits (or for nonsense) before building."""
    if not isinstance(options, dict):
        raise CheckpointError(f"{where}: project metadata options must be a JSON object, got {options!r}")
    if not 1 <= num_classes <= MAX_NUM_CLASSES:
        raise CheckpointError(f"{where}: num_classes={num_classes} is outside 1..{MAX_NUM_CLASSES}")
    for key in _INT_OPTIONS:
        value = options.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHANNELS:
            raise CheckpointError(
                f"{where}: option {key}={value!r} of {arch!r} must be a whole number in 1..{MAX_CHANNELS}"
            )


def _build_project(tensors: dict[str, torch.Tensor], meta: dict[str, str], where: str) -> SegmentationModel:
    """Rebuild a project model from its metadata and load its tensors strictly.

    The model is first built on the meta device (no memory, no init) and its shapes compared with the
    file's; only a fitting file builds the real model, whose size the file's tensors then bound.
    """
    try:
        arch = meta[ARCH_KEY]
        options = json.loads(meta[OPTIONS_KEY])
        num_classes = int(meta[NUM_CLASSES_KEY])
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{where}: project metadata is incomplete or malformed ({err!r})") from err
    _check_options(arch, options, num_classes, where)

    def build(meta_device: bool) -> SegmentationModel:
        with torch.device("meta") if meta_device else contextlib.nullcontext():
            if arch in OFFICIAL_ARCHS:
                return OfficialGALDNet(num_classes=num_classes, **options)
            return build_model(arch, num_classes=num_classes, **options)

    try:
        skeleton = build(meta_device=True)
    except Exception as err:  # any option an untrusted file can hold: the file's problem
        raise CheckpointError(
            f"{where}: cannot build architecture {arch!r} with options {options} ({err})"
        ) from err
    report = state_dict_mismatch(skeleton.state_dict(), tensors)
    if report:
        raise CheckpointError(f"{where}: weights do not fit {arch!r} ({num_classes} classes): {report}")
    official = isinstance(skeleton, OfficialGALDNet)
    try:
        model = skeleton if official else build(meta_device=False)
        model.load_state_dict(tensors, strict=True, assign=official)
    except Exception as err:
        raise CheckpointError(f"{where}: the weights cannot be loaded into {arch!r} ({err})") from err
    return model


def _check_storage(obj: object, where: str, name: str = "") -> None:
    """Refuse tensors that claim more elements than their storage holds (a stretched, stride-0 view).

    Such a view costs nothing to load but every conversion (``.float()``, ``.to()``) allocates it in
    full: one fp16 value stretched to 50000×50000 would take 10 GB.
    """
    if isinstance(obj, torch.Tensor):
        if obj.numel() and obj.numel() * obj.element_size() > obj.untyped_storage().nbytes():
            raise CheckpointError(
                f"{where}: tensor {name or '?'} claims shape {tuple(obj.shape)} but its storage holds only "
                f"{obj.untyped_storage().nbytes()} bytes (a stretched view, not weights)"
            )
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _check_storage(value, where, f"{name}.{key}" if name else str(key))
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            _check_storage(value, where, f"{name}[{i}]")


def _check_finite(model: SegmentationModel, where: str) -> None:
    """Refuse NaN or inf in any floating parameter or buffer (such a net predicts one class everywhere)."""
    for key, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = tensor[~torch.isfinite(tensor)]
            raise CheckpointError(
                f"{where}: tensor {key} holds {bad.numel()} non-finite value(s) (first: {bad[0].item()}); "
                "the weights are damaged (a diverged training run?)"
            )


def _build_official(obj: object, where: str) -> tuple[SegmentationModel, list[str]]:
    _check_storage(obj, where)
    try:
        sd, notes = convert_official_state_dict(obj)
        return from_official_state_dict(sd), notes
    except OfficialLayoutError as err:
        raise CheckpointError(f"{where}: {err}") from err
    except Exception as err:  # an untrusted file's content: report rather than crash
        raise CheckpointError(f"{where}: does not fit the official GALD-Net layout ({err})") from err


def load_model(
    name_or_path: str | os.PathLike,
    device: str | torch.device = "cpu",
    *,
    num_classes: int | None = EXPECTED_CLASSES,
    label_set: LabelSet | None = None,
) -> SegmentationModel:
    """Load a bundled model, a project checkpoint or an official GALD-Net state dict (contract 3).

    Args:
        name_or_path: ``synthcity/<name>`` or a file path.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        num_classes: the K the caller needs (19 Cityscapes classes); ``None`` accepts any.
        label_set: the classes the caller's data has; replaces ``num_classes``: the model must predict
            as many classes and, where its metadata records class names, the same names in the same
            order (:func:`check_labels`).

    Returns:
        The model in eval mode on ``device``, with ``checkpoint_info = {"name", "path", "sha256",
        "format" ("project" or "official"), "metadata"}`` (the file's metadata, or for official state
        dicts the detected architecture and the conversions applied).

    Raises:
        CheckpointError: unknown name, missing path, empty/truncated/unrecognised file, a file over
            :data:`MAX_CHECKPOINT_BYTES`, a pickle that would run code, metadata beyond
            :data:`MAX_NUM_CLASSES` / :data:`MAX_CHANNELS`, keys or shapes that do not fit, a tensor
            stretched beyond its storage, NaN or inf weights, another number of classes, or class
            names other than ``label_set``'s. Every
            failure of an untrusted file is this error; nothing is allocated before the shapes fit.
        InferenceError: ``device`` is not a device or CUDA is not available (a ``ValueError`` too).
    """
    dev = resolve_device(device)
    name, path = _resolve(name_or_path)
    where = f"checkpoint {str(path)!r}"
    try:
        size = path.stat().st_size
        if size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(
                f"{where}: the file is {size / 1024**3:.1f} GiB, more than the"
                f" {MAX_CHECKPOINT_BYTES / 1024**3:g} GiB limit on checkpoints"
                " (gald_viz.checkpoints.MAX_CHECKPOINT_BYTES); not read"
            )
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{where}: cannot be read ({err.strerror})") from err
    if not data:
        raise CheckpointError(f"{where}: the file is empty")
    kind = _sniff(data)
    if kind == "unknown":
        raise CheckpointError(
            f"{where}: not a checkpoint (by its first bytes neither safetensors nor a torch.save file)"
        )
    if kind == "safetensors":
        tensors, metadata = _read_safetensors(data, where)
        if metadata.get(FORMAT_KEY) == "project":
            model, fmt = _build_project(tensors, metadata, where), "project"
        else:
            (model, notes), fmt = _build_official(tensors, where), "official"
            metadata |= {"conversion": "; ".join(notes) or "none"}
    else:
        (model, notes), fmt = _build_official(_torch_load(data, where), where), "official"
        metadata = {"conversion": "; ".join(notes) or "none"}
    if fmt == "official":
        metadata |= {"arch": model.arch, "num_classes": str(model.num_classes)}
    _check_finite(model, where)
    model.checkpoint_info = {
        "name": name,
        "path": str(path.resolve()),
        "sha256": hashlib.sha256(data).hexdigest(),
        "format": fmt,
        "metadata": metadata,
    }
    if label_set is not None:
        check_labels(model, label_set, where)
    elif num_classes is not None and model.num_classes != num_classes:
        raise CheckpointError(
            f"{where}: the model predicts {model.num_classes} classes, expected {num_classes} "
            "(the Cityscapes training classes)"
        )
    return model.to(dev).eval()
