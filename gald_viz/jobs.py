"""Resumable evaluation jobs: a model over a data source, every metric per image, into the results store.

``run_job`` runs inference and scores each image with :func:`gald_viz.metrics.scoring.score_image`
(cityscapesScripts IoU statistics, G-SCNN boundary P/R/F of Table V, F at 1-20 px) and stores its
arrays in one transaction of the :mod:`gald_viz.store` database, after its prediction PNG. A rerun of
the same command (same checkpoint, data files, limit, thresholds, image size) resumes the same run and
skips the stored images, so a job killed at any point, SIGKILL included, loses at most the images it
was working on and never doubles a row. The loop is pipelined (:mod:`gald_viz.pipeline`: decoding,
the network and scoring overlap; ``options``) unless ``workers=0`` or a mechanisms plan is given, when
it runs image after image; both store the same rows, BLOBs and PNGs.

When a GA-only run and a GALD run (LDv1/LDv2) cover the same images, the job also stores the four-way
counts per class (both right, GALD fixes, GALD breaks, both wrong), GALD's Fig. 1 view as numbers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from torch import nn

from gald_viz.checkpoints import check_labels, load_model
from gald_viz.data.label_set import CITYSCAPES, IGNORE_INDEX, LabelSet
from gald_viz.data.sources import fingerprint, open_source
from gald_viz.data.spec import DataSpec, resolved
from gald_viz.inference import predict, resolve_device
from gald_viz.job_pairs import (  # noqa: F401 (sharding and pipeline use them from here)
    JobError,
    _catch_up_fourway,
    _fourway_for_image,
    _pair_arrays,
    _pair_plans,
    _pairs,
    _partner_prediction,
)
from gald_viz.mechanisms.job import predict_with_mechanisms
from gald_viz.mechanisms.plan import MechanismPlan
from gald_viz.metrics import reduce
from gald_viz.metrics import runs as run_tables
from gald_viz.metrics.boundary import check_thresholds, radii_px
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, IOU_CONVENTION, TOLERANCE_RADII, convention_text
from gald_viz.metrics.scoring import score_image
from gald_viz.store import DEFAULT_DB, ImageResult, ResultsStore, RunSpec, Shard, StoreError
from gald_viz.tables import table_v_text

if TYPE_CHECKING:
    from gald_viz.pipeline import PipelineOptions

__all__ = [
    "DEFAULT_DB",
    "DEFAULT_THRESHOLDS",
    "TOLERANCE_RADII",
    "JobError",
    "run_job",
    "summary_text",
]

Progress = Callable[[int, int, str | None], None]


def _checkpoint_identity(model: nn.Module) -> tuple[str, str | None, str]:
    """(name, path, sha256) of a loaded model; an in-memory model is identified by its weights' hash."""
    info = model.checkpoint_info
    if info.get("sha256"):
        return str(info.get("name") or model.arch), info.get("path") and str(info["path"]), info["sha256"]
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return f"{model.arch} (in memory)", None, digest.hexdigest()


