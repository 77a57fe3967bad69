"""The Mechanisms page, headless: what GA and LD do over a stored data set, with 95% intervals.

Input is the report of :func:`gald_viz.mechanisms.report.mechanism_report` (the JSON layout of
``python -m gald_viz.evaluate mechanisms``, issue #12 item 6) and a ranking callable
``rank(band, class_id) -> [(image, gain)]``. Out come plotly figures (curves against distance band,
per-class bars), the difference and knock-out tables with their "not established" marking, a provenance
caption, and the images ranked by GALD's gain or loss in a clicked band or class. Missing parts (no
LDv1, no LDv2, no knock-outs) become a sentence saying what is absent, never an empty figure.

A report value is a fraction, ``None`` (no data) or ``{"estimate": x, "ci95": [lo, hi]}``; differences
are GALD minus GA and knocked-out minus intact, shown in percentage points.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gald_viz.data.label_set import CITYSCAPES
from gald_viz.mechanisms.bands import band_labels
from gald_viz.views.boundary_f import StoredRuns
from gald_viz.views.mechanism_sections import Section, band_sections, class_sections, model_name
from gald_viz.viz.mechanism_figures import Interval, interval

Rank = Callable[[int | None, int | None], Sequence[tuple[str, float]]]
"""``rank(band, class_id)`` → ``[(image, gain)]``: GALD's gain (+) or loss (−) over GA per image."""

CAPTION = (
    "What global aggregation (GA) and local distribution (LD) do over a whole stored data set, by distance "
    "to the ground-truth boundary and by class, with paired-bootstrap 95% intervals over images. Click a "
    "band point or a class bar to rank the images by GALD's gain or loss there."
)
NO_RUNS = (
    "{db}: no pair of a GA-only run and a GALD run on the same data. Store one with `python -m "
    "gald_viz.evaluate mechanisms --ga MODEL --gald MODEL --data SPEC --limit N --db {db} --json OUT`."
)
NO_DB = (
    "{db}: no results database yet. Store a GA and a GALD run with `python -m gald_viz.evaluate mechanisms "
    "--ga MODEL --gald MODEL --data SPEC --limit N --db {db} --json OUT`."
)
PP_COLUMNS = ["estimate (pp)", "95% low (pp)", "95% high (pp)"]
"""The numeric columns of the difference and knock-out tables."""
RANK_LIMIT = 10
_CITYSCAPES_IDS = {name: i for i, name in enumerate(CITYSCAPES.class_names)}
"""Images listed per selection."""


def image_list_hash(images: Sequence[str]) -> str:
    """The first 12 hex digits of the sha256 of the sorted image names, one per line."""
    return hashlib.sha256("\n".join(sorted(images)).encode()).hexdigest()[:12]


@dataclass
class Inputs:
    """What the page hands the view.

    Attributes:
        report: the mechanism report (issue #12 JSON layout).
        rank: the ranking callable.
        images: the images the report covers (for the image-list hash).
        bootstrap, seed: the bootstrap's resamples and seed.
        thresholds: one label per boundary-F threshold (``"3 px (0.00088 diag)"``).
        boundary_f: role (``"ga"``, ``"gald"``) → T×C per-class boundary F aligned with the report's classes.
        models: role → the model name or checkpoint path Compare opens.
    """

    report: Mapping
    rank: Rank
    images: Sequence[str]
    bootstrap: int
    seed: int
    thresholds: Sequence[str] = ()
    boundary_f: Mapping[str, np.ndarray] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)


def provenance(inputs: Inputs) -> str:
    """Checkpoints with sha256 prefixes, data spec, images, image-list hash, bootstrap seed and count."""
    r = inputs.report
    (ga, ga_sha), (gald, gald_sha) = model_name(r.get("ga"), "ga"), model_name(r.get("gald"), "gald")
    edges = " ".join(f"{e:g}" for e in r.get("bands_px", []))
    return (
        f"GA {ga} (sha256 {ga_sha[:12] or '?'}), GALD {gald} (sha256 {gald_sha[:12] or '?'}); data "
        f"{r.get('data')}; {r.get('n_images')} images (image list sha256 {image_list_hash(inputs.images)}); "
        f"bands {edges} px; paired bootstrap over images, {inputs.bootstrap} resamples, seed {inputs.seed}, "
        "95% percentile intervals."
    )


@dataclass(frozen=True)
class Selection:
    """A clicked band or class: ``kind`` ``"band"``/``"class"``, its index and label."""

    kind: str
    index: int
    label: str


