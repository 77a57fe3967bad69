"""``python -m gald_viz.evaluate mechanisms``: two resumable evaluation jobs with mechanism statistics and
the report of :func:`gald_viz.mechanisms.report.mechanism_report` as JSON.

The GA-only model's job runs first, then the GALD model's job paired with it (the pair gets the
``fourway_band`` counts); both are ordinary :func:`gald_viz.jobs.run_job` runs with a
:class:`~gald_viz.mechanisms.plan.MechanismPlan`, so a killed command resumes where it stopped.
Knock-outs run on the GALD model; prefix one with ``ga:`` to run it on the GA model (``ga:context=off``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from gald_viz.mechanisms.bands import DEFAULT_EDGES
from gald_viz.mechanisms.plan import MechanismPlan
from gald_viz.metrics.boundary_iou import DEFAULT_RATIO
from gald_viz.sharding import Sharding

__all__ = ["check_json_path", "run_mechanisms", "split_interventions"]


def check_json_path(path: str | os.PathLike) -> Path:
    """Refuse an output path that cannot be written as a file, before any work starts."""
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"--json {out}: is a folder; give a file name such as {out / 'mechanisms.json'}")
    parent = out.parent if str(out.parent) else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"--json {out}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK):
        raise ValueError(f"--json {out}: the folder {probe} is not writable")
    return out


def split_interventions(names: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(GA knock-outs, GALD knock-outs): names prefixed ``ga:`` run on the GA model, the others on GALD."""
    ga = tuple(n.removeprefix("ga:") for n in names if n.startswith("ga:"))
    gald = tuple(n.removeprefix("gald:") for n in names if not n.startswith("ga:"))
    return ga, gald


def _has_ga(net) -> bool:
    from gald_viz.models.zoo import ZOO

    return net.arch not in ZOO or ZOO[net.arch]["ga"] != "none"  # the official layout always has GA


def check_pair(ga_net, ga: str, gald_net, gald: str) -> None:
    """The second model must add the mechanism the first lacks: LD to a model without LD (GALD − GA),
    or GA to an FCN (GA − FCN, where "GALD" in the report means the GA model)."""
    if ga_net.ld_kind != "none":
        raise ValueError(
            f"--ga {ga}: the model has local distribution (LD {ga_net.ld_kind}); --ga takes a model without "
            "LD (a GA-only model, or an FCN when --gald is a GA-only model)"
        )
    if gald_net.ld_kind == "none" and (_has_ga(ga_net) or not _has_ga(gald_net)):
        raise ValueError(
            f"--gald {gald}: the model has no local distribution (LD none); --gald takes an LDv1/LDv2 model, "
            "or a GA-only model when --ga is an FCN"
        )


def run_mechanisms(
    ga: str,
    gald: str,
    data: str,
    *,
    json_out: str | os.PathLike,
    limit: int | None = None,
    bands: Sequence[float] = DEFAULT_EDGES,
    ratios: Sequence[float] = (DEFAULT_RATIO,),
    bootstrap: int = 2000,
    seed: int = 0,
    interventions: Sequence[str] = (),
    device: str = "auto",
    db: str | os.PathLike | None = None,
    thresholds: Sequence[float] | None = None,
    progress: bool = True,
    label_set=None,
    sharding: Sharding | None = None,
) -> dict | None:
    """Run (or resume) both jobs, write the report JSON to ``json_out`` and return it.

    ``label_set`` (a :class:`~gald_viz.data.label_set.LabelSet`; None: Cityscapes) is the classes of the
    data and both models. With ``sharding`` (:class:`gald_viz.sharding.Sharding`), this process runs its
    shard of both jobs; the process that merges (torchrun rank 0) writes the report, the others return None.
    """
    from gald_viz import jobs
    from gald_viz.checkpoints import load_model
    from gald_viz.data.label_set import CITYSCAPES
    from gald_viz.inference import resolve_device
    from gald_viz.mechanisms.report import mechanism_report
    from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS
    from gald_viz.store import ResultsStore

    out = check_json_path(json_out)
    if bootstrap < 1:
        raise ValueError(f"--bootstrap {bootstrap}: give at least one resample")
    ko_ga, ko_gald = split_interventions(interventions)
    plan_ga = MechanismPlan(tuple(bands), tuple(ratios), ko_ga)
    plan_gald = MechanismPlan(tuple(bands), tuple(ratios), ko_gald)
    sharding = sharding if sharding is not None else Sharding(device=device)
    dev = str(resolve_device(sharding.device))
    label_set = CITYSCAPES if label_set is None else label_set
    nets = {
        flag: load_model(name, device=dev, label_set=label_set)
        for flag, name in (("--ga", ga), ("--gald", gald))
    }
    check_pair(nets["--ga"], ga, nets["--gald"], gald)
    for flag, plan in (("--ga", plan_ga), ("--gald", plan_gald)):
        try:
            plan.check_model(nets[flag])
        except ValueError as exc:
            raise ValueError(f"--interventions for the {flag} model: {exc}") from exc
    ths = DEFAULT_THRESHOLDS if thresholds is None else tuple(thresholds)
    db = db if db is not None else jobs.DEFAULT_DB
    with ResultsStore(sharding.store_path(db)) as store:
        common = {"data": data, "limit": limit, "device": dev, "db": store, "thresholds": ths}
        common["label_set"] = label_set
        common |= {"progress": progress and sharding.progress, "shard": sharding.shard}
        run_ga = jobs.run_job(nets["--ga"], mechanisms=plan_ga, **common)
        run_gald = jobs.run_job(nets["--gald"], mechanisms=plan_gald, pair_with=run_ga, **common)
    if not sharding.finish(db, [run_ga, run_gald]):
        return None
    with ResultsStore(db) as store:
        report = mechanism_report(store, run_ga, run_gald, bootstrap=bootstrap, seed=seed)
    report["runs"] = {"ga": run_ga, "gald": run_gald}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    return report