def run_job(
    model: str | os.PathLike | nn.Module,
    data: str | DataSpec,
    limit: int | None = None,
    device: str = "auto",
    db: str | os.PathLike | ResultsStore = DEFAULT_DB,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    progress: bool | Progress = True,
    pair_with: str | None = None,
    mechanisms: MechanismPlan | None = None,
    label_set: LabelSet = CITYSCAPES,
    shard: Shard | None = None,
    options: PipelineOptions | None = None,
) -> str:
    """Evaluate a model on a data source, resuming a previous run of the same command.

    Args:
        model: a bundled name, a checkpoint path (see ``checkpoints.load_model``), or a loaded model.
        data: a :data:`~gald_viz.data.spec.DataSpec` or its text (``synthcity:val``,
            ``cityscapes:val[:ROOT]``, ``folders:IMAGES,LABELS``); the run records its canonical text with
            resolved absolute paths and a fingerprint of the files (names, sizes, mtimes), so two
            spellings of the same data are one run, and the same text over other or edited files is not.
        limit: evaluate only the first ``limit`` images.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        db: the results database file (predictions go to ``predictions/`` beside it), or an open store.
        thresholds: boundary tolerances, diagonal fractions (< 1) or whole pixels (>= 1).
        progress: ``True`` for a tqdm bar on stderr, ``False`` for none, or a callable
            ``progress(done, total, image_name)``, called once at the start (name ``None``) and after
            each stored image.
        pair_with: the id of a run to store four-way counts against; by default every GA-only run on the
            same data pairs with every GALD run.
        mechanisms: also store the mechanism statistics, Boundary IoU, band accuracy and knock-outs of
            :mod:`gald_viz.mechanisms.plan` (part of the run identity; None: a plain evaluation).
        label_set: the classes of the data and the model (:mod:`gald_viz.data.label_set`; default
            Cityscapes): how label files are decoded, the run's class names, and what the model must
            predict (another number of classes or other recorded class names are refused). A set other
            than Cityscapes is part of the run identity.
        shard: evaluate only this shard's images (positions K, K + N, …) into ``db``, which is then the
            shard's own store (:meth:`~gald_viz.store.Shard.path` of the main store); the run id is the
            whole run's, and :mod:`gald_viz.sharding` merges the N shards into the main store.
        options: the pipelined loop's workers, batch and AMP (:mod:`gald_viz.pipeline`; default: min(2,
            cores) workers, batch 1, float32); ``workers=0`` or a ``mechanisms`` plan runs the sequential
            loop.

    Returns:
        The run id (stable for the same checkpoint, data, limit, thresholds and image size).

    Raises:
        JobError: no images, an image without ground truth, or an unknown ``pair_with``.
        CheckpointError: the model does not fit ``label_set`` (count or class names).
        StoreError: the results database cannot be used, or another process runs the same job.
    """
    from gald_viz.pipeline import PipelineOptions, RunJob, evaluate_pipelined

    options = options or PipelineOptions()
    with _opened(db) as store:
        dev = resolve_device(device)
        options.check_device(dev)
        if isinstance(model, nn.Module):
            check_labels(model, label_set, f"model {getattr(model, 'arch', type(model).__name__)!r}")
            net = model
        else:
            net = load_model(model, device=str(dev), label_set=label_set)
        ths = check_thresholds(thresholds)
        data = resolved(data)
        source = open_source(data, limit=limit, label_set=label_set)
        if len(source) == 0:
            raise JobError(f"data {str(data)!r}: the source holds no images")
        first = source[0]
        if mechanisms is not None:
            mechanisms.check_model(net)
        spec = _run_spec(net, data, limit, source, first.image.shape[:2], ths, mechanisms, label_set)
        spec = dataclasses.replace(spec, precision=options.precision())
        positions = range(len(source)) if shard is None else shard.positions(len(source))
        names = [source.names[i] for i in positions] if shard is not None else ()
        with store.run_lock(spec.run_id, shard, names):
            store.start_run(spec, device=str(dev))
            if shard is not None:
                store.record_shard(spec.run_id, shard, pair_with)
            try:
                pairs = _pairs(store, spec.run_id, pair_with)
                done = store.done_images(spec.run_id)
                plans = _pair_plans(store, pairs, mechanisms)
                desc = spec.run_id + (f" shard {shard}" if shard is not None else "")
                if mechanisms is None and options.workers > 0:
                    job = RunJob(spec.run_id, net, done, pairs, plans, progress, desc)
                    evaluate_pipelined(store, [job], source, first, positions, ths, dev, options)
                else:
                    _evaluate(
                        store, spec.run_id, net, source, first, done, pairs, ths, dev, progress, mechanisms,
                        plans, positions=positions, desc=desc,
                    )  # fmt: skip
                _catch_up_fourway(store, spec.run_id, pairs, source, net.num_classes, plans)
            except BaseException as exc:
                with contextlib.suppress(StoreError):
                    store.finish_run(spec.run_id, error=f"{type(exc).__name__}: {exc}")
                raise
            store.finish_run(spec.run_id)
    return spec.run_id


def _opened(db: str | os.PathLike | ResultsStore, read_only: bool = False):
    """The caller's open store (left open), or a store opened on a path and closed after use."""
    return (
        contextlib.nullcontext(db) if isinstance(db, ResultsStore) else ResultsStore(db, read_only=read_only)
    )


def _run_spec(
    net: nn.Module,
    data: DataSpec,
    limit: int | None,
    source,
    size: tuple[int, int],
    thresholds,
    mechanisms: MechanismPlan | None = None,
    label_set: LabelSet = CITYSCAPES,
) -> RunSpec:
    name, path, sha256 = _checkpoint_identity(net)
    height, width = size
    files = fingerprint(source)
    return RunSpec(
        model_name=name,
        checkpoint_path=path,
        checkpoint_sha256=sha256,
        arch=str(net.arch),
        ld_kind=str(net.ld_kind),
        model_options=dict(net.options),
        data_spec=str(data),
        data_description=source.describe() + (f" files={files[:12]}" if files else ""),
        data_limit=limit,
        image_height=height,
        image_width=width,
        class_names=label_set.class_names,
        ignore_index=IGNORE_INDEX,
        thresholds=thresholds,
        radii_px=radii_px(thresholds, height, width),
        convention=convention_text(
            thresholds,
            radii_px(thresholds, height, width),
            [(height, width)],
            num_classes=label_set.num_classes,
            iou=True,
        ),
        n_planned=len(source),
        data_fingerprint=files,
        mechanisms=None if mechanisms is None else mechanisms.identity(),
        label_set=None if label_set.is_cityscapes else label_set.identity(),
    )


