"""Scoring two folders of trainId label maps (``evaluate folders``, docs/DESIGN.md contract 4).

Pairs predictions and ground truth by file name, reads them through :mod:`gald_viz.data.images`, scores
each pair with :func:`gald_viz.metrics.scoring.score_image` (in worker processes) and reduces them with
:mod:`gald_viz.metrics.reduce`: the G-SCNN boundary F of GALD's Table V and cityscapesScripts' IoU.
"""

import csv
import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gald_viz.data.images import ImageReadError, read_label_map
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.metrics import reduce
from gald_viz.metrics.boundary import check_thresholds
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS
from gald_viz.metrics.scoring import ImageStats, score_image
from gald_viz.tables import table_v_text

__all__ = [
    "FolderError",
    "FolderEvaluation",
    "check_output",
    "evaluate_folders",
    "find_pairs",
    "read_train_ids",
]

PER_IMAGE_COLUMNS = (
    "image",
    "class",
    "threshold",
    "radius_px",
    "precision",
    "recall",
    "f",
    "pred_boundary_px",
    "gt_boundary_px",
    "tp",
    "fp",
    "fn",
    "iou",
)
"""Columns of ``--per-image``: one row per image, class and threshold; IoU statistics of that image."""


class FolderError(ValueError):
    """A folder or label file cannot be evaluated; the message names the file and the problem."""


