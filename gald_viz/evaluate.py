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
(:func:`gald_viz.jobs.run_job`) and prints its summary. Under ``torchrun --nproc-per-node N`` (``model``
and ``mechanisms``) the ranks split the images and rank 0 merges; ``--shard K/N`` runs one shard as its
own job and ``python -m gald_viz.evaluate merge --db DB [SHARD ...]`` merges them
(:mod:`gald_viz.sharding`).

``python -m gald_viz.evaluate sweep --models A B … --data SPEC`` evaluates several models over the same
images, each image decoded once (:func:`gald_viz.pipeline.run_sweep`); each model's run is the one
``model`` stores. ``model`` and ``sweep`` take ``--workers N``, ``--batch B`` and ``--amp``
(:mod:`gald_viz.pipeline`).

``--labels FILE`` (every subcommand) gives another label set than Cityscapes' 19 classes: a JSON
or CSV file (``docs/label_sets.md``); the classes, ignore id and id map then come from it.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gald_viz.data.label_files import resolve_labels
from gald_viz.folder_scores import (
    FolderError,
    FolderEvaluation,
    check_output,
    evaluate_folders,
    find_pairs,
    read_train_ids,
)
from gald_viz.metrics.boundary import check_thresholds
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, PAPER_IMAGE_SIZE, PAPER_RADII_PX

__all__ = ["FolderError", "FolderEvaluation", "find_pairs", "read_train_ids", "evaluate_folders", "main"]


def _parse_thresholds(values: Sequence[str]) -> tuple[float | int, ...]:
    try:
        return check_thresholds(float(v) for v in values)
    except ValueError as exc:
        raise FolderError(f"--thresholds {' '.join(values)}: {exc}") from exc


def _folders(args: argparse.Namespace) -> int:
    for flag, path in (("--json", args.json), ("--per-image", args.per_image)):
        if path is not None:
            check_output(path, flag)
    result = evaluate_folders(
        args.pred,
        args.gt,
        thresholds=_parse_thresholds(args.thresholds),
        per_image_csv=args.per_image,
        workers=args.workers,
        progress=sys.stderr.isatty(),
        label_set=resolve_labels(args.labels),
    )
    print(result.table_text(label=f"{args.pred} vs {args.gt}"))
    for warning in result.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    if args.json is not None:
        Path(args.json).write_text(json.dumps(result.to_json(), indent=1, allow_nan=False) + "\n")
        print(f"wrote {args.json}")
    if args.per_image is not None:
        print(f"wrote {args.per_image}")
    return 0


def _model(args: argparse.Namespace) -> int:
    # Imported here so `folders` works without torch and the model zoo.
    from gald_viz import jobs
    from gald_viz.sharding import Sharding

    db = args.db if args.db is not None else jobs.DEFAULT_DB
    thresholds = _parse_thresholds(args.thresholds)
    with Sharding.from_args(args.shard, args.device) as sharding:
        run_id = jobs.run_job(
            model=args.model,
            data=args.data,
            limit=args.limit,
            device=sharding.device,
            db=sharding.store_path(db),
            thresholds=thresholds,
            progress=sharding.progress,
            shard=sharding.shard,
            options=_pipeline_options(args),
            # Only a given set is passed: the default stays run_job's own (Cityscapes).
            **({"label_set": resolve_labels(args.labels)} if args.labels else {}),
        )
        merged = sharding.finish(db, [run_id])
    if merged:
        print(jobs.summary_text(run_id, db))
    elif not sharding.torchrun:
        print(sharding.note(db))
    return 0


def _pipeline_options(args: argparse.Namespace):
    from gald_viz.pipeline import PipelineOptions, default_workers

    workers = default_workers() if args.workers is None else args.workers
    return PipelineOptions(workers=workers, batch=args.batch, amp=args.amp)


def _sweep(args: argparse.Namespace) -> int:
    from gald_viz import jobs
    from gald_viz.pipeline import run_sweep

    db = args.db if args.db is not None else jobs.DEFAULT_DB
    run_ids = run_sweep(
        args.models,
        args.data,
        limit=args.limit,
        device=args.device,
        db=db,
        thresholds=_parse_thresholds(args.thresholds),
        progress=True,
        options=_pipeline_options(args),
        **({"label_set": resolve_labels(args.labels)} if args.labels else {}),
    )
    for run_id in run_ids:
        print(jobs.summary_text(run_id, db))
        print()
    return 0


