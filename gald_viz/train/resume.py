"""Starting a run from saved tensors: the resume sidecar of an interrupted run, and ``--init`` copying.

Every ``--save-every`` iterations a run writes ``OUT.resume.safetensors`` beside ``OUT``: model and
optimizer tensors, the iteration, torch RNG states, and the run's settings as JSON metadata (no pickled
code). A run given ``--resume`` must repeat the settings marked ``same_on_resume`` in
:class:`gald_viz.train.config.TrainConfig`; it then continues bit for bit where the sidecar left off.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, safe_open, save_file

from gald_viz.train.config import TrainConfig, TrainError, label_set_of, resume_mismatches

META_KEY = "gald_viz.resume"


def resume_path(out: str | Path) -> Path:
    """The resume sidecar written next to ``out``."""
    out = Path(out)
    return out.with_name(out.stem + ".resume.safetensors")


def save_resume(
    path: Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    iteration: int,
    config: TrainConfig,
    elapsed: float,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    extra_meta: dict | None = None,
) -> None:
    """Write model + optimizer tensors and the run state as safetensors with JSON metadata, plus
    ``extra_tensors`` and ``extra_meta`` (the branch tracker's state)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    for index, state in opt_state["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{key}"] = value.detach().cpu().contiguous()
    tensors |= extra_tensors or {}
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    meta = {
        "iteration": iteration,
        "elapsed_s": elapsed,
        "config": asdict(config),
        "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in opt_state["param_groups"]],
        **(extra_meta or {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta)})
    tmp.replace(path)


def load_resume(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a sidecar written by :func:`save_resume`: ``(run state, tensors)``."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"--resume {path}: no such file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = (f.metadata() or {}).get(META_KEY)
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise TrainError(f"--resume {path}: not a safetensors resume file ({exc})") from exc
    if meta is None:
        raise TrainError(f"--resume {path}: no {META_KEY!r} metadata; not written by gald_viz.train")
    return json.loads(meta), tensors


def _restore_optimizer(
    optimizer: torch.optim.Optimizer, meta: dict, tensors: dict[str, torch.Tensor]
) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    groups = optimizer.state_dict()["param_groups"]
    for group, saved in zip(groups, meta["param_groups"], strict=True):
        group.update(saved)
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def init_from(model: torch.nn.Module, path: str, only: list[str], log: logging.Logger) -> None:
    """Copy every tensor of checkpoint ``path`` whose name (under one of ``only``) and shape match."""
    from gald_viz.checkpoints import load_model

    source = load_model(path, num_classes=None).state_dict()  # tensors of any K: copied by shape
    own = model.state_dict()
    copied = {
        k: v
        for k, v in source.items()
        if k in own and own[k].shape == v.shape and (not only or any(k.startswith(p) for p in only))
    }
    if not copied:
        raise TrainError(f"--init {path}: no tensor matches the model {model.arch!r} by name and shape")
    model.load_state_dict(copied, strict=False)
    log.info(
        "init: copied %d of %d tensors from %s (prefixes: %s)",
        len(copied),
        len(own),
        path,
        ", ".join(only) or "all",
    )


def check_settings(meta: dict, config: TrainConfig, path: str | Path) -> None:
    """Raise :class:`TrainError` naming the settings in which ``config`` differs from the saved run's."""
    differing = resume_mismatches(TrainConfig.from_dict(meta["config"]), config)
    if differing:
        raise TrainError(
            f"--resume {path}: settings differ from the saved run ({', '.join(differing)}); "
            "repeat the original command with --resume"
        )


def restore(
    meta: dict,
    tensors: dict[str, torch.Tensor],
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
) -> None:
    """Put the sidecar's model and optimizer tensors and RNG states back in place."""
    model.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")})
    _restore_optimizer(optimizer, meta, tensors)
    torch.set_rng_state(tensors["rng.cpu"])
    if device.type == "cuda":
        torch.cuda.set_rng_state_all([v for k, v in sorted(tensors.items()) if k.startswith("rng.cuda.")])


def probed_copy(config: TrainConfig) -> torch.nn.Module:
    """``--probes``: the ``--init`` model rebuilt with probe heads (random) and all its own tensors."""
    from gald_viz.checkpoints import load_model
    from gald_viz.models import build_model

    if config.init is None:
        raise TrainError("--probes needs --init PATH: the trained model whose probe heads to fit")
    frozen = load_model(config.init, label_set=label_set_of(config))
    options = {**frozen.options, **config.options, "probes": True}
    model = build_model(frozen.arch, num_classes=frozen.num_classes, **options)
    if model.arch != config.arch:
        raise TrainError(f"--arch {config.arch!r} differs from the --init model's {model.arch!r}")
    missing, unexpected = model.load_state_dict(frozen.state_dict(), strict=False)
    bad = [k for k in missing if not k.startswith("probe")] + list(unexpected)
    if bad:
        raise TrainError(f"--init {config.init}: tensors do not fit {config.arch!r}: {bad[:5]}")
    return model