def find_pairs(pred_dir: str | Path, gt_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """Match the PNG files of two folders by relative path.

    Args:
        pred_dir: folder of predicted trainId PNGs (searched recursively).
        gt_dir: folder of ground-truth trainId PNGs with the same relative names.

    Returns:
        ``(name, pred_path, gt_path)`` sorted by name.

    Raises:
        FolderError: a folder is missing or empty, or a file has no counterpart.
    """
    found = []
    for flag, folder in (("--pred", Path(pred_dir)), ("--gt", Path(gt_dir))):
        if not folder.is_dir():
            raise FolderError(f"{flag} {folder}: no such folder")
        files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*.png") if p.is_file()}
        if not files:
            raise FolderError(f"{flag} {folder}: no .png files in the folder")
        found.append(files)
    preds, gts = found
    for missing, there, here in (
        (sorted(gts.keys() - preds.keys()), "--gt", "--pred"),
        (sorted(preds.keys() - gts.keys()), "--pred", "--gt"),
    ):
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            folder = pred_dir if here == "--pred" else gt_dir
            raise FolderError(
                f"{len(missing)} file(s) of {there} have no counterpart of the same name in "
                f"{here} {folder}: {shown}"
            )
    return [(name, preds[name], gts[name]) for name in sorted(gts)]


def read_train_ids(path: str | Path) -> np.ndarray:
    """Read a single-channel trainId PNG (8- or 16-bit grey, or palette indices) through data/images.

    Raises:
        FolderError: the file cannot be read or is not a single-channel id map (message names it).
    """
    try:
        return read_label_map(path)
    except ImageReadError as exc:
        raise FolderError(str(exc)) from exc


def check_output(path: str | Path, flag: str) -> Path:
    """Check that an output file can be written, before any work: not a folder, its folder creatable.

    Raises:
        FolderError: naming the flag, the path and the problem.
    """
    path = Path(path)
    if path.is_dir():
        raise FolderError(f"{flag} {path}: is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        with open(path, "a"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        raise FolderError(f"{flag} {path}: cannot be written ({exc.strerror or exc})") from exc
    return path


def _check_gt_train_ids(gt: np.ndarray, path: Path, label_set: LabelSet) -> np.ndarray:
    """Refuse ground truth holding ids that are neither trainIds nor the ignore label; the map as
    in-memory train ids (the set's ignore id as 255).

    Such maps are usually labelId maps given as --gt; scoring them would skip those pixels silently.
    """
    values = np.unique(gt)
    k, ignore = label_set.num_classes, label_set.ignore_id
    bad = values[(values >= k) & (values != ignore)]
    if bad.size:
        shown = ", ".join(str(int(v)) for v in bad[:8]) + (" …" if bad.size > 8 else "")
        raise FolderError(
            f"{path}: ground truth holds ids {shown}, which are neither trainIds 0..{k - 1} "
            f"nor the ignore label {ignore}; is it a labelId map? Convert it to trainIds first"
        )
    return gt if ignore == 255 else label_set.decode(gt, "trainId")


def _score_pair(job: tuple[str, Path, Path, tuple[float | int, ...], LabelSet]) -> tuple[str, ImageStats]:
    """Every statistic of one image (runs in worker processes)."""
    name, pred_path, gt_path, thresholds, label_set = job
    pred_ids, gt_ids = read_train_ids(pred_path), read_train_ids(gt_path)
    gt_ids = _check_gt_train_ids(gt_ids, gt_path, label_set)
    stats = score_image(
        pred_ids,
        gt_ids,
        thresholds,
        tolerance_radii=(),
        num_classes=label_set.num_classes,
        pred_name=f"prediction {pred_path}",
        gt_name=f"ground truth {gt_path}",
    )
    return name, stats


@dataclass(frozen=True)
class FolderEvaluation:
    """Data-set metrics of a folder pair.

    Attributes:
        thresholds: the T thresholds.
        arrays: every image's statistics stacked (N, ...), in name order.
        table: their reduction (Table V boundary F, IoU of the summed counts).
    """

    thresholds: tuple[float | int, ...]
    arrays: dict[str, np.ndarray]
    table: reduce.TableV
    names: tuple[str, ...] = ()
    label_set: LabelSet = CITYSCAPES

    def warnings(self) -> list[str]:
        """What the numbers do not show: images whose ground truth is all ignore (F = 1 by convention)."""
        empty = [n for n, e in zip(self.names, reduce.gt_all_ignore(self.arrays), strict=True) if e]
        return [reduce.all_ignore_warning(empty)] if empty else []

    def to_json(self) -> dict:
        """The contract-4 JSON object (NaN IoU as ``None``)."""
        t = self.table
        _, radii = reduce.image_sizes(self.arrays)
        return {
            "classes": list(self.label_set.class_names),
            "thresholds": list(self.thresholds),
            "radius_px": [list(r) for r in radii],
            "n_images": t.n_images,
            "boundary_f": {"per_class": t.per_class_f.tolist(), "mean": t.mean_f.tolist()},
            "iou": {
                "per_class": [None if math.isnan(v) else float(v) for v in t.iou],
                "mean": None if math.isnan(t.miou) else t.miou,
            },
        }

    def table_text(self, label: str | None = None) -> str:
        """Table V layout plus the IoU line."""
        t = self.table
        sizes, radii = reduce.image_sizes(self.arrays)
        table = table_v_text(
            t.per_class_f,
            t.mean_f,
            self.thresholds,
            radii,
            label,
            sizes,
            t.n_images,
            iou=t.iou,
            miou=t.miou,
            class_names=self.label_set.class_names,
        )
        return (
            f"{table}\nIoU (last row): cityscapesScripts' TP / (TP + FP + FN) over the summed confusion "
            "matrix; '-' = class without GT and prediction, left out of the mean."
        )


def _per_image_rows(name: str, stats: ImageStats, class_names: Sequence[str]) -> Iterator[list]:
    tp, fp, fn = stats["tp"], stats["fp"], stats["fn"]
    iou = reduce.iou(tp, fp, fn)
    for c, cls in enumerate(class_names):
        shown_iou = "" if math.isnan(iou[c]) else f"{iou[c]:.6f}"
        for t, th in enumerate(stats.thresholds):
            yield [
                name,
                cls,
                th,
                stats.radii[t],
                f"{stats['boundary_precision'][t, c]:.6f}",
                f"{stats['boundary_recall'][t, c]:.6f}",
                f"{stats['boundary_f'][t, c]:.6f}",
                stats["pred_boundary_px"][c],
                stats["gt_boundary_px"][c],
                tp[c],
                fp[c],
                fn[c],
                shown_iou,
            ]


def evaluate_folders(
    pred_dir: str | Path,
    gt_dir: str | Path,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    per_image_csv: str | Path | None = None,
    workers: int = 1,
    progress: bool = False,
    label_set: LabelSet = CITYSCAPES,
) -> FolderEvaluation:
    """Score a folder of predicted trainId PNGs against a folder of ground-truth trainId PNGs.

    Args:
        pred_dir: predictions, single-channel PNGs of trainIds.
        gt_dir: ground truth with the same relative file names (255 = ignore).
        thresholds: boundary tolerances, diagonal fractions (< 1) or whole pixels (≥ 1).
        per_image_csv: if given, write one row per image, class and threshold (:data:`PER_IMAGE_COLUMNS`).
        workers: processes scoring images in parallel.
        progress: show a tqdm bar on stderr.
        label_set: the classes the PNGs hold as train ids, and their ignore id (default Cityscapes).

    Returns:
        :class:`FolderEvaluation`; IoU comes from the counts summed over images, boundary F from the
        mean of per-image F (G-SCNN).

    Raises:
        FolderError: missing folders or counterparts, unreadable or multi-channel files, size mismatch,
            or a ``per_image_csv`` that cannot be written (checked before any image is scored).
    """
    from tqdm import tqdm

    ths = check_thresholds(thresholds)
    if per_image_csv is not None:
        check_output(per_image_csv, "--per-image")
    pairs = find_pairs(pred_dir, gt_dir)
    jobs = [(name, p, g, ths, label_set) for name, p, g in pairs]
    scored = []
    csv_file = open(per_image_csv, "w", newline="") if per_image_csv is not None else None  # noqa: SIM115
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        writer = csv.writer(csv_file) if csv_file else None
        if writer:
            writer.writerow(PER_IMAGE_COLUMNS)
        results = pool.map(_score_pair, jobs, chunksize=4) if pool else map(_score_pair, jobs)
        for name, stats in tqdm(results, total=len(jobs), disable=not progress, unit="img"):
            scored.append(stats)
            if writer:
                writer.writerows(_per_image_rows(name, stats, label_set.class_names))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        if csv_file:
            csv_file.close()
    arrays = reduce.stack(scored)
    names = tuple(name for name, _, _ in pairs)
    table = reduce.table_v(arrays)
    return FolderEvaluation(thresholds=ths, arrays=arrays, table=table, names=names, label_set=label_set)
