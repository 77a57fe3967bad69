"""Cost of the issue-#12 mechanism statistics: their share of an evaluation job, and the bootstrap report.

1. An evaluation job of a bundled GALD model over SynthCity val (1024×2048), run twice in one process on
   the same images: plain, and with a :class:`~gald_viz.mechanisms.plan.MechanismPlan` (taps recorded in
   the job's forward, LDv2 statistics, band accuracy, Boundary IoU; no knock-outs, which are extra
   forwards by design). Seconds per image are the gaps between the job's progress calls (inference,
   scoring, PNG and database row), the first image left out (warm-up). Goal: ≤ 25% added.
2. :func:`gald_viz.mechanisms.report.mechanism_report` with 2000 resamples over 500 stored images × 19
   classes of synthetic arrays (a GA run and an LDv2 run with three knock-outs), read from SQLite.
   Goal: ≤ 2 s.

    python benchmarks/mechanisms.py            # 4 + 1 images
    python benchmarks/mechanisms.py --quick    # 2 + 1 images
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

from gald_viz.checkpoints import load_model  # noqa: E402
from gald_viz.jobs import run_job  # noqa: E402
from gald_viz.mechanisms.plan import MechanismPlan  # noqa: E402
from gald_viz.mechanisms.report import (  # noqa: E402
    mechanism_report,
    read_arrays,
    report_from_arrays,
)
from gald_viz.store import ImageResult, ResultsStore, RunSpec  # noqa: E402

MODEL = "synthcity/aspp_ldv2"


def _job_seconds(net, images: int, db: Path, plan: MechanismPlan | None) -> float:
    stamps: list[float] = []
    run_job(
        net,
        "synthcity:val",
        limit=images,
        device="cpu",
        db=db,
        progress=lambda done, total, name: stamps.append(time.perf_counter()),
        mechanisms=plan,
    )
    gaps = np.diff(stamps)[1:]  # stamps: start, then one per image; the first image warms up
    return float(np.mean(gaps))


def job_overhead(images: int) -> tuple[float, float]:
    """Seconds per image of the plain job and of the job with mechanism statistics."""
    net = load_model(MODEL)
    with tempfile.TemporaryDirectory(prefix="bench_mech_") as tmp:
        plain = _job_seconds(net, images + 1, Path(tmp) / "plain.sqlite", None)
        mech = _job_seconds(net, images + 1, Path(tmp) / "mech.sqlite", MechanismPlan())
    return plain, mech


def _spec(name: str, ld_kind: str, n: int, mechanisms: dict) -> RunSpec:
    return RunSpec(
        model_name=name,
        checkpoint_path=None,
        checkpoint_sha256=name * 8,
        arch="aspp",
        ld_kind=ld_kind,
        model_options={},
        data_spec="synthcity:val",
        data_description="synthetic arrays",
        data_limit=n,
        image_height=1024,
        image_width=2048,
        class_names=[f"class {c}" for c in range(19)],
        ignore_index=255,
        thresholds=(0.00088, 0.001875, 0.00375, 0.005),
        radii_px=(3, 5, 9, 12),
        convention="",
        n_planned=n,
        mechanisms=mechanisms,
    )


def synthetic_store(path: Path, n: int = 500, seed: int = 0) -> tuple[ResultsStore, str, str]:
    """A store holding a GA run and an LDv2 run (three knock-outs) of ``n`` images of random arrays."""
    rng = np.random.default_rng(seed)
    store = ResultsStore(path)
    kos = ("ldv2.kernel=uniform", "ldv2.kernel=centre", "context=off")
    plan = MechanismPlan()

    def model_arrays(ld: bool, with_ko: bool) -> dict:
        c = 19
        out = {
            "tp": rng.integers(0, 5000, c),
            "fp": rng.integers(0, 500, c),
            "fn": rng.integers(0, 500, c),
            "boundary_f": rng.random((4, c)),
            "band_edges": np.array(plan.edges),
            "band_total": (t := rng.integers(1, 4000, (5, c))),
            "band_correct": rng.integers(0, 1, (5, c)) + t // 2,
            "biou_width_px": np.array([46]),
            "biou_intersection": rng.integers(0, 100, (1, c)),
            "biou_union": rng.integers(100, 200, (1, c)),
        }
        if ld:
            out["ldv2_cells"] = (cells := rng.integers(1, 50, (5, c)))
            out["ldv2_sums"] = rng.random((6, 5, c)) * cells
        for name in kos if with_ko else ():
            out |= {f"ko:{name}:{k}": out[k] for k in ("tp", "fp", "fn", "boundary_f")}
            out[f"ko:{name}:changed"] = np.array([100, 2048 * 1024])
        return out

    ga = store.start_run(_spec("ga", "none", n, plan.identity()), device="cpu")
    gald_plan = MechanismPlan(interventions=kos)
    gald = store.start_run(_spec("gald", "ldv2", n, gald_plan.identity()), device="cpu")
    for i in range(n):
        name = f"img{i:04d}"
        for run, ld in ((ga, False), (gald, True)):
            result = ImageResult(name, i, 1024, 2048, 0.0, model_arrays(ld, ld))
            pairs = {(ga, gald): {"fourway_band": rng.integers(0, 1000, (4, 5, 19))}} if ld else None
            store.add_image(run, result, prediction_png=f"{name}.png", pairs=pairs)
    return store, ga, gald


def report_seconds(resamples: int = 2000, n: int = 500) -> tuple[float, float]:
    """(bootstrap and reductions from arrays in memory, the whole report with the SQLite reads)."""
    with tempfile.TemporaryDirectory(prefix="bench_mech_") as tmp:
        store, ga, gald = synthetic_store(Path(tmp) / "s.sqlite", n)
        start = time.perf_counter()
        mechanism_report(store, ga, gald, bootstrap=resamples)
        total = time.perf_counter() - start
        common, a, b, pair = read_arrays(store, ga, gald)
        runs = store.run(ga), store.run(gald)
        start = time.perf_counter()
        report_from_arrays(*runs, common, a, b, pair, bootstrap=resamples)
        boot = time.perf_counter() - start
        store.close()
    return boot, total


def run(quick: bool = False) -> list[dict]:
    """Rows for ``python -m benchmarks``."""
    images = 2 if quick else 4
    plain, mech = job_overhead(images)
    added = (mech - plain) / plain
    boot, total = report_seconds()
    return [
        {
            "name": f"job s/image, plain ({MODEL}, {images} images)",
            "value": plain,
            "unit": "s",
            "goal": "",
            "met": None,
        },
        {
            "name": "job s/image, with mechanism statistics",
            "value": mech,
            "unit": "s",
            "goal": "",
            "met": None,
        },
        {
            "name": "mechanism statistics' added share",
            "value": 100 * added,
            "unit": "%",
            "goal": "<= 25%",
            "met": added <= 0.25,
        },
        {
            "name": "report, 2000 resamples x 500 images x 19 classes",
            "value": boot,
            "unit": "s",
            "goal": "<= 2 s",
            "met": boot <= 2,
        },
        {"name": "the same with the SQLite reads", "value": total, "unit": "s", "goal": "", "met": None},
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 + 1 images instead of 4 + 1")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    width = max(len(r["name"]) for r in rows)
    print(f"{'measure'.ljust(width)}  measured  goal  met")
    for r in rows:
        met = "-" if r["met"] is None else ("yes" if r["met"] else "NO")
        print(f"{r['name'].ljust(width)}  {r['value']:.3g} {r['unit']}  {r['goal'] or '-'}  {met}")


if __name__ == "__main__":
    main()
