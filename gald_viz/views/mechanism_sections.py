"""The figure sections of the Mechanisms page: curves against distance band and per-class bars.

Each section is built from one part of the mechanism report (issue #12 item 6 layout); a part that is
missing (no LDv1, no LDv2), malformed (wrong length, a fraction outside [0, 1]) or without any data
becomes a sentence saying so, never an empty or flat figure. See :mod:`gald_viz.views.mechanisms`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gald_viz.mechanisms.bands import band_labels
from gald_viz.views.parts import Export
from gald_viz.viz import mechanism_figures as mf
from gald_viz.viz.mechanism_figures import BarPanel, Series, interval, series
from gald_viz.viz.overlays import FOURWAY_COLORS

FIXES, BREAKS = ("#{:02x}{:02x}{:02x}".format(*FOURWAY_COLORS[k]) for k in ("GALD fixes", "GALD breaks"))
"""The Compare page's four-way colours."""


def model_name(entry, role: str) -> tuple[str, str]:
    """(name, sha256) of the report's ``ga``/``gald`` entry (``{"name", "sha256"}`` or a bare name)."""
    if isinstance(entry, Mapping):
        return str(entry.get("name") or role.upper()), str(entry.get("sha256") or "")
    return str(entry or role.upper()), ""


@dataclass
class Section:
    """One figure of the page, or the sentence saying why it is absent.

    Attributes:
        id: short name (the page's widget keys come from it).
        title: subheader.
        kind: what a click selects: ``"band"`` or ``"class"``.
        figure: the plotly figure, or None when absent.
        absent: what is missing, or None.
        caption: what the figure shows.
        export: its PNG/PDF export (None when absent).
    """

    id: str
    title: str
    kind: str
    figure: object | None
    absent: str | None
    caption: str = ""
    export: Export | None = None


def _export(sid: str, title: str, caption: str, prov: str, build: Callable[[str], object]) -> Export:
    """The figure's PNG/PDF export: the page shows ``caption``; the file's caption adds the provenance."""
    return Export(sid, caption, lambda: build(f"{title}. {caption} {prov}"), f"mechanisms_{sid}")


def _no_data(series: Sequence[Series]) -> str:
    missing = [s.name for s in series if not s.has_data]
    return f" No data for: {', '.join(missing)}." if missing else ""


def _band_section(
    sid: str,
    title: str,
    caption: str,
    bands: list[str],
    make: Callable[[], list[Series]],
    *,
    ylabel: str,
    absent: str | None = None,
    prov: str = "",
    percent: bool = True,
) -> Section:
    """A band-curve section; a report part that is missing, malformed or empty becomes a sentence."""
    if absent:
        return Section(sid, title, "band", None, absent, caption)
    try:
        lines = make()
    except ValueError as err:
        return Section(sid, title, "band", None, f"Not shown: {err}.", caption)
    if not any(s.has_data for s in lines):
        return Section(sid, title, "band", None, "No band has data in the stored images.", caption)
    caption += _no_data(lines)
    tick = ".0%" if percent else ".2f"
    fig = mf.band_figure(bands, lines, ylabel=ylabel, tickformat=tick)
    build = lambda text: mf.paper_band_curves(bands, lines, ylabel=ylabel, caption=text, percent=percent)  # noqa: E731
    return Section(sid, title, "band", fig, None, caption, _export(sid, title, caption, prov, build))


def _class_section(
    sid: str,
    title: str,
    caption: str,
    make: Callable[[], list[BarPanel]],
    *,
    absent: str | None = None,
    prov: str = "",
) -> Section:
    """A per-class bar section; a missing, malformed or empty part becomes a sentence."""
    if absent:
        return Section(sid, title, "class", None, absent, caption)
    try:
        made = make()
        panels = [p for p in made if any(s.has_data for s in p.series)]
    except ValueError as err:
        return Section(sid, title, "class", None, f"Not shown: {err}.", caption)
    if not panels:
        return Section(sid, title, "class", None, "No class has data in the stored images.", caption)
    caption += _no_data([s for p in made for s in p.series])
    build = lambda text: mf.paper_class_bars(panels, caption=text)  # noqa: E731
    fig = mf.class_figure(panels)
    return Section(sid, title, "class", fig, None, caption, _export(sid, title, caption, prov, build))