def _add_pipeline_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        help="threads decoding and threads scoring, each (default min(2, cores); 0: one image after another)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="images of one size per forward (default 1; see gald_viz.pipeline)",
    )
    parser.add_argument(
        "--amp", action="store_true", help="bfloat16 autocast and channels-last (CUDA only; another run)"
    )


def _merge(args: argparse.Namespace) -> int:
    from gald_viz import jobs
    from gald_viz.sharding import merge

    db = args.db if args.db is not None else jobs.DEFAULT_DB
    for run in merge(db, args.shards):
        print(
            f"merged run {run.run_id} from {run.shards} shards into {db}: {run.copied} images copied"
            + (f", {run.kept} already there kept" if run.kept else "")
        )
        print(jobs.summary_text(run.run_id, db))
    return 0


def _mechanisms(args: argparse.Namespace) -> int:
    # Imported here so `folders` works without torch and the model zoo.
    from gald_viz.mechanisms.cli import check_json_path, run_mechanisms
    from gald_viz.sharding import Sharding
    from gald_viz.store import DEFAULT_DB

    check_json_path(args.json)
    with Sharding.from_args(args.shard, args.device) as sharding:
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
            device=sharding.device,
            db=args.db,
            thresholds=_parse_thresholds(args.thresholds),
            progress=True,
            sharding=sharding,
            label_set=resolve_labels(args.labels),
        )
    if report is None:  # a shard that does not merge
        if not sharding.torchrun:
            print(sharding.note(args.db if args.db is not None else DEFAULT_DB))
        return 0
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
    labels_help = "label set file (.json or .csv, docs/label_sets.md); default: the 19 Cityscapes classes"
    shard_help = (
        "evaluate only shard K of N (images K, K+N, ...) into DB.shard-K-of-N.sqlite beside --db; merge the"
        " N shards with the merge command (under torchrun, ranks shard by themselves)"
    )

    f = sub.add_parser("folders", help="score two folders of single-channel trainId PNGs with matching names")
    f.add_argument("--pred", required=True, help="folder of predicted trainId PNGs")
    f.add_argument("--gt", required=True, help="folder of ground-truth trainId PNGs (255 = ignore)")
    f.add_argument("--json", help="write the results JSON here")
    f.add_argument("--thresholds", nargs="+", default=default_ths, metavar="TH", help=thresholds_help)
    f.add_argument("--per-image", metavar="CSV", help="write per-image, per-class, per-threshold rows here")
    f.add_argument("--workers", type=int, default=1, help="processes scoring images in parallel (default 1)")
    f.add_argument("--labels", metavar="FILE", help=labels_help)
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
    m.add_argument("--labels", metavar="FILE", help=labels_help)
    m.add_argument("--shard", metavar="K/N", help=shard_help)
    _add_pipeline_flags(m)
    m.set_defaults(run=_model)

    w = sub.add_parser("sweep", help="evaluate several models over the same images (one decode per image)")
    w.add_argument("--models", required=True, nargs="+", metavar="MODEL", help="bundled names or checkpoints")
    w.add_argument(
        "--data", required=True, metavar="SPEC", help="synthcity:val | cityscapes:val[:ROOT] | ..."
    )
    w.add_argument("--limit", type=int, help="evaluate only the first N images")
    w.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    w.add_argument("--db", help="results database (default results/gald_viz.sqlite)")
    w.add_argument("--thresholds", nargs="+", default=default_ths, metavar="TH", help=thresholds_help)
    w.add_argument("--labels", metavar="FILE", help=labels_help)
    _add_pipeline_flags(w)
    w.set_defaults(run=_sweep)

    g = sub.add_parser("merge", help="merge the shard stores of --shard K/N jobs into the main store")
    g.add_argument("--db", help="the main results database (default results/gald_viz.sqlite)")
    g.add_argument(
        "shards",
        nargs="*",
        metavar="SHARD",
        help="shard stores (default: every DB.shard-K-of-N file beside --db)",
    )
    g.set_defaults(run=_merge)

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
    k.add_argument("--labels", metavar="FILE", help=labels_help)
    k.add_argument("--shard", metavar="K/N", help=shard_help)
    k.set_defaults(run=_mechanisms)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 for a user error)."""
    args = _parser().parse_args(argv)
    if args.command == "folders" and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
