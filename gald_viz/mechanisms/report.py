"""The mechanism report of a GA-only run and a GALD run: every issue-#12 number with a 95% interval.

Signatures (what the Mechanisms page and ``python -m gald_viz.evaluate mechanisms`` call)::

    mechanism_report(store, ga_run, gald_run, *, bootstrap=2000, seed=0, classes=None, images=None) -> dict
    ranked_images(store, ga_run, gald_run, *, band=None, class_id=None) -> list[tuple[str, float]]

Both read the arrays the jobs stored (:mod:`gald_viz.mechanisms.plan`) over the images both runs hold
(``images`` restricts them further; ``classes`` is a list of class ids that filters every per-class list
and every band sum). No network runs.

The dict has the keys of issue #12 item 6: ``ga``, ``gald`` ({name, sha256}), ``data``, ``n_images``,
``bands_px``, ``classes``, ``ldv1`` (null without LDv1: ``mask_mean_by_band``, ``mask_mean_by_class``),
``ldv2`` (null without LDv2: ``same_class_share_by_band``, ``uniform_share_by_band``,
``entropy_by_band``, ``centre_weight_by_band``, ``same_class_share_by_class``,
``uniform_share_by_class``), ``scores`` (``ga``, ``gald``: each model's ``miou`` and ``boundary_f``
per threshold), ``fourway`` (``fixes_by_band``, ``breaks_by_band``, ``pixels_by_band``: fixes and
breaks as a share of the band's evaluated pixels, pixels as the band's share of all evaluated pixels),
``accuracy_by_band`` (``ga``, ``gald``), ``boundary_iou`` (``ratio``, ``ga``, ``gald``
each ``{"per_class": [...], "mean": x}``, the first width), ``differences`` (``miou`` and ``boundary_f``
per threshold, ``{"estimate", "ci95", "contains_zero"}``) and ``interventions`` (name →
``{"model", "delta_miou", "delta_boundary_f"}``). Values are fractions; differences are GALD − GA and
knocked-out − intact; a band or class without data is null.

Extra keys: ``ci95`` mirrors ``ldv1``, ``ldv2``, ``scores``, ``fourway``, ``accuracy_by_band`` and
``boundary_iou`` with the interval ``[lo, hi]`` (or null) of each number (bootstrap of the statistic itself);
``differences`` also holds ``iou_per_class``, ``boundary_f_per_class`` (per threshold),
``boundary_iou`` (mean, per width), ``boundary_iou_per_class``, ``accuracy_by_band`` and, for LDv2,
``same_class_minus_uniform_by_band``; ``ldv1``/``ldv2`` add the other quantities (``p05``/``p95``
means over images, ``outside_by_band``, ``radius_px_by_band``); each intervention adds
``changed_share`` (changed pixels / pixels); ``thresholds``, ``bootstrap`` {resamples, seed},
``image_list_sha256``.

Intervals: a seeded paired bootstrap over images (:func:`gald_viz.stats.bootstrap.resample_draws`,
percentile interval); every statistic is computed from the sums of one resample matrix product, so the
two models of a difference see the same resamples and identical models give exactly [0, 0].
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from gald_viz.mechanisms.ldv2 import QUANTITIES as LDV2_QUANTITIES
from gald_viz.mechanisms.plan import ko_name
from gald_viz.mechanisms.stored import ReportError, bootstrapped, condense, read_arrays, select
from gald_viz.stats.bootstrap import DEFAULT_RESAMPLES, resample_draws

__all__ = ["ReportError", "mechanism_report", "ranked_images", "read_arrays", "report_from_arrays"]

Stat = Callable[[dict[str, np.ndarray]], np.ndarray]
_FIXES, _BREAKS = 1, 2  # fourway_band axis 0: both right, GALD fixes, GALD breaks, both wrong


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the non-NaN entries (NaN if none)."""
    ok = ~np.isnan(values)
    n = ok.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, np.where(ok, values, 0.0).sum(axis=-1) / np.maximum(n, 1), np.nan)


def _miou(s, pre: str = "") -> np.ndarray:
    tp, fp, fn = s[pre + "tp"], s[pre + "fp"], s[pre + "fn"]
    return _nanmean(_ratio(tp, tp + fp + fn))


def _mean_f(s, pre: str = "") -> np.ndarray:
    return (s[pre + "boundary_f"] / s["n"][..., None, None]).mean(axis=-1)