CELLS = (
    "Per feature cell, class and distance read at the native pixel nearest the cell centre; ignore cells "
    "left out."
)


def _pixels_hover(values: Sequence | None, n: int) -> list[str] | None:
    if values is None or len(values) != n:
        return None
    return ["pixels in band: " + ("no data" if v is None else f"{interval(v).estimate:,.4g}") for v in values]


def band_sections(report: Mapping, prov: str) -> list[Section]:
    """The curves against distance band: accuracy, four-way, the LDv1 mask and the LDv2 affinities."""
    r, bands = report, band_labels(report["bands_px"])
    n, (ga, _), (gald, _) = len(bands), model_name(r.get("ga"), "ga"), model_name(r.get("gald"), "gald")
    acc, four = r.get("accuracy_by_band") or {}, r.get("fourway") or {}
    ldv1, ldv2 = r.get("ldv1"), r.get("ldv2")
    no_ldv1 = None if ldv1 else f"No LDv1 statistics: the GALD model {gald} has no LDv1 mask M."
    no_ldv2 = None if ldv2 else f"No LDv2 statistics: the GALD model {gald} has no LDv2 affinities."
    hover = _pixels_hover(four.get("pixels_by_band"), n)

    def gald_curve(sid: str, title: str, caption: str, source: tuple, **style) -> Section:
        """One curve of the GALD model from ``part[key]``, or the sentence ``absent``."""
        part, key, absent = source
        make = lambda: [series(f"GALD {gald}", part.get(key), n, key)]  # noqa: E731
        return _band_section(sid, title, caption, bands, make, absent=absent, prov=prov, **style)

    return [
        _band_section(
            "accuracy",
            "Accuracy by distance band (trimap)",
            "Share of each band's non-ignore pixels that the model labels correctly.",
            bands,
            lambda: [
                series(f"GA {ga}", acc.get("ga"), n, "accuracy_by_band.ga"),
                series(f"GALD {gald}", acc.get("gald"), n, "accuracy_by_band.gald"),
            ],
            ylabel="pixel accuracy",
            prov=prov,
        ),
        _band_section(
            "fourway",
            "GALD fixes and breaks by distance band",
            "Fixes: GA wrong, GALD right; breaks: GA right, GALD wrong; as shares of the band's pixels.",
            bands,
            lambda: [
                series(
                    "GALD fixes",
                    four.get("fixes_by_band"),
                    n,
                    "fourway.fixes_by_band",
                    hover=hover,
                    colour=FIXES,
                ),
                series(
                    "GALD breaks",
                    four.get("breaks_by_band"),
                    n,
                    "fourway.breaks_by_band",
                    hover=hover,
                    colour=BREAKS,
                ),
            ],
            ylabel="share of the band's pixels",
            prov=prov,
        ),
        gald_curve(
            "ldv1_band",
            "LDv1 mask by distance band (Fig. 7)",
            f"Mean of the channel mean of M (GALD Eq. 1). {CELLS} Fig. 7 shows M lower at boundaries.",
            (ldv1, "mask_mean_by_band", no_ldv1),
            ylabel="LDv1 mask M",
        ),
        _band_section(
            "ldv2_share_band",
            "LDv2 same-class share by distance band (Fig. 9)",
            "Share of the k² softmax weights (GALD Eq. 7) on neighbours of the centre's GT class (outside "
            "and ignore neighbours count as different), against a uniform kernel's share (same-class "
            f"inside neighbours / k², dashed). {CELLS}",
            bands,
            lambda: [
                series("same-class share", ldv2.get("same_class_share_by_band"), n, "ldv2 share by band"),
                series(
                    "uniform kernel",
                    ldv2.get("uniform_share_by_band"),
                    n,
                    "ldv2 uniform by band",
                    dashed=True,
                ),
            ],
            ylabel="weight on the same class",
            absent=no_ldv2,
            prov=prov,
        ),
        gald_curve(
            "ldv2_entropy_band",
            "LDv2 entropy by distance band",
            f"Entropy of the k² weights divided by log k² (1 = uniform, 0 = one neighbour). {CELLS}",
            (ldv2, "entropy_by_band", no_ldv2),
            ylabel="entropy / log k²",
            percent=False,
        ),
        gald_curve(
            "ldv2_centre_band",
            "LDv2 centre weight by distance band",
            f"Weight on the centre position of the k×k window (a uniform kernel gives 1/k²). {CELLS}",
            (ldv2, "centre_weight_by_band", no_ldv2),
            ylabel="centre weight",
        ),
    ]


