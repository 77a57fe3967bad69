"""Did every branch learn? Per branch: how far its parameters moved from their initialisation and what
share of the gradient it received over training.

A *branch* is a named part of a GALD network: the backbone, the GA head (``ga``), each LD part (``ld.down``:
the LDv1 mask's W_d; ``ld.theta``, ``ld.phi``, ``ld.g``: LDv2's θ, φ and g), the classifier, the auxiliary
head and the probe heads. A run keeps a copy of its initial parameters and, after every backward pass, adds
each branch's squared gradient norm to a running sum (:class:`BranchTracker`); both travel in the resume
sidecar, and the finished checkpoint's metadata holds the report (:data:`METADATA_KEY`).
``scripts/branch_learning.py`` prints it for any checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from pathlib import Path

import torch

METADATA_KEY = "branch_learning"
"""Checkpoint metadata key of :meth:`BranchTracker.report` (JSON)."""

_TENSOR_PREFIX = "branch."

MEANING = {
    "backbone": "backbone (X)",
    "ga": "GA head (X_g)",
    "ld.down": "LDv1 mask W_d",
    "ld.theta": "LDv2 θ",
    "ld.phi": "LDv2 φ",
    "ld.g": "LDv2 g",
    "classifier": "classifier",
    "aux": "auxiliary head",
    "probe_backbone": "probe on X",
    "probe_ga": "probe on X_g",
}
"""What each branch of the zoo's networks is, for tables."""


def branch_of(name: str) -> str:
    """The branch of parameter ``name``: the first name part, two for the LD module's parts.

    >>> branch_of("backbone.layer1.0.conv1.weight"), branch_of("ga.branches.0.0.weight")
    ('backbone', 'ga')
    >>> branch_of("ld.theta.weight"), branch_of("ld.down.0.0.weight"), branch_of("probe_ga.bias")
    ('ld.theta', 'ld.down', 'probe_ga')
    """
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "ld" and len(parts) > 2 else parts[0]


def branches(names: Iterable[str]) -> list[str]:
    """The branches of these parameter names, in order of first appearance."""
    return list(dict.fromkeys(branch_of(n) for n in names))


class BranchTracker:
    """Initial parameters and per-branch sums of squared gradient norms of one run.

    Args:
        model: the model being trained, in its initial state (the copy is taken now) unless ``state``.
        state: tensors of :meth:`state_tensors` from a sidecar, to continue a resumed run's sums.
        steps: iterations already summed in ``state``; ``since``: the iteration the sums start at.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        state: dict[str, torch.Tensor] | None = None,
        *,
        steps: int = 0,
        since: int = 0,
    ) -> None:
        named = dict(model.named_parameters())
        self.names = branches(named)
        self._index = {n: self.names.index(branch_of(n)) for n in named}
        own = {k.removeprefix(_TENSOR_PREFIX + "init."): v for k, v in (state or {}).items()}
        if state is not None and set(own) - {"grad_sq"} == set(named):
            self.init = {n: own[n].detach().cpu().clone() for n in named}
            self.grad_sq = own["grad_sq"].to(torch.float64).clone()
            self.steps, self.since = steps, since
        else:
            self.init = {n: p.detach().cpu().clone() for n, p in named.items()}
            self.grad_sq = torch.zeros(len(self.names), dtype=torch.float64)
            self.steps, self.since = 0, since

    def after_backward(self, model: torch.nn.Module) -> None:
        """Add this step's squared gradient norm of every branch."""
        sums = [0.0] * len(self.names)
        for name, param in model.named_parameters():
            if param.grad is not None:
                sums[self._index[name]] += float(param.grad.detach().double().pow(2).sum())
        self.grad_sq += torch.tensor(sums, dtype=torch.float64)
        self.steps += 1

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """What a sidecar keeps: the initial parameters and the gradient sums."""
        tensors = {f"{_TENSOR_PREFIX}init.{n}": t.contiguous() for n, t in self.init.items()}
        tensors[f"{_TENSOR_PREFIX}init.grad_sq"] = self.grad_sq
        return tensors

    def report(self, model: torch.nn.Module) -> dict:
        """Per branch: parameter count, initial norm, distance moved, relative distance, gradient share
        and RMS gradient norm per step relative to the final norm; plus the iterations summed."""
        stats = {b: {"params": 0, "init_sq": 0.0, "moved_sq": 0.0, "final_sq": 0.0} for b in self.names}
        for name, param in model.named_parameters():
            row = stats[branch_of(name)]
            now, init = param.detach().cpu().double(), self.init[name].double()
            row["params"] += param.numel()
            row["init_sq"] += float(init.pow(2).sum())
            row["moved_sq"] += float((now - init).pow(2).sum())
            row["final_sq"] += float(now.pow(2).sum())
        total_grad = float(self.grad_sq.sum())
        rows = {}
        for i, name in enumerate(self.names):
            row = stats[name]
            init_norm, moved = math.sqrt(row["init_sq"]), math.sqrt(row["moved_sq"])
            rms_grad = math.sqrt(float(self.grad_sq[i]) / self.steps) if self.steps else None
            rows[name] = {
                "params": row["params"],
                "init_norm": init_norm,
                "distance": moved,
                "relative_distance": moved / init_norm if init_norm > 0 else None,
                "grad_share": float(self.grad_sq[i]) / total_grad if total_grad > 0 else None,
                "relative_grad": (
                    rms_grad / math.sqrt(row["final_sq"])
                    if rms_grad is not None and row["final_sq"] > 0
                    else None
                ),
            }
        return {"branches": rows, "grad_steps": self.steps, "grad_since_iteration": self.since}


