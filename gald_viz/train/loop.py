"""The training loop: set a run up, step it, log it, save sidecars and the finished checkpoint.

A run writes ``OUT`` (through :func:`gald_viz.checkpoints.save_model`, with the run's settings and
provenance as metadata), ``OUT.log`` and, every ``--save-every`` iterations, the resume sidecar of
:mod:`gald_viz.train.resume`. SGD with momentum and weight decay follows the paper's recipe (see
:mod:`gald_viz.train.loss`).
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from gald_viz.train.branches import METADATA_KEY, BranchTracker, tracker_state
from gald_viz.train.config import TrainConfig, TrainError, checkpoint_metadata, label_set_of
from gald_viz.train.data import batch_at, build_dataset
from gald_viz.train.freeze import set_train_mode, trainable_params
from gald_viz.train.loss import poly_lr, segmentation_loss
from gald_viz.train.resume import (
    check_settings,
    init_from,
    load_resume,
    probed_copy,
    restore,
    resume_path,
    save_resume,
)
from gald_viz.train.validate import VAL_SEED, stopped_rising, trained_heads, validation_scores


@dataclass
class Run:
    """A run in progress: its settings, model and optimizer, and where it stands."""

    config: TrainConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device
    log: logging.Logger
    tracker: BranchTracker
    start_iter: int = 0
    elapsed: float = 0.0  # seconds spent training before this process started
    curve: list[dict] = field(default_factory=list)  # validation points {"iteration", "scores"}
    stopped_at: int | None = None  # the iteration early stopping ended the run at

    @property
    def sidecar(self) -> Path:
        return resume_path(self.config.out)

    def save_sidecar(self, iteration: int, elapsed: float) -> None:
        save_resume(
            self.sidecar,
            model=self.model,
            optimizer=self.optimizer,
            iteration=iteration,
            config=self.config,
            elapsed=elapsed,
            extra_tensors=self.tracker.state_tensors(),
            extra_meta={
                "branch_grad_steps": self.tracker.steps,
                "branch_grad_since": self.tracker.since,
                "val_curve": self.curve,
                "stopped_at": self.stopped_at,
            },
        )


def train(
    config: TrainConfig,
    *,
    resume: str | None = None,
    device: str = "auto",
    progress: bool = True,
    command: str | None = None,
) -> torch.nn.Module:
    """Train ``config.arch`` on ``config.data`` and save it to ``config.out``; returns the model (eval mode).

    Args:
        config: the run's settings.
        resume: a sidecar written by an earlier run of the same config; training continues from its iteration.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:i]"``.
        progress: show the tqdm bar.
        command: the command line stored in the metadata (defaults to this process's argv).
    """
    run = start_run(config, resume=resume, device=device)
    dataset, described = build_dataset(config, run.model.input_scale, progress=progress)
    n_params = sum(p.numel() for p in run.model.parameters())
    run.log.info("config %s", json.dumps(asdict(config)))
    run.log.info("model %s, %d parameters, device %s, data %s", config.arch, n_params, run.device, described)
    commit = git_commit()  # the code that trains, taken before the tree can change under a long run
    run.elapsed += run_iterations(run, dataset, progress=progress)
    run.model.eval()
    run.model.cpu()
    save_checkpoint(run, described=described, commit=commit, command=command)
    return run.model


def start_run(config: TrainConfig, *, resume: str | None, device: str) -> Run:
    """Model, optimizer and log of a new run, or of one continuing the sidecar ``resume``."""
    from gald_viz.inference import resolve_device

    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = make_logger(out.with_name(out.stem + ".log"), append=resume is not None)
    dev = resolve_device(device)
    saved = None
    if resume is not None:
        saved = load_resume(resume)
        check_settings(saved[0], config, resume)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    # A sidecar written without the branch tracker's state: rebuild the initial weights (seed, --init)
    # so distances are still measured from them; its gradient sums start at the resumed iteration.
    tracked = tracker_state(saved[1]) if saved is not None else None
    model = build_run_model(config, log, resuming=tracked is not None)
    tracker = BranchTracker(
        model,
        tracked,
        steps=saved[0].get("branch_grad_steps", 0) if saved else 0,
        since=saved[0].get("branch_grad_since", saved[0]["iteration"]) if saved else 0,
    )
    groups = trainable_params(model, config)
    model.to(dev)
    optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.wd)
    run = Run(config, model, optimizer, dev, log, tracker)
    if saved is not None:
        meta, tensors = saved
        restore(meta, tensors, model=model, optimizer=optimizer, device=dev)
        run.start_iter, run.elapsed = meta["iteration"], meta["elapsed_s"]
        run.curve, run.stopped_at = meta.get("val_curve", []), meta.get("stopped_at")
        log.info("resumed from %s at iteration %d", resume, run.start_iter)
    return run


def build_run_model(config: TrainConfig, log: logging.Logger, *, resuming: bool) -> torch.nn.Module:
    """The model to train: the ``--init`` model with probe heads (``--probes``), else a new one,
    initialised from ``--init`` unless resuming (the sidecar holds its weights)."""
    from gald_viz.models import build_model

    if config.probes:
        return probed_copy(config)
    model = build_model(config.arch, num_classes=label_set_of(config).num_classes, **config.options)
    if config.init is not None and not resuming:
        init_from(model, config.init, config.init_only, log)
    return model


def run_iterations(run: Run, dataset: torch.utils.data.Dataset, *, progress: bool) -> float:
    """Train from ``run.start_iter`` to ``config.iters``, logging and saving sidecars; seconds taken."""
    config = run.config
    bar = tqdm(
        range(run.start_iter, config.iters),
        initial=run.start_iter,
        total=config.iters,
        disable=not progress,
        desc=config.arch,
        unit="it",
    )
    started = tick = time.perf_counter()
    validation = validation_set(config)
    for it in bar:
        if run.stopped_at is not None:
            break
        loss, parts, lr = train_step(run, *batch_at(dataset, it, config.batch), it)
        bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}")
        done = it + 1
        if done % config.log_every == 0 or done == config.iters:
            tick = log_progress(run, done, loss, parts, lr, since=tick)
        if validation and (done % config.val_every == 0 or done == config.iters):
            validate(run, validation, done)
        if done % config.save_every == 0 and done < config.iters and run.stopped_at is None:
            run.save_sidecar(done, run.elapsed + time.perf_counter() - started)
    bar.close()
    return time.perf_counter() - started


def validation_set(config: TrainConfig) -> list:
    """The ``--val-images`` unseen SynthCity val scenes of ``--val-every`` validation (none when off)."""
    from gald_viz.data.synthcity import SynthCity

    if not config.val_every:
        return []
    return list(SynthCity("val", config.val_images, VAL_SEED, *config.data_size))


def validate(run: Run, validation: list, done: int) -> None:
    """Score the heads on the validation scenes, log and record the point; stop when they stopped rising."""
    run.model.eval()
    with torch.no_grad():
        scores = validation_scores(run.model, validation)
    run.curve.append({"iteration": done, "scores": scores})
    run.log.info("val %d: %s", done, " ".join(f"{k}={100 * v:.2f}" for k, v in scores.items()))
    if stopped_rising(run.curve, trained_heads(scores, run.config.probes), run.config.patience):
        run.stopped_at = done
        run.log.info("validation mIoU stopped rising: stopping at iteration %d", done)


def train_step(
    run: Run, images: torch.Tensor, labels: torch.Tensor, iteration: int
) -> tuple[float, dict[str, float], float]:
    """One SGD step at the poly learning rate of ``iteration``: ``(loss, loss parts, lr)``."""
    from gald_viz.inference import normalise_batch

    config, model, optimizer = run.config, run.model, run.optimizer
    lr = poly_lr(config.lr, iteration, config.iters)
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_mult", 1.0)
    x = normalise_batch(images, model.preset).to(run.device, non_blocking=True)
    y = labels.to(run.device, non_blocking=True)
    set_train_mode(model, config)
    loss, parts = segmentation_loss(model.forward_train(x), y, config)
    if not torch.isfinite(loss):
        raise TrainError(f"loss became {loss.item()} at iteration {iteration}; lower --lr (now {config.lr})")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.tracker.after_backward(model)
    optimizer.step()
    return loss.item(), parts, lr


def log_progress(
    run: Run, done: int, loss: float, parts: dict[str, float], lr: float, *, since: float
) -> float:
    """Log iteration ``done`` with the seconds per iteration since the last line at ``since``; returns now."""
    config = run.config
    now = time.perf_counter()
    run.log.info(
        "iter %d/%d loss %.4f %s lr %.3e %.2f s/it",
        done,
        config.iters,
        loss,
        " ".join(f"{k}={v:.3f}" for k, v in parts.items()),
        lr,
        (now - since) / (done - max(run.start_iter, done - config.log_every)),
    )
    return now


def save_checkpoint(run: Run, *, described: str, commit: str, command: str | None) -> None:
    """Save the finished model with its provenance; when that fails, keep the state in the sidecar."""
    from gald_viz.checkpoints import save_model

    config, out = run.config, Path(run.config.out)
    metadata = dict(
        data=described,
        **checkpoint_metadata(config),
        git_commit=commit,
        train_seconds=round(run.elapsed, 1),
        device=device_name(run.device),
        command=command or shlex.join(["python", "-m", "gald_viz.train", *sys.argv[1:]]),
        **{METADATA_KEY: run.tracker.report(run.model)},
        val_curve=run.curve,
        iterations_run=run.stopped_at or config.iters,
    )
    try:
        save_model(run.model, out, label_set=label_set_of(config), **metadata)
    except Exception:
        # A finished run must never be lost to a failing save: --resume this sidecar to save again.
        run.save_sidecar(run.stopped_at or config.iters, run.elapsed)
        run.log.exception("saving %s failed; state kept in %s", out, run.sidecar)
        raise
    run.log.info("saved %s after %d iterations, %.1f s", out, run.stopped_at or config.iters, run.elapsed)


def make_logger(path: Path, *, append: bool) -> logging.Logger:
    """The run's file logger (``OUT.log``), appended to when resuming."""
    log = logging.getLogger(f"gald_viz.train.{path}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(path, mode="a" if append else "w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    return log


def device_name(dev: torch.device) -> str:
    """The GPU's name, or ``cpu (N threads)``."""
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"


def git_commit() -> str:
    """``git rev-parse HEAD`` of the working tree, ``+dirty`` when it has uncommitted changes."""
    try:
        root = Path(__file__).resolve().parent
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")
