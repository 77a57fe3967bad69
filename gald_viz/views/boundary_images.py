"""The Boundary F page's per-image table: two stored runs side by side, their difference, links to Compare.

A researcher's first question about GA against GALD (Li et al., IEEE TIP 2021) is *on which images*
local distribution helps or hurts. Each row is one image both runs scored: mIoU and boundary F (G-SCNN,
mean over the classes present in GT or prediction) of each run at one Table V tolerance, headed by its
radius in px, and the per-image difference B − A. The mean difference over images comes with a paired
bootstrap interval (:func:`gald_viz.stats.bootstrap.paired_bootstrap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gald_viz.metrics import runs as run_tables
from gald_viz.metrics.conventions import PAPER_RADII_PX, threshold_index
from gald_viz.stats.bootstrap import paired_bootstrap
from gald_viz.store import ResultsStore, StoreError

RESAMPLES = 2000
"""Bootstrap resamples of the mean per-image difference."""


@dataclass
class RunColumns:
    """One run's part of the table: its role (``GA``, ``GALD``, ``A`` or ``B``), model and radius."""

    run_id: str
    role: str
    model: str
    ld_kind: str
    threshold: float
    radius_px: int

    @property
    def miou(self) -> str:
        return f"{self.role} mIoU"

    @property
    def f(self) -> str:
        return f"{self.role} F @ {self.radius_px} px"


@dataclass
class PairedImages:
    """The per-image rows of one or two runs.

    Attributes:
        frame: ``image``, ``height``, ``width``, each run's mIoU and F columns, the difference (two runs)
            and ``open`` (a Compare URL), sorted by the difference ascending (B worse first), else by F.
        runs: the runs, A then B.
        delta: the difference column's name (None with one run).
        pair: the Compare page's models, ``{"ga": ..., "gald": ...}``.
        threshold_px: the Table V tolerance the links carry.
        caption: what the rows mean.
        summary: the mean difference with its interval (None with one run).
        warning: why rows could not be read (then ``frame`` is empty), or what does not match.
    """

    frame: pd.DataFrame
    runs: list[RunColumns] = field(default_factory=list)
    delta: str | None = None
    pair: dict[str, str] = field(default_factory=dict)
    threshold_px: int = PAPER_RADII_PX[0]
    caption: str = ""
    summary: str | None = None
    warning: str | None = None

    @property
    def number_columns(self) -> list[str]:
        """The numeric columns, in order (sortable)."""
        cols = [c for r in self.runs for c in (r.miou, r.f)]
        return cols + ([self.delta] if self.delta else [])

    @property
    def columns(self) -> list[str]:
        """The columns to show: the difference right after the image, then each run's values."""
        values = [c for r in self.runs for c in (r.f, r.miou)]
        return ["image", *([self.delta] if self.delta else []), *values, "height", "width"]

    def sorted(self, column: str, descending: bool) -> pd.DataFrame:
        """The rows sorted by one column (NaN last)."""
        return self.frame.sort_values(column, ascending=not descending, na_position="last", kind="stable")

    def open_view(self, image: str) -> dict[str, object]:
        """The view the "Open on Compare" link opens (:func:`gald_viz.ui.widgets.view_link`)."""
        return {"image": image, **self.pair, "threshold": self.threshold_px}


def _roles(infos: list[dict]) -> list[str]:
    """GA and GALD when exactly one run has local distribution (GA first), else A and B."""
    kinds = [info["ld_kind"] != "none" for info in infos]
    if len(infos) == 2 and kinds[0] != kinds[1]:
        return ["GALD", "GA"] if kinds[0] else ["GA", "GALD"]
    return ["A", "B"][: len(infos)]