def selection_from_points(points: Sequence[Mapping], kind: str, labels: Sequence[str]) -> Selection | None:
    """The band or class of the first clicked point that carries an index (interval shading carries none)."""
    for p in points:
        data = p.get("customdata")
        if data is None:
            continue
        i = int(data[0] if isinstance(data, Sequence) else data)
        if 0 <= i < len(labels):
            return Selection(kind, i, labels[i])
    return None


@dataclass
class Ranked:
    """Images ranked by GALD's gain or loss in a selection; ``open_view`` is the view of their links."""

    title: str
    frame: pd.DataFrame
    models: Mapping[str, str]
    empty: str | None = None

    def open_view(self, image: str) -> dict[str, str]:
        """The view the "Compare" and "Inspector" links open (:func:`gald_viz.ui.widgets.view_link`)."""
        return {"image": image, **self.models}


def _table(rows: list[tuple[str, str, Interval]], above: str, below: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                **({"knock-out": k} if k else {}),
                "quantity": q,
                "estimate (pp)": 100 * v.estimate,
                "95% low (pp)": 100 * v.low,
                "95% high (pp)": 100 * v.high,
                "verdict": v.verdict(above, below),
            }
            for k, q, v in rows
        ]
    )


@dataclass
class MechanismsView:
    """Everything the page shows below the run pickers.

    Attributes:
        provenance: the caption every figure and export carries.
        differences: GALD − GA for mIoU and boundary F per threshold (pp, 95% interval, verdict).
        sections: the figures, in page order.
        knockouts: the knock-out table, or None; ``knockouts_absent`` then says why.
        bands, classes: the report's band and class labels.
    """

    provenance: str
    differences: pd.DataFrame
    sections: list[Section]
    knockouts: pd.DataFrame | None
    knockouts_absent: str | None
    bands: list[str]
    classes: list[str]
    inputs: Inputs

    def ranked(self, selection: Selection | None, order: str = "gain", limit: int = RANK_LIMIT) -> Ranked:
        """The images with the largest gain (``order="gain"``) or loss (``"loss"``) in the selection."""
        models = dict(self.inputs.models)
        if selection is None:
            return Ranked("", pd.DataFrame(), models, "Click a band point or a class bar to rank images.")
        if selection.kind == "band":
            band, class_id, where = selection.index, None, f"the {selection.label} band"
        else:
            name, report = selection.label, self.inputs.report
            # The report's own class ids; a report without them (older JSON) has Cityscapes' classes.
            known = report.get("class_ids")
            ids = dict(zip(report["classes"], known, strict=True)) if known else _CITYSCAPES_IDS
            band, class_id = None, ids.get(name, selection.index)
            where = f"class {name}"
        pairs = list(self.inputs.rank(band, class_id))
        pairs.sort(key=lambda p: (-p[1] if order == "gain" else p[1], p[0]))
        rows = [(n, g) for n, g in pairs if math.isfinite(g)][:limit]
        title = f"Images with GALD's largest {order} in {where}"
        if not rows:
            return Ranked(title, pd.DataFrame(), models, f"No stored image has data in {where}.")
        frame = pd.DataFrame(rows, columns=["image", "gain"])
        frame["gain (pp)"] = 100 * frame.pop("gain")
        return Ranked(title, frame, models)


def differences(inputs: Inputs) -> pd.DataFrame:
    """GALD − GA for mIoU and the boundary F at each threshold, in pp, with the interval's verdict."""
    d = inputs.report.get("differences") or {}
    f = list(d.get("boundary_f") or [])
    labels = list(inputs.thresholds) + [f"threshold {k + 1}" for k in range(len(inputs.thresholds), len(f))]
    rows = [("", "mIoU", interval(d.get("miou")))]
    rows += [("", f"boundary F at {labels[k]}", interval(v)) for k, v in enumerate(f)]
    return _table(rows, "GALD higher", "GALD lower")


def knockouts(inputs: Inputs) -> tuple[pd.DataFrame | None, str | None]:
    """The knock-out table (knocked-out minus intact, pp), or None and the sentence saying why."""
    runs = inputs.report.get("interventions") or {}
    if not runs:
        return None, (
            "No knock-outs in this report: the job ran without `--interventions` (e.g. `ldv1.mask=mean`, "
            "`ldv2.kernel=uniform`, `context=off`)."
        )
    models = {role: model_name(inputs.report.get(role), role)[0] for role in ("ga", "gald")}
    rows = []
    for name, ko in runs.items():
        label = f"{name} on {str(ko.get('model', '?')).upper()} {models.get(ko.get('model'), '')}".rstrip()
        rows.append((label, "mIoU", interval(ko.get("delta_miou"))))
        for k, v in enumerate(ko.get("delta_boundary_f") or []):
            th = inputs.thresholds[k] if k < len(inputs.thresholds) else f"threshold {k + 1}"
            rows.append((label, f"boundary F at {th}", interval(v)))
    return _table(rows, "knock-out raises it", "knock-out lowers it"), None


