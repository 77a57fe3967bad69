"""Training command for the zoo's models (GALD, Li et al., IEEE TIP 2021, Sec. IV-A).

The recipe follows the paper's implementation details: SGD with momentum 0.9 and weight decay, the
"poly" learning rate ``lr · (1 - it/iters)^0.9``, an auxiliary loss on backbone stage 3 weighted 0.4,
optional online hard example mining (OHEM, threshold 0.7 with a minimum number of kept pixels, as in
the official GALD-Net scripts), and random scale, crop and flip through
:class:`gald_viz.data.augment.TrainCrops`.

SynthCity is trained from memory, never from disk: a pool of ``--pool`` train images is generated once at
``--data-size`` (1024×2048 by default) and resized by the model's ``input_scale`` the way
:func:`gald_viz.inference.model_input` resizes at inference, and every crop is a fresh random
scale/crop/flip of a pool image. The batch at iteration ``t`` is a pure function of ``(seed, t)``, so a
resumed run sees the same data as an uninterrupted one.

A run writes ``OUT`` (through :func:`gald_viz.checkpoints.save_model`), ``OUT.log`` and, every
``--save-every`` iterations, a resume sidecar ``OUT.resume.safetensors`` (model and optimizer tensors, the
iteration, torch RNG states; the run's settings as JSON metadata; no pickled code).

``--probes`` trains only the probe heads (classifiers on the backbone and GA outputs, so one model shows
FCN, GA and GALD stage predictions) on a frozen model loaded from ``--init``. Without it, probe heads of a
model built with ``probes=true`` train jointly; the model feeds them detached features, so they never
change the main network.

Example::

    python -m gald_viz.train --arch aspp_ldv2 --data synthcity --out runs/aspp_ldv2.safetensors \\
        --iters 600 --batch 8 --crop 256 512 --option backbone=small --option probes=true
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, safe_open, save_file
from tqdm import tqdm

from gald_viz.data.labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES
from gald_viz.data.sample import Sample

AUX_WEIGHT = 0.4  # the paper's weight of the stage-3 auxiliary loss
POLY_POWER = 0.9


class TrainError(ValueError):
    """A training argument or file that cannot be used; the message names it."""


@dataclass
class TrainConfig:
    """Everything that defines a run; stored in the resume sidecar and the checkpoint metadata."""

    arch: str
    data: str
    out: str
    iters: int = 1000
    batch: int = 8
    crop: tuple[int, int] = (256, 512)
    scale: tuple[float, float] = (0.5, 2.0)
    lr: float = 0.01
    wd: float = 5e-4
    momentum: float = 0.9
    seed: int = 0
    ohem: bool = False
    ohem_thresh: float = 0.7
    ohem_min_kept: int = 100_000
    probes: bool = False
    init: str | None = None
    init_only: list[str] = field(default_factory=list)
    freeze: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    pool: int = 300
    data_size: tuple[int, int] = (1024, 2048)
    save_every: int = 200
    log_every: int = 10


def poly_lr(base_lr: float, iteration: int, iters: int, power: float = POLY_POWER) -> float:
    """The "poly" schedule: ``base_lr · (1 - iteration / iters) ** power``.

    >>> poly_lr(0.01, 0, 100)
    0.01
    >>> poly_lr(0.01, 100, 100)
    0.0
    """
    return base_lr * max(0.0, 1.0 - iteration / iters) ** power


def ohem_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    thresh: float = 0.7,
    min_kept: int = 100_000,
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Cross-entropy over the hard pixels only (online hard example mining).

    A pixel is hard when the predicted probability of its true class is below ``thresh``; when fewer than
    ``min_kept`` pixels are that hard, the threshold rises to the ``min_kept``-th smallest probability so
    the loss always sees at least that many pixels (the official GALD-Net OHEM rule).

    Args:
        logits: ``N×K×H×W`` scores at the label's size.
        target: ``N×H×W`` int64 trainIds, ``ignore_index`` ignored.
        thresh: probability below which a pixel counts as hard.
        min_kept: the least number of pixels kept.
        ignore_index: label value that never contributes.
    """
    loss = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="none").flatten()
    valid = target.flatten() != ignore_index
    if not valid.any():
        return loss.sum() * 0.0
    prob = torch.exp(-loss.detach())[valid]
    limit = thresh
    if prob.numel() > min_kept > 0:
        limit = max(thresh, torch.kthvalue(prob, min_kept).values.item())
    hard = prob <= limit
    return loss[valid][hard].mean()