class _Bootstrap:
    """Sums of every resample of the per-image arrays, and statistics evaluated on them."""

    def __init__(self, arrays: dict[str, np.ndarray], resamples: int, seed: int) -> None:
        n = len(next(iter(arrays.values())))
        arrays = {**arrays, "n": np.ones(n)}
        names = list(arrays)
        flat = [np.asarray(arrays[k], dtype=np.float64).reshape(n, -1) for k in names]
        sizes = np.cumsum([0] + [f.shape[1] for f in flat])
        x = np.concatenate(flat, axis=1)
        sums = []
        for draws in resample_draws(n, resamples, seed):
            r = draws.shape[0]
            index = (draws + n * np.arange(r)[:, None]).ravel()
            sums.append(np.bincount(index, minlength=r * n).reshape(r, n).astype(np.float64) @ x)
        boot = np.concatenate(sums)
        full = x.sum(axis=0)

        def unpack(v: np.ndarray) -> dict[str, np.ndarray]:
            lead = v.shape[:-1]
            return {
                k: v[..., sizes[i] : sizes[i + 1]].reshape((*lead, *np.shape(arrays[k])[1:]))
                for i, k in enumerate(names)
            }

        self.full, self.boot = unpack(full), unpack(boot)

    def interval(self, stat: Stat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(estimate, low, high), each of the statistic's shape (NaN where undefined)."""
        est = np.asarray(stat(self.full), dtype=np.float64)
        boot = np.asarray(stat(self.boot), dtype=np.float64).reshape(-1, *est.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN entries: no interval
            low, high = np.nanpercentile(boot, [2.5, 97.5], axis=0)
        undefined = np.isnan(est)
        return est, np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def _num(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _values(est) -> list | float | None:
    est = np.asarray(est)
    return _num(est) if est.ndim == 0 else [_values(v) for v in est]


def _cis(low, high) -> list | None:
    low, high = np.asarray(low), np.asarray(high)
    if low.ndim == 0:
        return None if math.isnan(low) else [float(low), float(high)]
    return [_cis(lo, hi) for lo, hi in zip(low, high, strict=True)]


def _difference(est, low, high) -> dict | list:
    est, low, high = np.asarray(est), np.asarray(low), np.asarray(high)
    if est.ndim:
        return [_difference(*t) for t in zip(est, low, high, strict=True)]
    if math.isnan(est):
        return {"estimate": None, "ci95": None, "contains_zero": None}
    return {
        "estimate": float(est),
        "ci95": [float(low), float(high)],
        "contains_zero": bool(low <= 0 <= high),
    }


def mechanism_report(
    store,
    ga_run: str,
    gald_run: str,
    *,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    classes: Sequence[int] | None = None,
    images: Sequence[str] | None = None,
) -> dict:
    """The issue-#12 item-6 report of two stored runs (see the module docstring for the layout)."""
    if bootstrap < 1:
        raise ReportError(f"bootstrap={bootstrap}: give at least one resample")
    common, ga, gald, pair = read_arrays(store, ga_run, gald_run, images)
    return report_from_arrays(
        store.run(ga_run),
        store.run(gald_run),
        common,
        ga,
        gald,
        pair,
        bootstrap=bootstrap,
        seed=seed,
        classes=classes,
    )


def report_from_arrays(
    run_ga: dict,
    run_gald: dict,
    common: list[str],
    ga: dict[str, np.ndarray],
    gald: dict[str, np.ndarray],
    pair: dict[str, np.ndarray],
    *,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    classes: Sequence[int] | None = None,
) -> dict:
    """:func:`mechanism_report` from arrays already read: the two runs' ``store.run`` rows, the common
    image names and their stacked per-image and pair arrays (in that order)."""
    names = list(run_gald["class_names"])
    cls = None if classes is None else [int(c) for c in classes]
    if cls is not None and any(not 0 <= c < len(names) for c in cls):
        raise ReportError(f"classes={classes}: class ids must lie in 0..{len(names) - 1}")
    ga, gald, pair = (condense(select(a, cls)) for a in (ga, gald, pair))
    arrays = {f"{m}.{k}": v for m, a in (("ga", ga), ("gald", gald)) for k, v in a.items() if bootstrapped(k)}
    arrays["pair.fourway_band"] = pair["fourway_band"]
    if "ldv1_mask_p05_p95" in gald:
        arrays["gald.ldv1_p"] = gald["ldv1_mask_p05_p95"]
    boot = _Bootstrap(arrays, bootstrap, seed)
    ci: dict = {}

    def value(key: str, stat: Stat, section: dict, ci_section: dict) -> None:
        est, lo, hi = boot.interval(stat)
        section[key], ci_section[key] = _values(est), _cis(lo, hi)

    def diff(stat_a: Stat, stat_b: Stat) -> dict | list:
        return _difference(*boot.interval(lambda s: stat_a(s) - stat_b(s)))

    def band_ratio(num: str, den: str) -> Stat:
        return lambda s: _ratio(s[num].sum(-1), s[den].sum(-1))

    out: dict = {
        "ga": {"name": run_ga["model_name"], "sha256": run_ga["checkpoint_sha256"]},
        "gald": {"name": run_gald["model_name"], "sha256": run_gald["checkpoint_sha256"]},
        "data": run_gald["data_spec"],
        "n_images": len(common),
        "bands_px": [float(e) for e in gald["band_edges"][0]],
        "classes": names if cls is None else [names[c] for c in cls],
        "class_ids": list(range(len(names))) if cls is None else cls,
        "thresholds": [float(t) for t in run_gald["thresholds"]],
        "bootstrap": {"resamples": int(bootstrap), "seed": int(seed)},
        "image_list_sha256": hashlib.sha256("\n".join(common).encode()).hexdigest(),
    }
    out["ldv1"] = None
    if "ldv1_cells" in gald:
        out["ldv1"], ci["ldv1"] = {}, {}
        sec, cs = out["ldv1"], ci["ldv1"]
        value("mask_mean_by_band", band_ratio("gald.ldv1_mask_sum", "gald.ldv1_cells"), sec, cs)
        value(
            "mask_mean_by_class",
            lambda s: _ratio(s["gald.ldv1_mask_sum_c"].sum(-2), s["gald.ldv1_cells_c"].sum(-2)),
            sec,
            cs,
        )
        value("p05_mean", lambda s: s["gald.ldv1_p"][..., 0] / s["n"], sec, cs)
        value("p95_mean", lambda s: s["gald.ldv1_p"][..., 1] / s["n"], sec, cs)
    out["ldv2"] = None
    diffs: dict = {}
    if "ldv2_cells" in gald:
        out["ldv2"], ci["ldv2"] = {}, {}
        sec, cs = out["ldv2"], ci["ldv2"]

        def q_band(q: str) -> Stat:
            i = LDV2_QUANTITIES.index(q)
            return lambda s: _ratio(s["gald.ldv2_sums"][..., i, :, :].sum(-1), s["gald.ldv2_cells"].sum(-1))

        def q_class(q: str) -> Stat:
            i = LDV2_QUANTITIES.index(q)
            return lambda s: _ratio(
                s["gald.ldv2_sums_c"][..., i, :, :].sum(-2), s["gald.ldv2_cells_c"].sum(-2)
            )

        for key, q in (
            ("same_class_share_by_band", "same_class"),
            ("uniform_share_by_band", "uniform_same_class"),
            ("entropy_by_band", "entropy"),
            ("centre_weight_by_band", "centre"),
            ("outside_by_band", "outside"),
            ("radius_px_by_band", "radius"),
        ):
            value(key, q_band(q), sec, cs)
        value("same_class_share_by_class", q_class("same_class"), sec, cs)
        value("uniform_share_by_class", q_class("uniform_same_class"), sec, cs)
        diffs["same_class_minus_uniform_by_band"] = diff(q_band("same_class"), q_band("uniform_same_class"))
    out["fourway"], ci["fourway"] = {}, {}

    def fw(i: int) -> Stat:
        return lambda s: _ratio(
            s["pair.fourway_band"][..., i, :, :].sum(-1), s["pair.fourway_band"].sum((-3, -1))
        )

    value("fixes_by_band", fw(_FIXES), out["fourway"], ci["fourway"])
    value("breaks_by_band", fw(_BREAKS), out["fourway"], ci["fourway"])

    def share(s):
        per_band = s["pair.fourway_band"].sum((-3, -1))
        return _ratio(per_band, per_band.sum(-1, keepdims=True))

    value("pixels_by_band", share, out["fourway"], ci["fourway"])
    out["scores"], ci["scores"] = {}, {}
    for m in ("ga", "gald"):
        out["scores"][m], ci["scores"][m] = {}, {}
        value("miou", lambda s, m=m: _miou(s, f"{m}."), out["scores"][m], ci["scores"][m])
        value("boundary_f", lambda s, m=m: _mean_f(s, f"{m}."), out["scores"][m], ci["scores"][m])
    out["accuracy_by_band"], ci["accuracy_by_band"] = {}, {}
    acc = {m: band_ratio(f"{m}.band_correct", f"{m}.band_total") for m in ("ga", "gald")}
    for m in ("ga", "gald"):
        value(m, acc[m], out["accuracy_by_band"], ci["accuracy_by_band"])
    diffs["accuracy_by_band"] = diff(acc["gald"], acc["ga"])

    def biou_class(m: str, w: int = 0) -> Stat:
        return lambda s: _ratio(s[f"{m}.biou_intersection"][..., w, :], s[f"{m}.biou_union"][..., w, :])

    out["boundary_iou"] = {"ratio": float(run_gald["identity"]["mechanisms"]["ratios"][0])}
    ci["boundary_iou"] = {}
    for m in ("ga", "gald"):
        est, lo, hi = boot.interval(biou_class(m))
        m_est, m_lo, m_hi = boot.interval(lambda s, m=m: _nanmean(biou_class(m)(s)))
        out["boundary_iou"][m] = {"per_class": _values(est), "mean": _num(m_est)}
        ci["boundary_iou"][m] = {"per_class": _cis(lo, hi), "mean": _cis(m_lo, m_hi)}
    widths = len(run_gald["identity"]["mechanisms"]["ratios"])
    diffs["boundary_iou"] = [
        diff(
            lambda s, w=w: _nanmean(biou_class("gald", w)(s)), lambda s, w=w: _nanmean(biou_class("ga", w)(s))
        )
        for w in range(widths)
    ]
    diffs["boundary_iou_per_class"] = diff(biou_class("gald"), biou_class("ga"))
    diffs = {
        "miou": diff(lambda s: _miou(s, "gald."), lambda s: _miou(s, "ga.")),
        "boundary_f": diff(lambda s: _mean_f(s, "gald."), lambda s: _mean_f(s, "ga.")),
        "iou_per_class": diff(
            lambda s: _ratio(s["gald.tp"], s["gald.tp"] + s["gald.fp"] + s["gald.fn"]),
            lambda s: _ratio(s["ga.tp"], s["ga.tp"] + s["ga.fp"] + s["ga.fn"]),
        ),
        "boundary_f_per_class": diff(
            lambda s: s["gald.boundary_f"] / s["n"][..., None, None],
            lambda s: s["ga.boundary_f"] / s["n"][..., None, None],
        ),
        **diffs,
    }
    out["differences"] = diffs
    out["interventions"] = {}
    for model, run in (("ga", run_ga), ("gald", run_gald)):
        for name in (run["identity"].get("mechanisms") or {}).get("interventions", []):
            pre = f"{model}.{ko_name(name, '')}"
            out["interventions"][name if model == "gald" else f"ga:{name}"] = {
                "model": model,
                "delta_miou": diff(lambda s, p=pre: _miou(s, p), lambda s, m=model: _miou(s, f"{m}.")),
                "delta_boundary_f": diff(
                    lambda s, p=pre: _mean_f(s, p), lambda s, m=model: _mean_f(s, f"{m}.")
                ),
                "changed_share": _num(_ratio(*boot.full[pre + "changed"])),
            }
    out["ci95"] = ci
    return out


def ranked_images(
    store, ga_run: str, gald_run: str, *, band: int | None = None, class_id: int | None = None
) -> list[tuple[str, float]]:
    """Images ranked by GALD's gain in accuracy over GA in a band and/or class, largest gain first.

    The gain of an image is (GALD fixes − GALD breaks) / evaluated pixels in the band and class (the
    GALD accuracy minus the GA accuracy there); images without such pixels are left out. The last
    entries are GALD's largest losses.
    """
    images, pair = store.pair_arrays(ga_run, gald_run)
    if "fourway_band" not in pair:
        raise ReportError(f"runs {ga_run} and {gald_run} have no fourway_band pair arrays")
    counts = pair["fourway_band"]  # (N, 4, B, C)
    if band is not None:
        counts = counts[:, :, [band], :]
    if class_id is not None:
        counts = counts[:, :, :, [class_id]]
    fixes, breaks = counts[:, _FIXES].sum((1, 2)), counts[:, _BREAKS].sum((1, 2))
    total = counts.sum((1, 2, 3))
    ranked = [
        (im, float((f - b) / t)) for im, f, b, t in zip(images, fixes, breaks, total, strict=True) if t > 0
    ]
    return sorted(ranked, key=lambda item: (-item[1], item[0]))