def with_intervals(report: dict) -> dict:
    """The report with its ``ci95`` tree folded in: each value that has an interval becomes
    ``{"estimate": value, "ci95": [lo, hi]}``, the form the figures draw interval bands from.

    >>> with_intervals({"a": {"x": [0.5, None]}, "ci95": {"a": {"x": [[0.4, 0.6], None]}}})["a"]
    {'x': [{'estimate': 0.5, 'ci95': [0.4, 0.6]}, None]}
    """

    def fold(value, ci):
        if ci is None or value is None:
            return value
        if isinstance(value, dict) and isinstance(ci, dict):
            return {k: fold(v, ci.get(k)) for k, v in value.items()}
        if isinstance(value, list) and isinstance(ci, list) and len(value) == len(ci):
            return [fold(v, c) for v, c in zip(value, ci, strict=True)]
        if isinstance(value, int | float) and isinstance(ci, list) and len(ci) == 2:
            return {"estimate": value, "ci95": list(ci)}
        return value

    intervals = report.get("ci95") or {}
    return {k: fold(v, intervals.get(k)) if k != "ci95" else v for k, v in report.items()}


def mechanisms_view(inputs: Inputs, *, threshold: int = 0) -> MechanismsView:
    """Build the page from a report; ``threshold`` picks the boundary F shown beside Boundary IoU."""
    prov = provenance(inputs)
    ko, ko_absent = knockouts(inputs)
    r = with_intervals(inputs.report)
    sections = band_sections(r, prov) + class_sections(
        r, prov, inputs.thresholds, inputs.boundary_f, threshold
    )
    bands = band_labels(inputs.report["bands_px"])
    classes = list(inputs.report["classes"])
    return MechanismsView(prov, differences(inputs), sections, ko, ko_absent, bands, classes, inputs)


@dataclass
class RunChoices:
    """The stored runs a mechanism report can pair: GA-only runs, and GALD runs per GA run's data."""

    ga: list[str]
    gald_by_ga: dict[str, list[str]]

    def gald(self, ga_run: str) -> list[str]:
        """GALD runs on the same data spec as ``ga_run``, newest first."""
        return self.gald_by_ga.get(ga_run, [])


def run_choices(runs: pd.DataFrame) -> RunChoices:
    """Pair the store's runs: a GA-only run (``ld_kind == "none"``) with GALD runs on the same data spec."""
    if runs.empty:
        return RunChoices([], {})
    ga = runs[runs["ld_kind"] == "none"]
    gald = runs[runs["ld_kind"] != "none"]
    by_ga = {r.run_id: list(gald.loc[gald["data_spec"] == r.data_spec, "run_id"]) for r in ga.itertuples()}
    by_ga = {k: v for k, v in by_ga.items() if v}
    return RunChoices(list(by_ga), by_ga)


def store_message(stored: StoredRuns, db_path: str) -> tuple[str, str] | None:
    """("info" | "warning", text) when the results database is missing or cannot be read, else None."""
    if stored.info:
        return "info", NO_DB.format(db=db_path)
    if stored.warning:
        reason = stored.warning.removesuffix(" Showing live and published results only.")
        return "warning", f"{reason} No mechanism statistics can be read."
    if run_choices(stored.runs).ga:
        return None
    return "info", NO_RUNS.format(db=db_path)


def data_note(runs: pd.DataFrame, gald_run: str, sidebar_spec: object | None) -> str | None:
    """Where Compare and the inspector find a ranked image when the sidebar's data differs from the runs'."""
    spec = str(runs.set_index("run_id").loc[gald_run, "data_spec"])
    if sidebar_spec is not None and str(sidebar_spec) == spec:
        return None
    return (
        f"These runs used `{spec}`; Compare and the inspector open the image of the same name in the "
        f"sidebar's data (`{sidebar_spec or 'an uploaded image'}`)."
    )


def per_class_f(table_v: pd.DataFrame, classes: Sequence[str]) -> np.ndarray:
    """A run's Table V frame (:func:`gald_viz.metrics.runs.table_v`) as T×C boundary F, in ``classes`` order.

    Classes the run does not have are NaN.
    """
    rows = table_v[table_v["metric"] == "boundary_f"]
    return rows.reindex(columns=list(classes)).to_numpy(dtype=np.float64)


def open_name(run: Mapping) -> str:
    """What Compare's model picker gets for a stored run: its bundled name, else its checkpoint path."""
    name = str(run["model_name"])
    return name if name.startswith("synthcity/") or not run.get("checkpoint_path") else run["checkpoint_path"]