def class_sections(
    report: Mapping,
    prov: str,
    thresholds: Sequence[str] = (),
    boundary_f: Mapping[str, np.ndarray] | None = None,
    threshold: int = 0,
) -> list[Section]:
    """Per-class bars: the LDv1 mask, the LDv2 share against uniform, Boundary IoU beside boundary F."""
    r, classes, boundary_f = report, list(report["classes"]), boundary_f or {}
    n, (ga, _), (gald, _) = len(classes), model_name(r.get("ga"), "ga"), model_name(r.get("gald"), "gald")
    ldv1, ldv2, biou = r.get("ldv1"), r.get("ldv2"), r.get("boundary_iou") or {}
    no_ldv1 = None if ldv1 else f"No LDv1 statistics: the GALD model {gald} has no LDv1 mask M."
    no_ldv2 = None if ldv2 else f"No LDv2 statistics: the GALD model {gald} has no LDv2 affinities."

    with_f = bool(boundary_f) and 0 <= threshold < len(thresholds)

    def boundary() -> list[BarPanel]:
        ratio = biou.get("ratio")
        iou = [
            series(
                f"{role.upper()} {name}", (biou.get(role) or {}).get("per_class"), n, f"{role} Boundary IoU"
            )
            for role, name in (("ga", ga), ("gald", gald))
        ]
        panels = [BarPanel(f"Boundary IoU (ratio {ratio})", classes, iou, "Boundary IoU")]
        if with_f:
            f = [
                Series(f"{role.upper()} {name}", np.asarray(boundary_f[role][threshold], np.float64))
                for role, name in (("ga", ga), ("gald", gald))
                if role in boundary_f
            ]
            panels.append(BarPanel(f"boundary F at {thresholds[threshold]}", classes, f, "boundary F"))
        return panels

    means = [
        f"{role.upper()} {100 * interval((biou.get(role) or {}).get('mean')).estimate:.1f}%"
        for role in ("ga", "gald")
    ]
    return [
        _class_section(
            "ldv1_class",
            "LDv1 mask by class",
            f"Mean of the channel mean of M per GT class. {CELLS}",
            lambda: [
                BarPanel(
                    "LDv1 mask M",
                    classes,
                    [series(f"GALD {gald}", ldv1.get("mask_mean_by_class"), n, "ldv1.mask_mean_by_class")],
                    "LDv1 mask M",
                )
            ],
            absent=no_ldv1,
            prov=prov,
        ),
        _class_section(
            "ldv2_class",
            "LDv2 same-class share by class",
            f"Weight on same-class neighbours per GT class of the centre, against a uniform kernel. {CELLS}",
            lambda: [
                BarPanel(
                    "LDv2 same-class share",
                    classes,
                    [
                        series("same-class share", ldv2.get("same_class_share_by_class"), n, "ldv2 share"),
                        series(
                            "uniform kernel",
                            ldv2.get("uniform_share_by_class"),
                            n,
                            "ldv2 uniform",
                            dashed=True,
                        ),
                    ],
                    "weight on the same class",
                )
            ],
            absent=no_ldv2,
            prov=prov,
        ),
        _class_section(
            "boundary",
            "Boundary IoU beside boundary F, per class",
            "Boundary IoU (Cheng et al., CVPR 2021): boundary region = mask minus its erosion, d = max(1, "
            "round(ratio · diagonal)); intersections and unions summed over images; GT 255 ignored. Mean: "
            + ", ".join(means)
            + "."
            + (" Boundary F (G-SCNN): each run's per-class mean over its images." if with_f else ""),
            boundary,
            prov=prov,
        ),
    ]
