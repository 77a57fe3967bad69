"""Which parts of the model stay fixed during a run, weights and BN statistics alike.

``--probes`` runs train the probe heads alone (classifiers on the backbone and GA outputs, so one model
shows FCN, GA and GALD stage predictions) on a frozen model; ``--freeze PREFIX`` fixes every parameter
and module whose name starts with a prefix. Frozen modules stay in eval mode, so their batch-norm
running statistics never move either.
"""

from __future__ import annotations

import torch

from gald_viz.train.config import TrainConfig, TrainError


def is_frozen(name: str, config: TrainConfig) -> bool:
    """Whether parameter or module ``name`` stays fixed: all but the probe heads in ``--probes`` runs,
    else whatever starts with a ``--freeze`` prefix."""
    if config.probes:
        return not name.startswith("probe")
    return name.startswith(tuple(config.freeze))


def lr_mult_of(name: str, config: TrainConfig) -> float:
    """The learning-rate multiplier of ``name``: that of its longest ``--lr-mult`` prefix, else 1."""
    matches = [p for p in config.lr_mult if name.startswith(p)]
    return float(config.lr_mult[max(matches, key=len)]) if matches else 1.0


def trainable_params(model: torch.nn.Module, config: TrainConfig) -> list[dict]:
    """Freeze what :func:`is_frozen` names; return the parameters left to train as SGD parameter groups,
    one per learning-rate multiplier (``lr_mult``; the loop scales the poly learning rate by it)."""
    groups: dict[float, list[torch.nn.Parameter]] = {}
    frozen, used = 0, set()
    for name, param in model.named_parameters():
        param.requires_grad_(not is_frozen(name, config))
        if param.requires_grad:
            groups.setdefault(lr_mult_of(name, config), []).append(param)
            used |= {p for p in config.lr_mult if name.startswith(p)}
        else:
            frozen += 1
    if config.freeze and not frozen:
        raise TrainError(f"--freeze {' '.join(config.freeze)}: {model.arch!r} has no parameter of that name")
    unused = sorted(set(config.lr_mult) - used)
    if unused:
        raise TrainError(
            f"--lr-mult {' '.join(unused)}: no trainable parameter of {model.arch!r} has that name"
        )
    if config.probes and not groups:
        raise TrainError(f"--probes: model {model.arch!r} has no probe heads (build it with probes=true)")
    if not groups:
        raise TrainError(f"--freeze {' '.join(config.freeze)}: nothing of {model.arch!r} is left to train")
    return [{"params": params, "lr_mult": mult} for mult, params in groups.items()]


def set_train_mode(model: torch.nn.Module, config: TrainConfig) -> None:
    """Train mode, but frozen modules stay in eval mode so their BN statistics never move."""
    model.train()
    if config.probes or config.freeze:
        for name, module in model.named_modules():
            if name and is_frozen(name, config):
                module.eval()
