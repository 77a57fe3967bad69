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


def trainable_params(model: torch.nn.Module, config: TrainConfig) -> list[torch.nn.Parameter]:
    """Freeze what :func:`is_frozen` names; return the parameters left to train."""
    params, frozen = [], 0
    for name, param in model.named_parameters():
        param.requires_grad_(not is_frozen(name, config))
        if param.requires_grad:
            params.append(param)
        else:
            frozen += 1
    if config.freeze and not frozen:
        raise TrainError(f"--freeze {' '.join(config.freeze)}: {model.arch!r} has no parameter of that name")
    if config.probes and not params:
        raise TrainError(f"--probes: model {model.arch!r} has no probe heads (build it with probes=true)")
    if not params:
        raise TrainError(f"--freeze {' '.join(config.freeze)}: nothing of {model.arch!r} is left to train")
    return params


def set_train_mode(model: torch.nn.Module, config: TrainConfig) -> None:
    """Train mode, but frozen modules stay in eval mode so their BN statistics never move."""
    model.train()
    if config.probes or config.freeze:
        for name, module in model.named_modules():
            if name and is_frozen(name, config):
                module.eval()
