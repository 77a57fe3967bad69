"""Interventions on a GALD model: switch off or replace one mechanism for the forwards inside a block.

GALD (Li et al., IEEE TIP 2021): the LDv1 mask M (Eq. 1–2), the LDv2 kernel (Eq. 6–8) and the context Z
the classifier sees next to X (Eq. 3). Issue #12 asks what each contributes by replacing it:

- ``ldv1.mask=mean``: M replaced by its per-channel spatial mean (a global, channel-wise gate);
- ``ldv1.mask=1``: M = 1, so X_gald = 2·X_g;
- ``ldv2.kernel=uniform``: every one of the k² weights 1/k² (outside positions still add nothing), the
  kernel of the same model with θ = 0;
- ``ldv2.kernel=centre``: all weight on the centre, X_gald = g(x);
- ``context=off``: the GA/LD output Z replaced by zeros before the classifier (only X remains).

Each is a forward hook (or pre-hook) that returns the replacement tensor at a module on the forward path:
the ``ldv1.mask`` tap's identity module (LDv1 multiplies by its output); the ``ldv2.affinity`` tap's
identity module (Eq. 8 distributes with its output, :mod:`gald_viz.models.ldv2`), which then returns the
fixed k² weights; and the classifier's input, whose first channels are Z (``concat(Z, X)``). Hooks run
in the order they were registered, so a :class:`~gald_viz.hooks.FeatureRecorder` entered inside the block
records the replaced mask or kernel (the ``ldv2.affinity`` tap: 1/k² everywhere, or one-hot on the
centre), not the learned one.

Hooks fire for every forward of the module, so the block holds the model's lock
(:func:`gald_viz.hooks.model_lock`): other threads wait, this thread may run ``inference`` inside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch import nn

from gald_viz.hooks import available_taps, model_lock
from gald_viz.models.gald import GALDNet
from gald_viz.models.ldv2 import LDv2

__all__ = ["INTERVENTIONS", "intervene"]

INTERVENTIONS: tuple[str, ...] = (
    "ldv1.mask=mean",
    "ldv1.mask=1",
    "ldv2.kernel=uniform",
    "ldv2.kernel=centre",
    "context=off",
)


def _tap_module(model: nn.Module, tap: str, name: str) -> tuple[str, nn.Module]:
    """(path, module) of tap ``tap``; ValueError naming the intervention when the model lacks it."""
    paths = {t.name: t.module for t in available_taps(model)}
    modules = dict(model.named_modules())
    if tap not in paths or paths[tap] not in modules:
        raise ValueError(f"intervention {name!r}: model {_arch(model)} has no {tap!r} tap")
    return paths[tap], modules[paths[tap]]


def _arch(model: nn.Module) -> str:
    return repr(getattr(model, "arch", type(model).__name__))


def _ldv1_mask(model: nn.Module, name: str, value: str) -> Callable[[], object]:
    _, module = _tap_module(model, "ldv1.mask", name)

    def replace(_module: nn.Module, _inputs: object, mask: torch.Tensor) -> torch.Tensor:
        if value == "1":
            return torch.ones_like(mask)
        return mask.mean(dim=(2, 3), keepdim=True).expand_as(mask)

    return module.register_forward_hook(replace).remove


def _ldv2_kernel(model: nn.Module, name: str, value: str) -> Callable[[], object]:
    path, tap = _tap_module(model, "ldv2.affinity", name)
    if not isinstance(model.get_submodule(path.rpartition(".")[0]), LDv2):
        raise ValueError(
            f"intervention {name!r}: the 'ldv2.affinity' tap of {_arch(model)} is not in an LDv2"
        )

    def replace(_module: nn.Module, _inputs: object, weights: torch.Tensor) -> torch.Tensor:
        k2 = weights.shape[1]
        if value == "uniform":
            return torch.full_like(weights, 1.0 / k2)
        fixed = torch.zeros_like(weights)
        fixed[:, k2 // 2] = 1.0
        return fixed

    return tap.register_forward_hook(replace).remove


def _context_off(model: nn.Module, name: str, _value: str) -> Callable[[], object]:
    if not isinstance(model, GALDNet) or model.ga_kind == model.ld_kind == "none":
        raise ValueError(
            f"intervention {name!r}: model {_arch(model)} has no context Z before its classifier"
        )
    z_channels = model.classifier[0][0].in_channels - model.backbone.out_channels

    def zero_z(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        x = args[0].clone()
        x[:, :z_channels] = 0
        return (x, *args[1:])

    return model.classifier.register_forward_pre_hook(zero_z).remove


_SITES: dict[str, tuple[Callable[[nn.Module, str, str], Callable[[], object]], tuple[str, ...]]] = {
    "ldv1.mask": (_ldv1_mask, ("mean", "1")),
    "ldv2.kernel": (_ldv2_kernel, ("uniform", "centre")),
    "context": (_context_off, ("off",)),
}


@contextmanager
def intervene(model: nn.Module, *names: str) -> Iterator[nn.Module]:
    """Apply the named interventions (:data:`INTERVENTIONS`) to every forward of ``model`` in the block.

    Example::

        with intervene(model, "ldv2.kernel=uniform", "context=off"):
            logits = model(x)

    Args:
        model: a zoo model (``context=off`` needs a :class:`~gald_viz.models.gald.GALDNet` with a GA or LD
            head; the LDv1 ones also work on official models, through their ``ldv1.mask`` tap).
        names: interventions, at most one per site (``ldv1.mask``, ``ldv2.kernel``, ``context``).

    Yields:
        ``model``. Every hook is removed on exit, also after an exception.

    Raises:
        ValueError: an unknown name (the message lists the valid ones), two interventions on one site,
            or a model lacking the module an intervention needs (named).
    """
    plan = []
    for name in names:
        site, _, value = str(name).partition("=")
        if site not in _SITES or value not in _SITES[site][1]:
            raise ValueError(
                f"unknown intervention {name!r}; valid interventions: {', '.join(INTERVENTIONS)}"
            )
        if any(site == s for s, _ in plan):
            raise ValueError(f"intervention {name!r}: {site!r} is already intervened on in {names}")
        plan.append((site, value))
    with model_lock(model), ExitStack() as stack:
        for site, value in plan:
            stack.callback(_SITES[site][0](model, f"{site}={value}", value))
        yield model