def segmentation_loss(
    outputs: dict[str, torch.Tensor], target: torch.Tensor, config: TrainConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss of ``model.forward_train`` outputs: main + 0.4·aux (+ probes), each at label size.

    In ``--probes`` runs only the probe outputs count, and outputs computed by frozen parts alone are
    skipped. OHEM, when on, applies to the main output only, as in the official scripts; auxiliary and
    probe losses are plain cross-entropy.
    """
    total = target.new_zeros((), dtype=torch.float32)
    parts: dict[str, float] = {}
    for name, logits in outputs.items():
        is_probe = name.startswith("probe.")
        if (config.probes and not is_probe) or (torch.is_grad_enabled() and not logits.requires_grad):
            continue  # an output of frozen parts only (e.g. ``aux`` on a frozen backbone) teaches nothing
        # align_corners=True as in inference.forward_padded: feature cell j sits on input pixel 8·j.
        up = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=True)
        if name == "out" and config.ohem:
            loss = ohem_cross_entropy(up, target, thresh=config.ohem_thresh, min_kept=config.ohem_min_kept)
        else:
            loss = F.cross_entropy(up, target, ignore_index=IGNORE_INDEX)
        total = total + (AUX_WEIGHT if name == "aux" else 1.0) * loss
        parts[name] = loss.item()
    return total, parts


class SynthCityPool:
    """A fixed pool of SynthCity train samples held in memory, indexable without end.

    Index ``i`` maps to pool image ``hash(seed, i) mod size``, so the order is random but reproducible.
    Images are generated at ``data_size`` and resized by ``input_scale`` exactly as inference resizes a
    full-size image; labels use nearest-neighbour resizing.
    """

    def __init__(
        self,
        *,
        size: int,
        seed: int,
        input_scale: float,
        data_size: tuple[int, int] = (1024, 2048),
        progress: bool = True,
    ) -> None:
        from gald_viz.data.synthcity import generate

        if size < 1:
            raise TrainError(f"--pool must be at least 1, got {size}")
        self.seed = seed
        self.samples = [
            _resize_sample(
                generate(i, split="train", seed=seed, height=data_size[0], width=data_size[1]), input_scale
            )
            for i in tqdm(range(size), desc="SynthCity pool", leave=False, disable=not progress)
        ]

    def __call__(self, index: int) -> Sample:
        pick = np.random.default_rng([self.seed, index]).integers(len(self.samples))
        return self.samples[pick]


def _resize_sample(sample: Sample, scale: float) -> Sample:
    """Resize like ``inference.model_input`` (area when shrinking, bilinear when enlarging)."""
    h, w = sample.image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return sample
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.resize(sample.image, size, interpolation=interp)
    label = cv2.resize(sample.label, size, interpolation=cv2.INTER_NEAREST)
    return Sample(image=image, label=label, name=sample.name)


def build_dataset(
    config: TrainConfig, input_scale: float, *, progress: bool = True
) -> tuple[torch.utils.data.Dataset, str]:
    """The augmented training set for ``config.data`` and its description for the metadata."""
    from gald_viz.data.augment import TrainCrops

    spec = config.data
    if spec.split(":")[0] == "synthcity":
        if spec not in ("synthcity", "synthcity:train"):
            raise TrainError(f"--data {spec!r}: SynthCity trains on its train split only; use 'synthcity'")
        source: Callable[[int], Sample] | Sequence[Sample] = SynthCityPool(
            size=config.pool,
            seed=config.seed,
            input_scale=input_scale,
            data_size=config.data_size,
            progress=progress,
        )
        h, w = config.data_size
        described = (
            f"synthcity:train seed={config.seed} pool={config.pool} generated {h}x{w}, "
            f"resized by input_scale {input_scale:g}"
        )
        base_scale = 1.0
    else:
        from gald_viz.data.sources import open_source

        source = open_source(_cityscapes_train_spec(spec))
        described = source.describe()
        base_scale = input_scale
    crops = TrainCrops(
        source,
        crop=config.crop,
        scale=config.scale,
        base_scale=base_scale,
        seed=config.seed,
        length=config.iters * config.batch,
    )
    return crops, described


def _cityscapes_train_spec(spec: str) -> str:
    """``cityscapes[:ROOT]`` → ``cityscapes:train[:ROOT]`` (open_source's form); other specs unchanged.

    >>> _cityscapes_train_spec("cityscapes:/data/cs"), _cityscapes_train_spec("cityscapes:val")
    ('cityscapes:train:/data/cs', 'cityscapes:val')
    """
    kind, _, rest = spec.partition(":")
    if kind != "cityscapes" or rest.split(":")[0] in ("train", "val", "test", "train_extra"):
        return spec
    return f"cityscapes:train:{rest}" if rest else "cityscapes:train"


def batch_at(
    dataset: torch.utils.data.Dataset, iteration: int, batch: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch of ``iteration``: samples ``iteration·batch … +batch-1`` (a pure function of the index)."""
    items = [dataset[iteration * batch + j] for j in range(batch)]
    images = torch.stack([it["image"] for it in items])
    labels = torch.stack([it["label"] for it in items])
    return images, labels


def _normaliser(preset: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Batch version of ``inference.preprocess``: uint8 N×3×H×W RGB → the model's input convention."""
    from gald_viz.inference import PRESETS

    p = PRESETS[preset]
    mean = torch.tensor(p.mean).view(1, 3, 1, 1)
    std = torch.tensor(p.std).view(1, 3, 1, 1)

    def apply(images: torch.Tensor) -> torch.Tensor:
        x = images.flip(1) if p.bgr else images
        return (x.float() * p.scale - mean) / std

    return apply


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
) -> None:
    """Write model + optimizer tensors and the run state as safetensors with JSON metadata."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    for index, state in opt_state["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{key}"] = value.detach().cpu().contiguous()
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    meta = {
        "iteration": iteration,
        "elapsed_s": elapsed,
        "config": asdict(config),
        "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in opt_state["param_groups"]],
    }
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"gald_viz.resume": json.dumps(meta)})
    tmp.replace(path)


def load_resume(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a sidecar written by :func:`save_resume`: ``(run state, tensors)``."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"--resume {path}: no such file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = (f.metadata() or {}).get("gald_viz.resume")
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise TrainError(f"--resume {path}: not a safetensors resume file ({exc})") from exc
    if meta is None:
        raise TrainError(f"--resume {path}: no 'gald_viz.resume' metadata; not written by gald_viz.train")
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


def _init_from(model: torch.nn.Module, path: str, only: list[str], log: logging.Logger) -> None:
    """Copy every tensor of checkpoint ``path`` whose name (under one of ``only``) and shape match."""
    from gald_viz.checkpoints import load_model

    source = load_model(path).state_dict()
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


def _is_frozen(name: str, config: TrainConfig) -> bool:
    """Whether parameter or module ``name`` stays fixed: all but the probe heads in ``--probes`` runs,
    else whatever starts with a ``--freeze`` prefix."""
    if config.probes:
        return not name.startswith("probe")
    return name.startswith(tuple(config.freeze))


def _trainable_params(model: torch.nn.Module, config: TrainConfig) -> list[torch.nn.Parameter]:
    """Freeze what :func:`_is_frozen` names; return the parameters left to train."""
    params, frozen = [], 0
    for name, param in model.named_parameters():
        param.requires_grad_(not _is_frozen(name, config))
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


def _set_train_mode(model: torch.nn.Module, config: TrainConfig) -> None:
    """Train mode, but frozen modules stay in eval mode so their BN statistics never move."""
    model.train()
    if config.probes or config.freeze:
        for name, module in model.named_modules():
            if name and _is_frozen(name, config):
                module.eval()


def _make_logger(path: Path, *, append: bool) -> logging.Logger:
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
    from gald_viz.checkpoints import load_model, save_model
    from gald_viz.inference import resolve_device
    from gald_viz.models import build_model

    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = _make_logger(out.with_name(out.stem + ".log"), append=resume is not None)
    dev = resolve_device(device)
    start_iter, elapsed, state_tensors = 0, 0.0, None
    if resume is not None:
        meta, state_tensors = load_resume(resume)
        saved = TrainConfig(
            **{
                **meta["config"],
                "crop": tuple(meta["config"]["crop"]),
                "scale": tuple(meta["config"]["scale"]),
                "data_size": tuple(meta["config"]["data_size"]),
            }
        )
        differing = [
            k
            for k in (
                "arch",
                "data",
                "iters",
                "batch",
                "crop",
                "scale",
                "lr",
                "wd",
                "seed",
                "ohem",
                "probes",
                "freeze",
                "options",
                "pool",
                "data_size",
            )
            if getattr(saved, k) != getattr(config, k)
        ]
        if differing:
            raise TrainError(
                f"--resume {resume}: settings differ from the saved run ({', '.join(differing)}); "
                "repeat the original command with --resume"
            )
        start_iter, elapsed = meta["iteration"], meta["elapsed_s"]

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    if config.probes:
        if config.init is None:
            raise TrainError("--probes needs --init PATH: the trained model whose probe heads to fit")
        frozen = load_model(config.init)
        options = {**frozen.options, **config.options, "probes": True}
        model = build_model(frozen.arch, num_classes=frozen.num_classes, **options)
        if model.arch != config.arch:
            raise TrainError(f"--arch {config.arch!r} differs from the --init model's {model.arch!r}")
        missing, unexpected = model.load_state_dict(frozen.state_dict(), strict=False)
        bad = [k for k in missing if not k.startswith("probe")] + list(unexpected)
        if bad:
            raise TrainError(f"--init {config.init}: tensors do not fit {config.arch!r}: {bad[:5]}")
    else:
        model = build_model(config.arch, num_classes=NUM_CLASSES, **config.options)
        if config.init is not None and resume is None:
            _init_from(model, config.init, config.init_only, log)
    params = _trainable_params(model, config)
    model.to(dev)
    optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.wd)
    if state_tensors is not None:
        model.load_state_dict({k[6:]: v for k, v in state_tensors.items() if k.startswith("model.")})
        _restore_optimizer(optimizer, meta, state_tensors)
        torch.set_rng_state(state_tensors["rng.cpu"])
        if dev.type == "cuda":
            torch.cuda.set_rng_state_all(
                [v for k, v in sorted(state_tensors.items()) if k.startswith("rng.cuda.")]
            )
        log.info("resumed from %s at iteration %d", resume, start_iter)

    dataset, data_described = build_dataset(config, model.input_scale, progress=progress)
    normalise = _normaliser(model.preset)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("config %s", json.dumps(asdict(config)))
    log.info("model %s, %d parameters, device %s, data %s", config.arch, n_params, dev, data_described)

    bar = tqdm(
        range(start_iter, config.iters),
        initial=start_iter,
        total=config.iters,
        disable=not progress,
        desc=config.arch,
        unit="it",
    )
    sidecar = resume_path(out)
    commit = git_commit()  # the code that trains, taken before the tree can change under a long run
    started = tick = time.perf_counter()
    for it in bar:
        lr = poly_lr(config.lr, it, config.iters)
        for group in optimizer.param_groups:
            group["lr"] = lr
        images, labels = batch_at(dataset, it, config.batch)
        x, y = normalise(images).to(dev, non_blocking=True), labels.to(dev, non_blocking=True)
        _set_train_mode(model, config)
        loss, parts = segmentation_loss(model.forward_train(x), y, config)
        if not torch.isfinite(loss):
            raise TrainError(f"loss became {loss.item()} at iteration {it}; lower --lr (now {config.lr})")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}")
        done = it + 1
        if done % config.log_every == 0 or done == config.iters:
            now = time.perf_counter()
            log.info(
                "iter %d/%d loss %.4f %s lr %.3e %.2f s/it",
                done,
                config.iters,
                loss.item(),
                " ".join(f"{k}={v:.3f}" for k, v in parts.items()),
                lr,
                (now - tick) / (done - max(start_iter, done - config.log_every)) if done > start_iter else 0,
            )
            tick = now
        if done % config.save_every == 0 and done < config.iters:
            save_resume(
                sidecar,
                model=model,
                optimizer=optimizer,
                iteration=done,
                config=config,
                elapsed=elapsed + time.perf_counter() - started,
            )
    bar.close()
    elapsed += time.perf_counter() - started
    model.eval()
    model.cpu()
    metadata = dict(
        classes=list(CLASS_NAMES),
        data=data_described,
        iters=config.iters,
        seed=config.seed,
        batch=config.batch,
        crop=list(config.crop),
        scale=list(config.scale),
        lr=config.lr,
        wd=config.wd,
        ohem=config.ohem,
        probes_only=config.probes,
        init=config.init,
        init_only=config.init_only,
        freeze=config.freeze,
        git_commit=commit,
        train_seconds=round(elapsed, 1),
        device=_device_name(dev),
        command=command or shlex.join(["python", "-m", "gald_viz.train", *sys.argv[1:]]),
    )
    try:
        save_model(model, out, **metadata)
    except Exception:
        # A finished run must never be lost to a failing save: --resume this sidecar to save again.
        save_resume(
            sidecar, model=model, optimizer=optimizer, iteration=config.iters, config=config, elapsed=elapsed
        )
        log.exception("saving %s failed; state kept in %s", out, sidecar)
        raise
    log.info("saved %s after %d iterations, %.1f s", out, config.iters, elapsed)
    return model


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"


def _option(text: str) -> tuple[str, object]:
    """``key=value`` with the value parsed as JSON when it is JSON (numbers, true/false), else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--option {text!r}: expected key=value")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def parse_args(argv: Sequence[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    """Parse the command line into a :class:`TrainConfig` (plus the run-only flags)."""
    p = argparse.ArgumentParser(
        prog="python -m gald_viz.train",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = TrainConfig(arch="", data="", out="")
    p.add_argument("--arch", required=True, help="model name (gald_viz.models.MODEL_NAMES)")
    p.add_argument(
        "--data", required=True, help="synthcity | cityscapes[:ROOT] | folders:IMAGES,LABELS (train split)"
    )
    p.add_argument("--out", required=True, help="output .safetensors (log and resume sidecar beside it)")
    p.add_argument("--iters", type=int, default=d.iters)
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument(
        "--crop",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        default=d.crop,
        help="crop size at the model's input scale",
    )
    p.add_argument(
        "--scale", type=float, nargs=2, metavar=("LO", "HI"), default=d.scale, help="random rescale range"
    )
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--wd", type=float, default=d.wd, help="weight decay")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--resume", help="resume sidecar (OUT.resume.safetensors) of an interrupted run")
    p.add_argument("--ohem", action="store_true", help="OHEM on the main loss")
    p.add_argument("--ohem-thresh", type=float, default=d.ohem_thresh)
    p.add_argument("--ohem-min-kept", type=int, default=d.ohem_min_kept)
    p.add_argument(
        "--probes", action="store_true", help="train only the probe heads of the frozen --init model"
    )
    p.add_argument("--init", help="checkpoint to initialise from (tensors matching by name and shape)")
    p.add_argument(
        "--init-only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="with --init: copy only tensors whose name starts with PREFIX (repeatable)",
    )
    p.add_argument(
        "--freeze",
        action="append",
        default=[],
        metavar="PREFIX",
        help="keep parameters whose name starts with PREFIX fixed, their BN statistics too (repeatable)",
    )
    p.add_argument(
        "--option",
        action="append",
        type=_option,
        default=[],
        metavar="KEY=VALUE",
        help="build_model option, e.g. backbone=small, head_channels=128, probes=true",
    )
    p.add_argument("--pool", type=int, default=d.pool, help="SynthCity: train images generated into memory")
    p.add_argument(
        "--data-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        default=d.data_size,
        help="SynthCity: size the pool images are generated at",
    )
    p.add_argument("--save-every", type=int, default=d.save_every, help="iterations between resume sidecars")
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    a = p.parse_args(argv)
    if a.iters < 1 or a.batch < 1:
        p.error("--iters and --batch must be positive")
    config = TrainConfig(
        arch=a.arch,
        data=a.data,
        out=a.out,
        iters=a.iters,
        batch=a.batch,
        crop=tuple(a.crop),
        scale=tuple(a.scale),
        lr=a.lr,
        wd=a.wd,
        seed=a.seed,
        ohem=a.ohem,
        ohem_thresh=a.ohem_thresh,
        ohem_min_kept=a.ohem_min_kept,
        probes=a.probes,
        init=a.init,
        init_only=a.init_only,
        freeze=a.freeze,
        options=dict(a.option),
        pool=a.pool,
        data_size=tuple(a.data_size),
        save_every=a.save_every,
        log_every=a.log_every,
    )
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


if __name__ == "__main__":
    main()
