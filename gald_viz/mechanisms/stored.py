"""The stored arrays a mechanism report reads: which ones, over which images, and how they are condensed.

:func:`read_arrays` gives the images two runs have in common with their GA, GALD and pair arrays
(:mod:`gald_viz.mechanisms.plan` names them); :func:`select` keeps chosen classes and :func:`condense`
sums away the axes the report only ever sums over, before the bootstrap resamples them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gald_viz.mechanisms.plan import ko_name


class ReportError(ValueError):
    """The runs cannot be reported together (no common images, no mechanism arrays, other bands)."""


def read_arrays(store, ga_run: str, gald_run: str, images: Sequence[str] | None = None):
    """``(common images, GA arrays, GALD arrays, pair arrays)`` of two runs, as the report reads them."""
    return _common(store, ga_run, gald_run, images)


def _read_names(store, run: str) -> list[str]:
    """The stored arrays the report uses: the scoring core's IoU and F, the plan's, its knock-outs'."""
    plan = store.run(run)["identity"].get("mechanisms") or {}
    knockouts = [
        ko_name(n, k) for n in plan.get("interventions", []) for k in ("tp", "fp", "fn", "boundary_f")
    ]
    return [
        *_USED,
        *_MECHANISM_ARRAYS,
        *knockouts,
        *(ko_name(n, "changed") for n in plan.get("interventions", [])),
    ]


_MECHANISM_ARRAYS = (
    "band_edges",
    "biou_intersection",
    "biou_union",
    "ldv1_mask_sum",
    "ldv1_cells",
    "ldv1_mask_p05_p95",
    "ldv2_sums",
    "ldv2_cells",
)


def _common(store, ga_run: str, gald_run: str, images: Sequence[str] | None):
    ga_images, ga = store.arrays(ga_run, _read_names(store, ga_run))
    gald_images, gald = store.arrays(gald_run, _read_names(store, gald_run))
    pair_images, pair = store.pair_arrays(ga_run, gald_run)
    wanted = set(images) if images is not None else None
    both = set(ga_images) & set(pair_images)
    common = [im for im in gald_images if im in both and (wanted is None or im in wanted)]
    if not common:
        raise ReportError(f"runs {ga_run} and {gald_run} have no common image with pair arrays")

    def pick(names, arrays):
        at = [names.index(im) for im in common]
        return {k: v[at] for k, v in arrays.items()}

    ga, gald, pair = pick(ga_images, ga), pick(gald_images, gald), pick(pair_images, pair)
    for role, arrays in (("GA", ga), ("GALD", gald)):
        if "band_correct" not in arrays:
            raise ReportError(f"the {role} run has no mechanism arrays: run it with a MechanismPlan")
    if "fourway_band" not in pair:
        raise ReportError(f"runs {ga_run} and {gald_run} have no fourway_band pair arrays (other bands?)")
    if not np.array_equal(ga["band_edges"][0], gald["band_edges"][0]):
        raise ReportError("the GA and GALD runs use different band edges")
    return common, ga, gald, pair


def bootstrapped(name: str) -> bool:
    """The additive arrays the report resamples."""
    return name in _USED or (
        name.startswith(("ldv1_", "ldv2_", "biou_", "ko:")) and name not in _NOT_ADDITIVE
    )


_USED = ("tp", "fp", "fn", "boundary_f", "band_correct", "band_total")
_NOT_ADDITIVE = ("biou_width_px", "ldv1_mask_p05_p95")


def select(arrays: dict[str, np.ndarray], classes: list[int] | None) -> dict[str, np.ndarray]:
    """Keep the class axis (the last) of the class-indexed arrays to ``classes``."""
    if classes is None:
        return arrays
    per_class = ("tp", "fp", "fn", "boundary_f", "band_correct", "band_total", "fourway_band") + (
        "biou_intersection",
        "biou_union",
        "ldv1_mask_sum",
        "ldv1_cells",
        "ldv2_sums",
        "ldv2_cells",
    )
    out = dict(arrays)
    for k, v in arrays.items():
        if k in per_class or (k.startswith("ko:") and not k.endswith(":changed")):
            out[k] = v[..., classes]
    return out


def condense(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sum away the axes the report only ever sums over, before resampling (fewer columns to resample).

    Band statistics keep a length-1 class axis, class statistics (``…_c``) a length-1 band axis, and a
    knock-out's boundary F its class mean; the formulas that sum over those axes then give the same
    numbers.
    """
    out = dict(arrays)
    for k in ("band_correct", "band_total", "fourway_band"):
        if k in arrays:
            out[k] = arrays[k].sum(-1, keepdims=True)
    for k in ("ldv1_mask_sum", "ldv1_cells", "ldv2_sums", "ldv2_cells"):
        if k in arrays:
            out[k] = arrays[k].sum(-1, keepdims=True)
            out[k + "_c"] = arrays[k].sum(-2, keepdims=True)
    for k in arrays:
        if k.startswith("ko:") and k.endswith(":boundary_f"):
            out[k] = arrays[k].mean(-1, keepdims=True)
    return out
