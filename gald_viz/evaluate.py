"""Evaluation from the command line: folders of label maps, or a model over a data source.

``python -m gald_viz.evaluate folders --pred DIR --gt DIR --json OUT`` scores two folders of
single-channel trainId PNGs with matching names (DESIGN.md contract 4): the G-SCNN boundary F of GALD's
Table V (:mod:`gald_viz.metrics.boundary`) and cityscapesScripts' IoU over the summed confusion matrix
(:mod:`gald_viz.metrics.confusion`). It prints the Table V layout and writes::

    {"classes": [19 names], "thresholds": [...], "radius_px": [[r per threshold] per distinct image size],
     "n_images": N, "boundary_f": {"per_class": [[19] per threshold], "mean": [per threshold]},
     "iou": {"per_class": [19], "mean": float}}

with values in [0, 1]. A class without GT and prediction pixels in the whole data set has no IoU
(cityscapesScripts' NaN); JSON has no NaN, so it is written as ``null`` and left out of the mean.

``python -m gald_viz.evaluate model --model NAME_OR_PATH --data SPEC`` runs a resumable evaluation job
(:func:`gald_viz.jobs.run_job`) and prints its summary.
"""

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gald_viz.data.labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES
from gald_viz.metrics.boundary import (
    DEFAULT_THRESHOLDS,
    BoundaryFAccumulator,
    BoundaryFResult,
    BoundaryPRF,
    boundary_prf,
    check_thresholds,
)
from gald_viz.metrics.confusion import check_label_pair, confusion_matrix, iou_per_class, iou_stats, mean_iou
from gald_viz.tables import table_v_text

__all__ = ["FolderError", "FolderEvaluation", "find_pairs", "read_train_ids", "evaluate_folders", "main"]

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
    """Read a single-channel trainId PNG (8- or 16-bit grey, or palette indices).

    Args:
        path: the PNG file.

    Returns:
        H×W integer array of trainIds.

    Raises:
        FolderError: the file cannot be read or has more than one channel.
    """
    try:
        with Image.open(path) as img:
            bands = img.getbands()
            if len(bands) != 1:
                raise FolderError(
                    f"{path}: has {len(bands)} channels ({img.mode}); expected a single-channel trainId PNG"
                )
            return np.array(img)
    except OSError as exc:
        raise FolderError(f"{path}: cannot be read as an image ({exc})") from exc


def _check_gt_train_ids(gt: np.ndarray, path: Path) -> None:
    """Refuse ground truth holding ids that are neither trainIds nor the ignore label.

    Such maps are usually labelId maps given as --gt; scoring them would skip those pixels silently.
    """
    values = np.unique(gt)
    bad = values[(values >= NUM_CLASSES) & (values != IGNORE_INDEX)]
    if bad.size:
        shown = ", ".join(str(int(v)) for v in bad[:8]) + (" …" if bad.size > 8 else "")
        raise FolderError(
            f"{path}: ground truth holds ids {shown}, which are neither trainIds 0..{NUM_CLASSES - 1} "
            f"nor the ignore label {IGNORE_INDEX}; is it a labelId map? Convert it to trainIds first"
        )


def _score_pair(
    job: tuple[str, Path, Path, tuple[float | int, ...]],
) -> tuple[str, BoundaryPRF, np.ndarray]:
    """Boundary P/R/F and the confusion matrix of one image (runs in worker processes)."""
    name, pred_path, gt_path, thresholds = job
    pred_ids, gt_ids = read_train_ids(pred_path), read_train_ids(gt_path)
    _check_gt_train_ids(gt_ids, gt_path)
    pred, gt = check_label_pair(
        pred_ids,
        gt_ids,
        pred_name=f"prediction {pred_path}",
        gt_name=f"ground truth {gt_path}",
    )
    prf = boundary_prf(pred, gt, thresholds, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX)
    return name, prf, confusion_matrix(pred, gt, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX)


@dataclass(frozen=True)
class FolderEvaluation:
    """Data-set metrics of a folder pair.

    Attributes:
        boundary: the boundary F result (G-SCNN reduction).
        confusion: (C, C + 1) confusion matrix summed over all images.
    """

    boundary: BoundaryFResult
    confusion: np.ndarray

    def to_json(self) -> dict:
        """The contract-4 JSON object (NaN IoU as ``None``)."""
        b = self.boundary
        iou = iou_per_class(self.confusion)
        miou = mean_iou(self.confusion)
        return {
            "classes": list(CLASS_NAMES),
            "thresholds": list(b.thresholds),
            "radius_px": [list(r) for r in b.radius_px],
            "n_images": b.n_images,
            "boundary_f": {"per_class": b.per_class.tolist(), "mean": b.mean.tolist()},
            "iou": {
                "per_class": [None if math.isnan(v) else float(v) for v in iou],
                "mean": None if math.isnan(miou) else miou,
            },
        }

    def table_text(self, label: str | None = None) -> str:
        """Table V layout plus the IoU line."""
        b = self.boundary
        table = table_v_text(
            b.per_class,
            b.mean,
            b.thresholds,
            b.radius_px,
            label,
            b.image_sizes,
            b.n_images,
            iou=iou_per_class(self.confusion),
            miou=mean_iou(self.confusion),
        )
        return (
            f"{table}\nIoU (last row): cityscapesScripts' TP / (TP + FP + FN) over the summed confusion "
            "matrix; '-' = class without GT and prediction, left out of the mean."
        )


