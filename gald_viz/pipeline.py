"""Pipelined evaluation: decoding, the network and scoring overlap, and sweeps of several models.

:func:`evaluate_pipelined` is the per-image loop of :func:`gald_viz.jobs.run_job` in three stages:

1. decoding and preprocessing (``source[i]``, :func:`~gald_viz.inference.model_input`) in a pool of
   ``workers`` threads, at most ``max(2 × workers, batch)`` images ahead;
2. the network on the calling thread and device, ``batch`` consecutive images of one size per forward
   (:func:`~gald_viz.inference.forward_input`);
3. scoring (:func:`~gald_viz.metrics.scoring.score_image`, the four-way pair arrays) and the PNG write in
   a pool of ``workers`` threads, at most ``2 × workers`` images in flight, so memory stays flat.

Store transactions stay on the calling thread, one per image, in position order, after the image's PNG:
a killed job loses at most the images in flight, never a half-stored one. With float32 and ``batch`` 1
every stored number, BLOB and PNG is the sequential loop's (the same operations on the same inputs);
only the ``seconds`` timing differs.

``batch`` > 1 forwards N images together: convolution kernels may sum in another order for N > 1, so
the logits agree to float tolerance (about 1e-5 relative) and a pixel whose two best classes are that
close can flip; the predictions, and the scores computed from them, may then differ in those pixels.
``amp`` (CUDA only) runs the forward under bfloat16 autocast with channels-last tensors: the logits
change by bfloat16 rounding (about 1e-2 relative), so predictions and scores differ more; such a run is
another run (its identity records ``precision``). On the CPU ``amp`` is refused (bfloat16 is slow there
and LDv2's sparse path fails under it).

:func:`run_sweep` evaluates several models over the same images: each image is decoded once and every
model runs on it in turn; each model's results are the run ``evaluate model`` would store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from gald_viz import jobs
from gald_viz.data.label_set import CITYSCAPES
from gald_viz.inference import class_argmax, forward_input, model_input, native_logits
from gald_viz.job_pairs import JobError, _catch_up_fourway, _pair_arrays, _pairs, _partner_prediction
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS
from gald_viz.metrics.scoring import score_image
from gald_viz.store import DEFAULT_DB, ImageResult, StoreError

__all__ = ["AMP_PRECISION", "PipelineOptions", "default_workers", "evaluate_pipelined", "run_sweep"]

AMP_PRECISION = "bfloat16-autocast"
"""What a run's identity records as ``precision`` when its forwards ran under ``amp``."""


def default_workers() -> int:
    """min(2, CPU cores): the default of ``--workers``."""
    return min(2, os.cpu_count() or 1)


@dataclass(frozen=True)
class PipelineOptions:
    """How the pipelined loop runs: ``workers`` threads per pool (0: the sequential loop), ``batch``
    images per forward, ``amp`` bfloat16 autocast and channels-last on CUDA."""

    workers: int = field(default_factory=default_workers)
    batch: int = 1
    amp: bool = False

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise JobError(f"workers={self.workers}: must be 0 (sequential) or more")
        if self.batch < 1:
            raise JobError(f"batch={self.batch}: must be at least 1")

    def check_device(self, device: torch.device) -> None:
        if self.amp and device.type != "cuda":
            raise JobError(
                f"amp: bfloat16 autocast runs only on CUDA, and the device is {device}; drop --amp"
                " (on the CPU bfloat16 is slow and LDv2's sparse path fails under it)"
            )

    def precision(self) -> str | None:
        return AMP_PRECISION if self.amp else None


@dataclass
class RunJob:
    """One run fed by the pipeline: its model, stored images, pairs and progress."""

    run_id: str
    net: torch.nn.Module
    done: set
    pairs: list
    plans: dict
    progress: object
    desc: str
    report: object = None
    bar: object = None


@dataclass
class _Decoded:
    position: int
    sample: object
    inputs: dict
    start: float


def _input_key(net) -> tuple:
    return (net.preset, float(net.input_scale))


def _decode(source, first, nets, position: int) -> _Decoded:
    start = time.perf_counter()
    sample = first if position == 0 else source[position]
    inputs = {}
    for net in nets:
        if _input_key(net) not in inputs:
            inputs[_input_key(net)] = model_input(net, sample.image)
    return _Decoded(position, sample, inputs, start)


def _ahead(pool: ThreadPoolExecutor, fn, items: Iterable, depth: int) -> Iterator:
    """``fn(item)`` for each item, in order, computed in ``pool`` at most ``depth`` items ahead."""
    queue: deque[Future] = deque()
    try:
        for item in items:
            queue.append(pool.submit(fn, item))
            if len(queue) > depth:
                yield queue.popleft().result()
        while queue:
            yield queue.popleft().result()
    finally:
        for fut in queue:
            fut.cancel()


def _groups(decoded: Iterable[_Decoded], batch: int) -> Iterator[list[_Decoded]]:
    """Runs of consecutive images of one size, at most ``batch`` long."""
    group: list[_Decoded] = []
    for item in decoded:
        if group and (len(group) == batch or item.sample.image.shape != group[0].sample.image.shape):
            yield group
            group = []
        group.append(item)
    if group:
        yield group


def _score(store, job: RunJob, item: _Decoded, pred, partners: dict, thresholds, num_classes: int):
    """Scores, pair arrays and PNG of one image (in a worker thread); the transaction is the caller's."""
    sample = item.sample
    stats = score_image(pred, sample.label, thresholds, num_classes=num_classes)
    h, w = stats.image_size
    paired = {}
    for (run_ga, run_gald), other in partners.items():
        ga, gald = (pred, other) if run_ga == job.run_id else (other, pred)
        paired[(run_ga, run_gald)] = _pair_arrays(
            ga, gald, sample.label, num_classes, job.plans.get((run_ga, run_gald))
        )
    png = store.save_prediction(job.run_id, sample.name, pred)
    seconds = time.perf_counter() - item.start
    return ImageResult(sample.name, item.position, h, w, seconds, dict(stats.arrays)), png, paired