def paired_images(
    store: ResultsStore, run_ids: Sequence[str], px: int, ga_name: str, gald_name: str
) -> PairedImages:
    """The per-image table of one or two runs at the Table V tolerance picked as ``px`` (3/5/9/12).

    The tolerance is chosen by its index among each run's thresholds, so a run at any image size shows
    its own radius of that threshold. With two runs only images both scored are listed.
    """
    run_ids = list(run_ids)[:2]
    try:
        infos = [store.run(r) for r in run_ids]
        frames = [run_tables.per_image(store, r) for r in run_ids]
    except StoreError as err:
        return PairedImages(pd.DataFrame(), warning=f"{err}. Per-image rows are not available.")
    if not run_ids:
        return PairedImages(pd.DataFrame())
    t = threshold_index(px)
    cols = []
    for run_id, info, role in zip(run_ids, infos, _roles(infos), strict=True):
        k = t if t < len(info["thresholds"]) else 0
        cols.append(
            RunColumns(
                run_id, role, info["model_name"], info["ld_kind"], info["thresholds"][k], info["radii_px"][k]
            )
        )
    if len(cols) == 2 and cols[0].role == "GALD":
        cols, frames = cols[::-1], frames[::-1]
    merged = None
    for rc, f in zip(cols, frames, strict=True):
        part = f[["image", "height", "width", "miou", f"F@{rc.threshold:g}"]]
        part = part.rename(columns={"miou": rc.miou, f"F@{rc.threshold:g}": rc.f})
        if merged is None:
            merged = part
        else:
            merged = merged.merge(part.drop(columns=["height", "width"]), on="image", how="inner")
    out = PairedImages(merged, cols, threshold_px=px)
    out.pair = _pair(cols, ga_name, gald_name)
    sort_by = cols[-1].f
    if len(cols) == 2:
        a, b = cols
        out.delta = (
            f"Δ F (B − A) @ {b.radius_px} px" if a.role == "A" else f"Δ F (GALD − GA) @ {b.radius_px} px"
        )
        merged[out.delta] = merged[b.f] - merged[a.f]
        sort_by = out.delta
        out.summary = _summary(merged[a.f].to_numpy(), merged[b.f].to_numpy(), a, b)
        out.warning = _mismatch(frames, merged, cols)
    out.frame = merged.sort_values(sort_by, na_position="last", kind="stable").reset_index(drop=True)
    out.caption = _caption(cols, t, infos[0]["thresholds"], out.pair)
    return out


def _pair(cols: list[RunColumns], ga_name: str, gald_name: str) -> dict[str, str]:
    """The models the Compare links open: the runs' models where their roles say which is which."""
    pair = {"ga": ga_name, "gald": gald_name}
    for rc in cols:
        pair["gald" if rc.ld_kind != "none" else "ga"] = rc.model
    if len(cols) == 2 and cols[0].role == "A":
        pair = {"ga": cols[0].model, "gald": cols[1].model}
    return pair


def _summary(fa: np.ndarray, fb: np.ndarray, a: RunColumns, b: RunColumns) -> str:
    """The mean per-image difference B − A with a 95% paired bootstrap interval, or why there is none."""
    ok = np.isfinite(fa) & np.isfinite(fb)
    if ok.sum() < 2:
        return f"Mean per-image difference {b.role} − {a.role}: not established ({int(ok.sum())} image(s))."
    res = paired_bootstrap(fb[ok, None], None, fa[ok, None], None, resamples=RESAMPLES, seed=0)
    verdict = "not established (the interval contains 0)" if res.contains_zero else "established"
    return (
        f"Mean per-image difference {b.role} − {a.role} in boundary F: {res.estimate:+.3f} "
        f"(95% paired bootstrap interval {res.low:+.3f} to {res.high:+.3f}, {int(ok.sum())} images, "
        f"{res.resamples} resamples): {verdict}."
    )


def _mismatch(frames: list[pd.DataFrame], merged: pd.DataFrame, cols: list[RunColumns]) -> str | None:
    """A warning when the runs did not score the same images or radii."""
    notes = []
    left_out = max(len(f) for f in frames) - len(merged)
    if left_out:
        notes.append(f"{left_out} image(s) scored by only one run are left out")
    if cols[0].radius_px != cols[1].radius_px:
        notes.append(f"the runs' radii differ ({cols[0].radius_px} px vs {cols[1].radius_px} px)")
    return ("The two runs do not match: " + "; ".join(notes) + ".") if notes else None


def _caption(cols: list[RunColumns], t: int, thresholds: Sequence[float], pair: dict[str, str]) -> str:
    runs = "; ".join(f"{rc.role} = {rc.model} (run {rc.run_id[:8]})" for rc in cols)
    k = t if t < len(thresholds) else 0
    order = "by the difference, where B loses most first" if len(cols) == 2 else "by F, worst first"
    if len(cols) == 2 and cols[0].role == "GA":
        order = "by the difference, where GALD loses most first"
    return (
        f"{runs}. Boundary F at Table V's tolerance {thresholds[k]:g} of the diagonal (radius in px at each "
        f"run's image size). Per image, IoU and F are averaged over the classes present in GT or prediction. "
        f"Sorted {order}. Links open the image on the Compare page with {pair['ga']} (GA) and "
        f"{pair['gald']} (GALD) in a new tab."
    )
