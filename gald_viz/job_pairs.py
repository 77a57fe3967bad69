"""Four-way pairing of a job's run with GA-only / GALD runs on the same data (:mod:`gald_viz.jobs`)."""

from __future__ import annotations

import numpy as np

from gald_viz.mechanisms.plan import MechanismPlan
from gald_viz.metrics.scoring import score_pair
from gald_viz.store import ResultsStore, StoreError


class JobError(ValueError):
    """An evaluation job that cannot run as asked (no images, no ground truth, incompatible pair)."""


def _pairs(store: ResultsStore, run_id: str, pair_with: str | None) -> list[tuple[str, str]]:
    """(GA run, GALD run) pairs for this run: ``pair_with``, or every run on the same data of the other kind.

    Runs pair when they share data spec and files (fingerprint), image size, classes, ignore label and
    label set.
    Automatically, a GA-only run (``ld_kind == "none"``) pairs with each LDv1/LDv2 run. With
    ``pair_with``, the run without local distribution is the GA side; when both are of one kind,
    ``pair_with`` is.
    """
    runs = store.runs()
    me = runs[runs["run_id"] == run_id].iloc[0]
    keys = ["data_spec", "image_height", "image_width", "ignore_index"]
    same_data = runs[
        (runs["run_id"] != run_id)
        & np.logical_and.reduce([runs[k] == me[k] for k in keys])
        & runs["class_names"].map(lambda names: names == me["class_names"])
        & runs["identity"].map(lambda i: i.get("data_fingerprint")).eq(me["identity"].get("data_fingerprint"))
        & runs["identity"].map(lambda i: i.get("label_set") == me["identity"].get("label_set"))
    ]
    if pair_with is not None:
        other = same_data[same_data["run_id"] == pair_with]
        if other.empty:
            raise JobError(
                f"pair_with={pair_with!r}: no run with that id on the same data "
                f"({me['data_spec']}, {me['image_height']}x{me['image_width']}) in {store.path}"
            )
        i_am_ga = me["ld_kind"] == "none" and other.iloc[0]["ld_kind"] != "none"
        return [(run_id, pair_with) if i_am_ga else (pair_with, run_id)]
    i_am_ga = me["ld_kind"] == "none"
    others = same_data[(same_data["ld_kind"] == "none") != i_am_ga]["run_id"]
    return [(run_id, other) if i_am_ga else (other, run_id) for other in others]


def _partner_prediction(store: ResultsStore, partner: str, image: str) -> np.ndarray | None:
    try:
        return store.load_prediction(partner, image)
    except StoreError as exc:
        if exc.reason == "missing":
            return None
        raise


def _fourway_for_image(
    store: ResultsStore,
    run_id: str,
    pairs,
    image: str,
    pred: np.ndarray,
    gt: np.ndarray,
    num_classes: int,
    plans: dict | None = None,
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    out = {}
    for run_ga, run_gald in pairs:
        other = _partner_prediction(store, run_gald if run_ga == run_id else run_ga, image)
        if other is not None and other.shape == pred.shape:
            ga, gald = (pred, other) if run_ga == run_id else (other, pred)
            out[(run_ga, run_gald)] = _pair_arrays(
                ga, gald, gt, num_classes, (plans or {}).get((run_ga, run_gald))
            )
    return out


def _pair_arrays(ga, gald, gt, num_classes: int, plan: MechanismPlan | None) -> dict[str, np.ndarray]:
    arrays = score_pair(ga, gald, gt, num_classes=num_classes)
    if plan is not None:
        arrays |= plan.pair_arrays(ga, gald, gt, num_classes=num_classes)
    return arrays


def _pair_plans(store: ResultsStore, pairs, plan: MechanismPlan | None) -> dict:
    """The plan whose pair arrays (``fourway_band``) each pair gets: where both runs have the same bands."""
    if plan is None:
        return {}
    out = {}
    for pair in pairs:
        theirs = [store.run(run)["identity"].get("mechanisms") for run in pair]
        if all(t is not None and [float(e) for e in t["edges"]] == list(plan.edges) for t in theirs):
            out[pair] = plan
    return out


def _catch_up_fourway(
    store: ResultsStore, run_id: str, pairs, source, num_classes: int, plans: dict | None = None
) -> None:
    """Four-way rows for images both runs stored but no transaction paired (the partner came later)."""
    position = {name: i for i, name in enumerate(source.names)}
    for run_ga, run_gald in pairs:
        for image in store.fourway_missing(run_ga, run_gald):
            if image not in position:
                continue
            gt = source[position[image]].label
            ga, gald = (_partner_prediction(store, r, image) for r in (run_ga, run_gald))
            if ga is not None and gald is not None:
                plan = (plans or {}).get((run_ga, run_gald))
                store.add_pair(run_ga, run_gald, image, _pair_arrays(ga, gald, gt, num_classes, plan))
