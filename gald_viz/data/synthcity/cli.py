"""``python -m gald_viz.data.synthcity``: write SynthCity scenes in the Cityscapes folder layout."""

import argparse
from pathlib import Path

import numpy as np

from gald_viz.data.images import write_png
from gald_viz.data.labels import colorize, to_label_ids
from gald_viz.data.synthcity.source import SPLIT_CODES, SynthCity
from gald_viz.data.synthcity.stats import class_stats, format_stats


def _written(out: Path, split: str, count: int, seed: int, height: int, width: int):
    """Write each scene in the Cityscapes layout under ``out`` and yield its label."""
    # Check the arguments before any folder is made: a refused command leaves nothing behind.
    source = SynthCity(split, count, seed, height, width)
    img_dir = out / "leftImg8bit" / split / "synthcity"
    gt_dir = out / "gtFine" / split / "synthcity"
    for folder in (img_dir, gt_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"--out {out}: cannot create {folder} ({err.strerror})") from err
    for sample in source:
        stem = sample.name
        for path, array in (
            (img_dir / f"{stem}_leftImg8bit.png", sample.image),
            (gt_dir / f"{stem}_gtFine_labelIds.png", to_label_ids(sample.label)),
            (gt_dir / f"{stem}_gtFine_color.png", colorize(sample.label)),
        ):
            try:
                write_png(path, array)
            except (OSError, ValueError) as err:
                raise ValueError(f"--out {out}: could not write {path} ({err})") from err
        yield sample.label


def write_split(
    out: Path, split: str, count: int, seed: int = 0, height: int = 1024, width: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Write ``count`` scenes in the Cityscapes layout under ``out``.

    Files: ``leftImg8bit/{split}/synthcity/NAME_leftImg8bit.png`` and, in ``gtFine/{split}/synthcity/``,
    ``NAME_gtFine_labelIds.png`` (Cityscapes labelIds via cityscapesScripts' table) and
    ``NAME_gtFine_color.png``.

    Returns:
        ``class_stats`` of the written labels: (pixels per class, images containing each class).
    """
    return class_stats(_written(Path(out), split, count, seed, height, width))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gald_viz.data.synthcity",
        description="Write SynthCity scenes in the Cityscapes folder layout (leftImg8bit/, gtFine/).",
    )
    parser.add_argument("--out", type=Path, required=True, help="output root (like $CITYSCAPES_DATASET)")
    parser.add_argument("--split", choices=sorted(SPLIT_CODES), default="val")
    parser.add_argument("--count", type=int, required=True, help="number of scenes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--stats", action="store_true", help="print class pixel frequency and image counts")
    args = parser.parse_args(argv)
    try:
        pixels, images = write_split(args.out, args.split, args.count, args.seed, args.height, args.width)
    except ValueError as err:
        parser.error(str(err))
    print(
        f"wrote {args.count} {args.split} scenes ({args.height}x{args.width}, seed {args.seed}) to {args.out}"
    )
    if args.stats:
        print(format_stats(pixels, images, args.count))
    return 0
