"""Seconds to merge 8 shard stores of a 500-image run into the main store (goal: at most 10 s).

The shard stores are written through the real store API (``start_run``, ``record_shard``,
``save_prediction``, ``add_image``), as 8 torchrun ranks would write them: per image the arrays of
:func:`gald_viz.metrics.scoring.score_image` (their names, shapes and dtypes taken from scoring one
small image; values random) plus those of a mechanisms job (band and LDv2 sums, two knock-outs), and a
1024×2048 predicted label map PNG. No network, no model. Two merges are timed with
:func:`gald_viz.sharding.merge`, the code behind the ``merge`` command and torchrun's rank 0:

- shards beside the main store (torchrun on one machine, or a shared folder): rows only;
- shards in another folder (separate jobs on other nodes' disks): rows, and every PNG copied.

    python benchmarks/merge.py                  # 500 images, 8 shards
    python benchmarks/merge.py --images 100 --shards 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gald_viz.data.labels import CLASS_NAMES  # noqa: E402
from gald_viz.mechanisms.plan import knockout_arrays  # noqa: E402
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS  # noqa: E402
from gald_viz.metrics.scoring import score_image  # noqa: E402
from gald_viz.sharding import merge  # noqa: E402
from gald_viz.store import ImageResult, ResultsStore, RunSpec, Shard  # noqa: E402

GOAL_S = 10.0
SIZE = (1024, 2048)
BANDS = 5


def _templates() -> dict[str, np.ndarray]:
    """One image's stored arrays: the scoring core's on a small random pair, plus mechanism arrays."""
    rng = np.random.default_rng(0)
    gt = rng.integers(0, len(CLASS_NAMES), (32, 64), dtype=np.uint8)
    pred = rng.integers(0, len(CLASS_NAMES), (32, 64), dtype=np.uint8)
    arrays = dict(score_image(pred, gt, DEFAULT_THRESHOLDS, num_classes=len(CLASS_NAMES)).arrays)
    for name in ("context=off", "ldv2.kernel=uniform"):
        arrays |= knockout_arrays(name, pred, pred, arrays)
    per_band = np.zeros((BANDS, len(CLASS_NAMES)), np.int64)
    arrays |= {"band_edges": np.zeros(BANDS), "band_correct": per_band, "band_total": per_band}
    arrays |= {"ldv2_sums": np.zeros((6, BANDS, len(CLASS_NAMES))), "ldv2_cells": per_band}
    return arrays


def _random_like(template: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        name: (rng.random(a.shape) if a.dtype.kind == "f" else rng.integers(0, 10**6, a.shape)).astype(
            a.dtype
        )
        for name, a in template.items()
    }


def _prediction(i: int) -> np.ndarray:
    """A 1024×2048 label map with segmentation-like regions (a PNG of realistic size)."""
    rng = np.random.default_rng(i)
    cells = rng.integers(0, len(CLASS_NAMES), (16, 32), dtype=np.uint8)
    pred = np.kron(cells, np.ones((SIZE[0] // 16, SIZE[1] // 32), np.uint8))
    noise = rng.random(SIZE) < 0.002
    pred[noise] = rng.integers(0, len(CLASS_NAMES), int(noise.sum()), dtype=np.uint8)
    return pred


def build_shards(main: Path, images: int, shards: int) -> tuple[list[Path], int]:
    """The shard stores of one run beside ``main``; returns their paths and the bytes of array data."""
    spec = RunSpec(
        model_name="benchmark", checkpoint_path=None, checkpoint_sha256="ab" * 32, arch="aspp_ldv2",
        ld_kind="ldv2", model_options={}, data_spec="synthcity:val", data_description="benchmark",
        data_limit=images, image_height=SIZE[0], image_width=SIZE[1], class_names=CLASS_NAMES,
        ignore_index=255, thresholds=DEFAULT_THRESHOLDS, radii_px=(2, 5, 9, 12), convention="benchmark",
        n_planned=images,
    )  # fmt: skip
    template, rng, nbytes = _templates(), np.random.default_rng(1), 0
    paths = []
    for k in range(shards):
        shard = Shard(k, shards)
        with ResultsStore(shard.path(main)) as store:
            run_id = store.start_run(spec, device=f"cuda:{k}")
            store.record_shard(run_id, shard, None)
            for i in shard.positions(images):
                name = f"synthcity_000000_{i:06d}"
                arrays = _random_like(template, rng)
                nbytes += sum(a.nbytes for a in arrays.values())
                png = store.save_prediction(run_id, name, _prediction(i))
                store.add_image(run_id, ImageResult(name, i, *SIZE, 1.0, arrays), prediction_png=png)
            store.finish_run(run_id)
        paths.append(shard.path(main))
    return paths, nbytes


def measure(images: int = 500, shards: int = 8) -> list[dict]:
    """Build the shards once, then time both merges; rows ``{case, seconds, ...}``."""
    out = []
    with tempfile.TemporaryDirectory(prefix="bench_merge_") as tmp:
        here = Path(tmp) / "results" / "r.sqlite"
        start = time.perf_counter()
        paths, nbytes = build_shards(here, images, shards)
        built = time.perf_counter() - start
        png_bytes = sum(p.stat().st_size for p in (here.parent / "predictions").rglob("*.png"))
        for case, main in (("shards beside the main store", here), ("shards elsewhere: PNGs copied", None)):
            main = main or Path(tmp) / "other" / "r.sqlite"
            start = time.perf_counter()
            (run,) = merge(main, paths)
            seconds = time.perf_counter() - start
            assert run.copied == images
            out.append(
                {"case": case, "seconds": seconds, "images": images, "shards": shards, "built": built,
                 "array_mb": nbytes / 1e6, "png_mb": png_bytes / 1e6}
            )  # fmt: skip
    return out


def run(quick: bool = False) -> list[dict]:
    """Rows for ``python -m benchmarks``."""
    images = 100 if quick else 500
    return [
        {
            "name": f"merge of 8 shard stores, {images} images, {row['case']}",
            "value": row["seconds"],
            "unit": "s",
            "goal": f"<= {GOAL_S:g}" if images == 500 else "",
            "met": row["seconds"] <= GOAL_S if images == 500 else None,
        }
        for row in measure(images, 8)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args(argv)
    rows = measure(args.images, args.shards)
    first = rows[0]
    print(
        f"merge: {first['images']} images in {first['shards']} shard stores"
        f" ({first['array_mb']:.1f} MB of arrays, {first['png_mb']:.1f} MB of PNGs;"
        f" built in {first['built']:.1f} s)"
    )
    goal = f"<= {GOAL_S:g}"
    print(f"{'case':<34} {'seconds':>8} {'goal':>8} {'met':>5}")
    for row in rows:
        met = str(row["seconds"] <= GOAL_S)
        print(f"{row['case']:<34} {row['seconds']:>8.2f} {goal:>8} {met:>5}")


if __name__ == "__main__":
    main()