def _per_image_rows(name: str, prf: BoundaryPRF, cm: np.ndarray) -> Iterator[list]:
    tp, fp, fn = iou_stats(cm)
    for c, cls in enumerate(CLASS_NAMES):
        denom = tp[c] + fp[c] + fn[c]
        iou = f"{tp[c] / denom:.6f}" if denom else ""
        for t, th in enumerate(prf.thresholds):
            yield [
                name,
                cls,
                th,
                prf.radii[t],
                f"{prf.precision[t, c]:.6f}",
                f"{prf.recall[t, c]:.6f}",
                f"{prf.f[t, c]:.6f}",
                prf.n_pred[c],
                prf.n_gt[c],
                tp[c],
                fp[c],
                fn[c],
                iou,
            ]


def evaluate_folders(
    pred_dir: str | Path,
    gt_dir: str | Path,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    per_image_csv: str | Path | None = None,
    workers: int = 1,
    progress: bool = False,
) -> FolderEvaluation:
    """Score a folder of predicted trainId PNGs against a folder of ground-truth trainId PNGs.

    Args:
        pred_dir: predictions, single-channel PNGs of trainIds.
        gt_dir: ground truth with the same relative file names (255 = ignore).
        thresholds: boundary tolerances, diagonal fractions (< 1) or whole pixels (≥ 1).
        per_image_csv: if given, write one row per image, class and threshold (:data:`PER_IMAGE_COLUMNS`).
        workers: processes scoring images in parallel.
        progress: show a tqdm bar on stderr.

    Returns:
        :class:`FolderEvaluation`; IoU comes from the confusion matrix summed over images, boundary F
        from the mean of per-image F (G-SCNN).

    Raises:
        FolderError: missing folders or counterparts, unreadable or multi-channel files, size mismatch.
    """
    from tqdm import tqdm

    ths = check_thresholds(thresholds)
    pairs = find_pairs(pred_dir, gt_dir)
    acc = BoundaryFAccumulator(thresholds=ths, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX)
    cm_sum = np.zeros((NUM_CLASSES, NUM_CLASSES + 1), dtype=np.int64)
    jobs = [(name, p, g, ths) for name, p, g in pairs]
    csv_file = open(per_image_csv, "w", newline="") if per_image_csv is not None else None  # noqa: SIM115
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        writer = csv.writer(csv_file) if csv_file else None
        if writer:
            writer.writerow(PER_IMAGE_COLUMNS)
        results = pool.map(_score_pair, jobs, chunksize=4) if pool else map(_score_pair, jobs)
        for name, prf, cm in tqdm(results, total=len(jobs), disable=not progress, unit="img"):
            acc.add(prf)
            cm_sum += cm
            if writer:
                writer.writerows(_per_image_rows(name, prf, cm))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        if csv_file:
            csv_file.close()
    return FolderEvaluation(boundary=acc.result(), confusion=cm_sum)


def _parse_thresholds(values: Sequence[str]) -> tuple[float | int, ...]:
    try:
        return check_thresholds(float(v) for v in values)
    except ValueError as exc:
        raise FolderError(f"--thresholds {' '.join(values)}: {exc}") from exc


def _folders(args: argparse.Namespace) -> int:
    result = evaluate_folders(
        args.pred,
        args.gt,
        thresholds=_parse_thresholds(args.thresholds),
        per_image_csv=args.per_image,
        workers=args.workers,
        progress=sys.stderr.isatty(),
    )
    print(result.table_text(label=f"{args.pred} vs {args.gt}"))
    if args.json is not None:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result.to_json(), indent=1, allow_nan=False) + "\n")
        print(f"wrote {args.json}")
    if args.per_image is not None:
        print(f"wrote {args.per_image}")
    return 0


def _model(args: argparse.Namespace) -> int:
    # Imported here so `folders` works without torch and the model zoo.
    from gald_viz import jobs

    db = args.db if args.db is not None else jobs.DEFAULT_DB
    run_id = jobs.run_job(
        model=args.model,
        data=args.data,
        limit=args.limit,
        device=args.device,
        db=db,
        thresholds=_parse_thresholds(args.thresholds),
        progress=True,
    )
    print(jobs.summary_text(run_id, db))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gald_viz.evaluate",
        description="Boundary F (G-SCNN, GALD Table V) and IoU (cityscapesScripts) of segmentations.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    thresholds_help = (
        "boundary tolerances: fractions of the image diagonal (< 1) or whole pixels (>= 1); default: the "
        "paper's 0.00088 0.001875 0.00375 0.005 (3/5/9/12 px at 1024x2048)"
    )
    default_ths = [str(t) for t in DEFAULT_THRESHOLDS]

    f = sub.add_parser("folders", help="score two folders of single-channel trainId PNGs with matching names")
    f.add_argument("--pred", required=True, help="folder of predicted trainId PNGs")
    f.add_argument("--gt", required=True, help="folder of ground-truth trainId PNGs (255 = ignore)")
    f.add_argument("--json", help="write the results JSON here")
    f.add_argument("--thresholds", nargs="+", default=default_ths, metavar="TH", help=thresholds_help)
    f.add_argument("--per-image", metavar="CSV", help="write per-image, per-class, per-threshold rows here")
    f.add_argument("--workers", type=int, default=1, help="processes scoring images in parallel (default 1)")
    f.set_defaults(run=_folders)

    m = sub.add_parser("model", help="run (or resume) an evaluation job of a model on a data source")
    m.add_argument("--model", required=True, metavar="NAME_OR_PATH", help="bundled model name or checkpoint")
    m.add_argument(
        "--data",
        required=True,
        metavar="SPEC",
        help="synthcity:val | cityscapes:val[:ROOT] | folders:IMAGES,LABELS",
    )
    m.add_argument("--limit", type=int, help="evaluate only the first N images")
    m.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    m.add_argument("--db", help="results database (default results/gald_viz.sqlite)")
    m.add_argument("--thresholds", nargs="+", default=default_ths, metavar="TH", help=thresholds_help)
    m.set_defaults(run=_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 for a user error)."""
    args = _parser().parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