def tracker_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor] | None:
    """The tracker's tensors among a sidecar's, or ``None`` for a sidecar written without them."""
    own = {k: v for k, v in tensors.items() if k.startswith(_TENSOR_PREFIX)}
    return own or None


def branch_learning_of(model: torch.nn.Module) -> tuple[dict | None, str]:
    """A loaded checkpoint's branch report and where it came from.

    The report the trainer recorded (:data:`METADATA_KEY`) when there is one. Else, for a project
    checkpoint trained from its seed alone (no ``--init``), distances from that seed's initialisation,
    rebuilt (no gradient shares: they were not recorded). Else ``None``.
    """
    from gald_viz.models import build_model

    meta = getattr(model, "checkpoint_info", {}).get("metadata", {})
    if METADATA_KEY in meta:
        return json.loads(meta[METADATA_KEY]), "recorded by the trainer"
    if getattr(model, "checkpoint_info", {}).get("format") != "project" or "seed" not in meta:
        return None, "not recorded (not trained by gald_viz.train, or trained before it recorded them)"
    if meta.get("init", "null") != "null":  # save_model keeps a path as it is, JSON-encodes None
        return None, "not recorded, and the run started from --init weights that cannot be rebuilt here"
    torch.manual_seed(int(meta["seed"]))
    fresh = build_model(model.arch, num_classes=model.num_classes, **model.options)
    tracker = BranchTracker(fresh)
    report = tracker.report(model)
    report["grad_steps"] = 0
    return report, f"distances from the rebuilt initialisation of seed {meta['seed']}; gradients not recorded"


def sidecar_model(path: str | Path) -> tuple[torch.nn.Module, dict, dict, str]:
    """The model of a run in progress, from its resume sidecar: ``(model, meta, tensors, arch)``.

    Raises:
        TrainError: not a readable sidecar of :mod:`gald_viz.train` (the message names the file).
    """
    from gald_viz.train.config import TrainConfig
    from gald_viz.train.loop import build_run_model
    from gald_viz.train.resume import load_resume

    meta, tensors = load_resume(path)
    config = TrainConfig.from_dict(meta["config"])
    model = build_run_model(config, logging.getLogger(__name__), resuming=True)
    model.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")})
    return model, meta, tensors, config.arch


def sidecar_branch_learning(path: str | Path) -> tuple[dict | None, str, str]:
    """The branch report of a run in progress, from its resume sidecar: ``(report, source, arch)``.

    The sidecar holds the model, the initial parameters and the gradient sums up to its iteration, so the
    report is the one the finished checkpoint would record if the run stopped there.

    Raises:
        TrainError: not a readable sidecar of :mod:`gald_viz.train` (the message names the file).
    """
    model, meta, tensors, arch = sidecar_model(path)
    return (*sidecar_report(model, meta, tensors), arch)


def sidecar_report(model: torch.nn.Module, meta: dict, tensors: dict) -> tuple[dict | None, str]:
    """``(report, source)`` of a sidecar already read by :func:`sidecar_model`."""
    iters = meta["config"]["iters"]
    where = f"in progress: iteration {meta['iteration']} of {iters}, read from the resume sidecar"
    state = tracker_state(tensors)
    if state is None:
        return None, where + " (written before runs kept their initial weights)"
    steps, since = meta.get("branch_grad_steps", 0), meta.get("branch_grad_since", 0)
    return BranchTracker(model, state, steps=steps, since=since).report(model), where


def format_branch_report(report: dict) -> str:
    """The report as a text table, one branch a row."""
    rows = [
        f"{'branch':<16} {'is':<16} {'params':>9} {'|init|':>9} {'moved':>9} {'moved/|init|':>12} "
        f"{'grad %':>7} {'rel grad':>9}"
    ]

    def num(value, spec: str) -> str:
        width = int(spec.split(".")[0])
        return format(value, spec) if value is not None else "-".rjust(width)

    for name, row in report["branches"].items():
        share = row["grad_share"] * 100 if row["grad_share"] is not None else None
        rows.append(
            f"{name:<16} {MEANING.get(name, ''):<16} {row['params']:9d} {row['init_norm']:9.3f} "
            f"{row['distance']:9.3f} {num(row['relative_distance'], '12.4f')} {num(share, '7.2f')} "
            f"{num(row['relative_grad'], '9.2e')}"
        )
    if report.get("grad_steps"):
        rows.append(
            f"gradients summed over {report['grad_steps']} iterations from iteration "
            f"{report['grad_since_iteration']}"
        )
    return "\n".join(rows)
