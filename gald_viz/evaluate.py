"""Evaluation from the command line: folders of label maps, or a model over a data source.

``python -m gald_viz.evaluate folders --pred DIR --gt DIR --json OUT`` scores two folders of
single-channel trainId PNGs with matching names (``docs/DESIGN.md`` contract 4): the G-SCNN boundary F
of GALD's Table V and cityscapesScripts' IoU over the summed counts, each image scored by
:func:`gald_viz.metrics.scoring.score_image` and reduced by :mod:`gald_viz.metrics.reduce`. It prints
the Table V layout and writes::

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

from gald_viz.data.images import ImageReadError, read_label_map
from gald_viz.data.labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES
from gald_viz.metrics import reduce
from gald_viz.metrics.boundary import check_thresholds
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, PAPER_IMAGE_SIZE, PAPER_RADII_PX
from gald_viz.metrics.scoring import ImageStats, score_image
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
    """Read a single-channel trainId PNG (8- or 16-bit grey, or palette indices) through data/images.

    Raises:
        FolderError: the file cannot be read or is not a single-channel id map (message names it).
    """
    try:
        return read_label_map(path)
    except ImageReadError as exc:
        raise FolderError(str(exc)) from exc


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


def _score_pair(job: tuple[str, Path, Path, tuple[float | int, ...]]) -> tuple[str, ImageStats]:
    """Every statistic of one image (runs in worker processes)."""
    name, pred_path, gt_path, thresholds = job
    pred_ids, gt_ids = read_train_ids(pred_path), read_train_ids(gt_path)
    _check_gt_train_ids(gt_ids, gt_path)
    stats = score_image(
        pred_ids,
        gt_ids,
        thresholds,
        tolerance_radii=(),
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

    def to_json(self) -> dict:
        """The contract-4 JSON object (NaN IoU as ``None``)."""
        t = self.table
        _, radii = reduce.image_sizes(self.arrays)
        return {
            "classes": list(CLASS_NAMES),
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
            t.per_class_f, t.mean_f, self.thresholds, radii, label, sizes, t.n_images, iou=t.iou, miou=t.miou
        )
        return (
            f"{table}\nIoU (last row): cityscapesScripts' TP / (TP + FP + FN) over the summed confusion "
            "matrix; '-' = class without GT and prediction, left out of the mean."
        )


def _per_image_rows(name: str, stats: ImageStats) -> Iterator[list]:
    tp, fp, fn = stats["tp"], stats["fp"], stats["fn"]
    iou = reduce.iou(tp, fp, fn)
    for c, cls in enumerate(CLASS_NAMES):
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
        :class:`FolderEvaluation`; IoU comes from the counts summed over images, boundary F from the
        mean of per-image F (G-SCNN).

    Raises:
        FolderError: missing folders or counterparts, unreadable or multi-channel files, size mismatch.
    """
    from tqdm import tqdm

    ths = check_thresholds(thresholds)
    pairs = find_pairs(pred_dir, gt_dir)
    jobs = [(name, p, g, ths) for name, p, g in pairs]
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
                writer.writerows(_per_image_rows(name, stats))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        if csv_file:
            csv_file.close()
    arrays = reduce.stack(scored)
    return FolderEvaluation(thresholds=ths, arrays=arrays, table=reduce.table_v(arrays))


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


def _mechanisms(args: argparse.Namespace) -> int:
    # Imported here so `folders` works without torch and the model zoo.
    from gald_viz.mechanisms.cli import check_json_path, run_mechanisms

    check_json_path(args.json)
    report = run_mechanisms(
        args.ga,
        args.gald,
        args.data,
        json_out=args.json,
        limit=args.limit,
        bands=[float(b) for b in args.bands],
        ratios=[float(r) for r in args.boundary_iou],
        bootstrap=args.bootstrap,
        seed=args.seed,
        interventions=args.interventions,
        device=args.device,
        db=args.db,
        thresholds=_parse_thresholds(args.thresholds),
        progress=True,
    )
    miou = report["differences"]["miou"]
    if miou["estimate"] is not None:
        lo, hi = miou["ci95"]
        print(
            f"{report['gald']['name']} - {report['ga']['name']} on {report['n_images']} images: mIoU"
            f" {100 * miou['estimate']:+.2f} pt, 95% interval [{100 * lo:+.2f}, {100 * hi:+.2f}]"
        )
    print(f"wrote {args.json}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gald_viz.evaluate",
        description="Boundary F (G-SCNN, GALD Table V) and IoU (cityscapesScripts) of segmentations.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    paper = f"{'/'.join(map(str, PAPER_RADII_PX))} px at {PAPER_IMAGE_SIZE[0]}x{PAPER_IMAGE_SIZE[1]}"
    thresholds_help = (
        "boundary tolerances: fractions of the image diagonal (< 1) or whole pixels (>= 1); default: the "
        f"paper's {' '.join(f'{t:g}' for t in DEFAULT_THRESHOLDS)} ({paper})"
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

    k = sub.add_parser("mechanisms", help="GA vs GALD mechanism statistics with bootstrap intervals (JSON)")
    k.add_argument(
        "--ga", required=True, metavar="MODEL", help="the GA-only model (bundled name or checkpoint)"
    )
    k.add_argument("--gald", required=True, metavar="MODEL", help="the GALD (LDv1/LDv2) model")
    k.add_argument(
        "--data", required=True, metavar="SPEC", help="synthcity:val | cityscapes:val[:ROOT] | ..."
    )
    k.add_argument("--json", required=True, metavar="OUT", help="write the report JSON here")
    k.add_argument("--limit", type=int, help="evaluate only the first N images")
    k.add_argument(
        "--bands",
        nargs="+",
        default=["0", "8", "16", "32", "64"],
        metavar="PX",
        help="distance band edges in native px (default 0 8 16 32 64)",
    )
    k.add_argument(
        "--boundary-iou",
        nargs="+",
        default=["0.02"],
        metavar="W",
        help="Boundary IoU widths: diagonal fractions (< 1) or whole px (default 0.02)",
    )
    k.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
    k.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    k.add_argument(
        "--interventions",
        nargs="+",
        default=[],
        metavar="NAME",
        help="knock-outs on the GALD model (prefix ga: for the GA model): ldv1.mask=mean"
        " ldv1.mask=1 ldv2.kernel=uniform ldv2.kernel=centre context=off",
    )
    k.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    k.add_argument("--db", help="results database (default results/gald_viz.sqlite)")
    k.add_argument("--thresholds", nargs="+", default=default_ths, metavar="TH", help=thresholds_help)
    k.set_defaults(run=_mechanisms)
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