def _evaluate(
    store, run_id, net, source, first, done, pairs, thresholds, device, progress, plan=None, plans=None,
    *, positions: Sequence[int], desc: str,
) -> None:  # fmt: skip
    """Predict, score and store every image at ``positions`` not yet done, each in its own transaction."""
    num_classes = int(net.num_classes)
    total = len(positions)
    todo = [i for i in positions if source.names[i] not in done]
    report, bar = _progress_reporter(progress, total, total - len(todo), desc=desc)
    try:
        report(None)
        for i in todo:
            start = time.perf_counter()
            sample = first if i == 0 else source[i]
            if sample.label is None:
                raise JobError(
                    f"data: image {sample.name!r} has no ground-truth label map to evaluate against"
                )
            extra = {}
            if plan is None:
                pred = predict(net, sample.image, device=device)
            else:
                pred, extra = predict_with_mechanisms(
                    net,
                    sample.image,
                    sample.label,
                    plan,
                    device=device,
                    thresholds=thresholds,
                    num_classes=num_classes,
                    name=f"data: image {sample.name!r}",
                )
            stats = score_image(pred, sample.label, thresholds, num_classes=num_classes)
            h, w = stats.image_size
            result = ImageResult(sample.name, i, h, w, time.perf_counter() - start, {**stats.arrays, **extra})
            paired = _fourway_for_image(
                store, run_id, pairs, sample.name, pred, sample.label, num_classes, plans
            )
            png = store.save_prediction(run_id, sample.name, pred)
            store.add_image(run_id, result, prediction_png=png, pairs=paired)
            report(sample.name)
    finally:
        if bar is not None:
            bar.close()


def _progress_reporter(progress: bool | Progress, total: int, done: int, desc: str):
    """A ``report(name)`` function counting stored images, and the tqdm bar to close (or None)."""
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=done, desc=desc, unit="img")
        return (lambda name: bar.update(0 if name is None else 1)), bar
    count = [done]

    def report(name: str | None) -> None:
        if callable(progress):
            count[0] += name is not None
            progress(count[0], total, name)

    return report, None


def summary_text(run_id: str, db: str | os.PathLike | ResultsStore = DEFAULT_DB) -> str:
    """A run's provenance, its boundary F in Table V layout and its mIoU, as text for the terminal."""
    with _opened(db, read_only=True) as store:
        table = run_tables.table_v(store, run_id)
        path = store.path
        images, counts = store.arrays(run_id, ("tp", "fn"))
    run = table.attrs["run"]
    boundary = table[table["metric"] == "boundary_f"]
    names = list(run["class_names"])
    limit = f" limit {run['data_limit']}" if run["data_limit"] is not None else ""
    checkpoint = f" ({run['checkpoint_path']})" if run["checkpoint_path"] else ""
    lines = [
        f"run {run_id}: {run['status']}, {run['n_done']}/{run['n_planned']} images"
        + (f"; error: {run['error']}" if run["error"] else ""),
        f"model: {run['model_name']}, arch {run['arch']} (LD {run['ld_kind']}),"
        f" checkpoint sha256 {run['checkpoint_sha256'][:16]}{checkpoint}",
        f"data: {run['data_spec']}{limit}: {run['data_description']}",
        f"device: {run['device']}; started {run['created_at']}, finished {run['finished_at'] or '-'}",
        f"results: {path}",
        "",
        table_v_text(
            boundary[names].to_numpy(float),
            boundary["mean"].to_numpy(float),
            run["thresholds"],
            run["radii_px"],
            label=run["model_name"],
            image_sizes=[(run["image_height"], run["image_width"])],
            n_images=int(run["n_done"]),
            class_names=names,
        ),
        f"mIoU {100 * table[table['metric'] == 'iou']['mean'].iloc[0]:.1f} % ({IOU_CONVENTION}).",
    ]
    empty = [n for n, e in zip(images, reduce.gt_all_ignore(counts), strict=True) if e] if images else []
    if empty:
        lines.append(f"warning: {reduce.all_ignore_warning(empty)}.")
    return "\n".join(lines)