def _partners(store, job: RunJob, name: str, pred: np.ndarray, fresh: dict) -> dict:
    """The partner predictions of this image: from this sweep's memory, else from the store."""
    out = {}
    for run_ga, run_gald in job.pairs:
        partner = run_gald if run_ga == job.run_id else run_ga
        other = fresh.get((partner, name))
        if other is None:
            other = _partner_prediction(store, partner, name)
        if other is not None and other.shape == pred.shape:
            out[(run_ga, run_gald)] = other
    return out


def evaluate_pipelined(
    store,
    runs: Sequence[RunJob],
    source,
    first,
    positions: Sequence[int],
    thresholds,
    device: torch.device,
    options: PipelineOptions,
) -> None:
    """Predict, score and store every image at ``positions`` that some run has not yet stored."""
    todo = [i for i in positions if any(source.names[i] not in job.done for job in runs)]
    for job in runs:
        total = len(positions)
        stored = sum(source.names[i] in job.done for i in positions)
        job.report, job.bar = jobs._progress_reporter(job.progress, total, stored, desc=job.desc)
        job.report(None)
    workers = max(1, options.workers)
    nets = [job.net for job in runs]
    autocast = torch.bfloat16 if options.amp else None
    pending: deque = deque()

    def commit() -> None:
        job, name, fut = pending.popleft()
        result, png, paired = fut.result()
        store.add_image(job.run_id, result, prediction_png=png, pairs=paired)
        job.report(name)

    with (
        ThreadPoolExecutor(workers, thread_name_prefix="decode") as readers,
        ThreadPoolExecutor(workers, thread_name_prefix="score") as scorers,
    ):
        decoded = _ahead(
            readers, lambda i: _decode(source, first, nets, i), todo, max(2 * workers, options.batch)
        )
        try:
            for group in _groups(decoded, options.batch):
                fresh = {}
                for item in group:
                    if item.sample.label is None:
                        while pending:
                            commit()
                        raise JobError(
                            f"data: image {item.sample.name!r} has no ground-truth label map to"
                            " evaluate against"
                        )
                for job in runs:
                    items = [item for item in group if item.sample.name not in job.done]
                    if not items:
                        continue
                    x = torch.cat([item.inputs[_input_key(job.net)] for item in items])
                    logits = forward_input(
                        job.net, x, device=device, autocast=autocast, channels_last=options.amp
                    )
                    for item, one in zip(items, logits, strict=True):
                        name = item.sample.name
                        pred = class_argmax(native_logits(one, item.sample.image.shape[:2])).numpy()
                        fresh[(job.run_id, name)] = pred
                        partners = _partners(store, job, name, pred, fresh)
                        fut = scorers.submit(
                            _score, store, job, item, pred, partners, thresholds, int(job.net.num_classes)
                        )
                        pending.append((job, name, fut))
                        while len(pending) >= 2 * workers:
                            commit()
            while pending:
                commit()
        finally:
            for _, _, fut in pending:
                fut.cancel()
            decoded.close()
            for job in runs:
                if job.bar is not None:
                    job.bar.close()


def run_sweep(
    models: Sequence,
    data,
    limit: int | None = None,
    device: str = "auto",
    db=DEFAULT_DB,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    progress=True,
    label_set=CITYSCAPES,
    options: PipelineOptions | None = None,
) -> list[str]:
    """Evaluate several models over the same images, each image decoded once; resumable.

    Each model's run is the one :func:`gald_viz.jobs.run_job` stores for it (same run id, rows, BLOBs
    and PNGs; four-way counts between GA-only and GALD models of the sweep included).

    Returns:
        The run ids, in the order of ``models``.
    """
    options = options or PipelineOptions()
    with jobs._opened(db) as store, contextlib.ExitStack() as locks:
        dev = jobs.resolve_device(device)
        options.check_device(dev)
        ths = jobs.check_thresholds(thresholds)
        data = jobs.resolved(data)
        source = jobs.open_source(data, limit=limit, label_set=label_set)
        if len(source) == 0:
            raise JobError(f"data {str(data)!r}: the source holds no images")
        first = source[0]
        nets, specs = [], []
        for model in models:
            net = jobs.load_model(model, device=str(dev), label_set=label_set)
            spec = jobs._run_spec(net, data, limit, source, first.image.shape[:2], ths, None, label_set)
            spec = dataclasses.replace(spec, precision=options.precision())
            if spec.run_id in {s.run_id for s in specs}:
                raise JobError(f"models: {model!r} is a model given twice (run {spec.run_id})")
            nets.append(net)
            specs.append(spec)
        for spec in specs:
            locks.enter_context(store.run_lock(spec.run_id, None, ()))
        for spec in specs:
            store.start_run(spec, device=str(dev))
        try:
            runs = []
            for net, spec in zip(nets, specs, strict=True):
                pairs = _pairs(store, spec.run_id, None)
                done = store.done_images(spec.run_id)
                runs.append(RunJob(spec.run_id, net, done, pairs, {}, progress, spec.run_id))
            evaluate_pipelined(store, runs, source, first, range(len(source)), ths, dev, options)
            for job in runs:
                _catch_up_fourway(store, job.run_id, job.pairs, source, job.net.num_classes)
        except BaseException as exc:
            for spec in specs:
                with contextlib.suppress(StoreError):
                    store.finish_run(spec.run_id, error=f"{type(exc).__name__}: {exc}")
            raise
        for spec in specs:
            store.finish_run(spec.run_id)
    return [spec.run_id for spec in specs]
