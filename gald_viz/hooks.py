"""Named feature taps and a hook context manager that always cleans up (docs/DESIGN.md contract 2).

Every model declares its taps in ``model.feature_info`` (like timm's ``FeatureInfo``), a list of
:class:`~gald_viz.models.contract.TapInfo`: a name the app uses (``backbone``, ``ga``, ``ldv1.mask``,
``ld``, ``ldv2.affinity``, ``logits``, ``probe.backbone``, ``probe.ga``), the path of the module whose
output is the tap (an ``nn.Identity`` where the value is not otherwise a module output), its channels,
stride and a one-line meaning.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from contextlib import ExitStack

import torch
from torch import nn

from gald_viz.models.contract import SegmentationModel, TapInfo

__all__ = ["FeatureRecorder", "TapError", "TapInfo", "available_taps", "model_lock"]


# One re-entrant lock per model: a forward hook fires for every forward of the module, so while one
# thread records taps no other thread may run the same (shared, cached) model.
_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """The lock every forward of ``model`` in gald_viz runs under (re-entrant: nesting is fine).

    Hold it around a :class:`FeatureRecorder` block and its forward; ``inference.predict*`` and
    ``analysis.analyse`` take it themselves.
    """
    with _LOCKS_GUARD:
        if model not in _LOCKS:
            _LOCKS[model] = threading.RLock()
        return _LOCKS[model]


class TapError(ValueError):
    """A requested tap does not exist in the model."""


def available_taps(model: SegmentationModel) -> list[TapInfo]:
    """Return the taps ``model`` declares (``model.feature_info``), in forward order."""
    return list(model.feature_info)


class FeatureRecorder:
    """Record named taps during forward passes; remove every hook on exit, also on exceptions.

    Example::

        with FeatureRecorder(model, ["ga", "ldv2.affinity"]) as rec:
            model(x)
        rec["ldv2.affinity"]  # N×k²×h×w, detached, on CPU

    Names are checked against ``available_taps(model)`` up front. A tap hit more than once (e.g. in
    sliding-window inference) keeps its last output.

    Args:
        model: a model with ``feature_info``.
        names: tap names to record.
        to_cpu: move recorded tensors to the CPU (default) or keep them on the model's device.
    """

    def __init__(self, model: SegmentationModel, names: Iterable[str], *, to_cpu: bool = True) -> None:
        taps = {t.name: t for t in available_taps(model)}
        self.names = list(names)
        unknown = [n for n in self.names if n not in taps]
        if unknown:
            raise TapError(
                f"FeatureRecorder: model {type(model).__name__} has no tap {', '.join(map(repr, unknown))}; "
                f"available taps: {', '.join(taps) or 'none'}"
            )
        modules = dict(model.named_modules())
        missing = [taps[n].module for n in self.names if taps[n].module not in modules]
        if missing:
            raise TapError(f"FeatureRecorder: feature_info names modules the model lacks: {missing}")
        self._targets = {n: modules[taps[n].module] for n in self.names}
        self._to_cpu = to_cpu
        self._stack: ExitStack | None = None
        self.outputs: dict[str, torch.Tensor] = {}

    def _hook(self, name: str):
        def record(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
            value = output.detach()
            self.outputs[name] = value.cpu() if self._to_cpu else value

        return record

    def __enter__(self) -> FeatureRecorder:
        self.outputs = {}
        with ExitStack() as stack:
            for name, module in self._targets.items():
                stack.enter_context(module.register_forward_hook(self._hook(name)))
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self.outputs:
            raise KeyError(f"tap {name!r} was not recorded (requested: {self.names}); did a forward run?")
        return self.outputs[name]

    def __contains__(self, name: object) -> bool:
        return name in self.outputs
