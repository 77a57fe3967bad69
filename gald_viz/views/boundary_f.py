"""The Boundary F-scores page, headless: Table V rows, differences, per-image rows, curves, evaluation jobs.

GALD (Li et al., IEEE TIP 2021) Table V layout: rows model × threshold, columns the 19 classes and their
mean, in %. Row blocks come from runs in the results store (:mod:`gald_viz.metrics.runs`), from live
scores of the current image (:func:`gald_viz.viz.compare.image_scores`) and from the paper. Everything
here is plain data (frames, figures, texts) so ``app_pages/boundary_f.py`` only lays it out and tests need
no Streamlit.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from gald_viz.data.label_set import CITYSCAPES, IGNORE_INDEX, LabelSet
from gald_viz.data.spec import DataSpec
from gald_viz.jobs import run_job
from gald_viz.metrics import reduce
from gald_viz.metrics import runs as run_tables
from gald_viz.metrics.conventions import (
    DEFAULT_THRESHOLDS,
    PAPER_IMAGE_SIZE,
    PAPER_RADII_PX,
    convention_text,
)
from gald_viz.metrics.scoring import score_image
from gald_viz.roots import PathNotAllowedError, confine
from gald_viz.store import ResultsStore, StoreError
from gald_viz.tables import export_csv, export_latex
from gald_viz.viz import table_v as tv
from gald_viz.viz.compare import ImageScores
from gald_viz.viz.figures import f_vs_tolerance
from gald_viz.viz.paper_figures import tolerance_curves

CAPTION = (
    "GALD Table V layout: rows model × threshold, columns the 19 classes and their mean, in %. "
    "Runs come from the results store (`python -m gald_viz.evaluate model …` or the button below); "
    "live rows are computed on the current image; published rows are the paper's."
)
IGNORE_CAPTION = (
    f"Ground truth label {IGNORE_INDEX} is ignored (zeroed in both masks before boundaries are taken)."
)
_PAPER_PX = "/".join(str(r) for r in PAPER_RADII_PX)
DIFFERENCE_SCALE = 10.0
"""Percentage points at which the difference table's colours saturate."""
DIFFERENCE_CAPTION = (
    "B − A in percentage points; thresholds matched in order "
    f"({_PAPER_PX} px at {PAPER_IMAGE_SIZE[0]}×{PAPER_IMAGE_SIZE[1]}). Colour scale: "
    f"red −{DIFFERENCE_SCALE:g} pp · yellow 0 · green +{DIFFERENCE_SCALE:g} pp"
    f" (beyond ±{DIFFERENCE_SCALE:g} pp, full colour)."
)


def caption(label_set: LabelSet = CITYSCAPES) -> str:
    """The page's caption: :data:`CAPTION`, or its words for another label set (no published rows)."""
    if label_set.is_cityscapes:
        return CAPTION
    return CAPTION.replace(
        "the 19 classes", f"the {label_set.num_classes} classes of {label_set.title}"
    ).replace(
        "; published rows are the paper's.", ". The paper's rows are Cityscapes' and are shown only for it."
    )


def classes_key(label_set: LabelSet) -> str:
    """The class filter's widget key: one per label set, as a kept choice must be among its options."""
    return "bf.classes" if label_set.is_cityscapes else f"bf.classes.{label_set.name}.{label_set.sha256[:8]}"


TOLERANCES = ("all", *PAPER_RADII_PX)
"""The tolerance choices of the table: every threshold, or one of Table V's (3/5/9/12 px at 1024×2048)."""


def curve_caption(num_classes: int = CITYSCAPES.num_classes) -> str:
    """How the F-against-tolerance curves are reduced."""
    return (
        f"Boundary F (G-SCNN) with fixed pixel radii, mean over the {num_classes} classes of the per-class"
        f" mean over images (absent from both = 1); GT {IGNORE_INDEX} ignored."
        f" Dotted: Table V's {_PAPER_PX} px."
    )


CURVE_CAPTION = curve_caption()


@dataclass
class StoredRuns:
    """The results database as the page sees it: an open store and its runs, or why there is none.

    Attributes:
        store: the open store, or None.
        runs: its runs (empty without a store).
        info: a message for a missing database (shown as information).
        warning: a message for a database that cannot be used.
    """

    store: ResultsStore | None
    runs: pd.DataFrame
    info: str | None = None
    warning: str | None = None

    @property
    def run_ids(self) -> list[str]:
        """Run ids, newest first."""
        return list(self.runs["run_id"]) if not self.runs.empty else []

    @property
    def widget_key(self) -> str:
        """A run picker key that changes with the runs present (a new run shows the newest two again)."""
        return f"bf.runs.{zlib.crc32(' '.join(self.run_ids).encode())}"

    def label(self, run_id: str) -> str:
        """A run as the pickers show it."""
        r = self.runs.set_index("run_id").loc[run_id]
        return (
            f"{r['model_name']} · {r['data_description']} · {r['n_done']}/{r['n_planned']} images · "
            f"{r['status']} · {run_id[:8]}"
        )


def stored_runs(db_path: str, open_store: Callable[[str], ResultsStore]) -> StoredRuns:
    """Open the results database with ``open_store`` (the app's cached opener) and list its runs."""
    try:
        store = open_store(str(confine(db_path, "Results database")))
        return StoredRuns(store, store.runs())
    except PathNotAllowedError as err:
        return StoredRuns(None, pd.DataFrame(), warning=f"{err}. Showing live and published results only.")
    except StoreError as err:
        if err.reason == "missing":
            info = f"{db_path}: no results database yet. Run an evaluation below; live and published rows"
            info += " are shown."
            return StoredRuns(None, pd.DataFrame(), info=info)
        return StoredRuns(None, pd.DataFrame(), warning=f"{err}. Showing live and published results only.")


@dataclass
class Table:
    """The Table V frame of every row block, with its conventions and what could not be read.

    Attributes:
        full: rows (source, model, threshold), columns the classes and ``mean``, in %.
        conventions: one line per block kind.
        warnings: runs left out, with the reason.
        live_source: the ``source`` of the live rows.
    """

    full: pd.DataFrame
    conventions: list[str]
    warnings: list[str]
    live_source: str

    def shown(self, classes: Sequence[str], sort_by: str, descending: bool, tolerance="all") -> pd.DataFrame:
        """``mean`` and the chosen class columns at one tolerance or all, sorted without mixing tolerances.

        Args:
            classes: class columns to show.
            sort_by: a column, or ``"(table order)"``.
            descending: sort order.
            tolerance: ``"all"`` or one of Table V's radii (3/5/9/12, picked by index).
        """
        by = None if sort_by == "(table order)" else sort_by
        position = None if tolerance == "all" else PAPER_RADII_PX.index(int(tolerance))
        return tv.select(self.full, classes=classes, sort_by=by, ascending=not descending, tolerance=position)

    @staticmethod
    def sort_text(sort_by: str, descending: bool, tolerance="all") -> str:
        """What the row order means (sorting never mixes tolerances)."""
        if sort_by == "(table order)":
            return "Rows in table order: stored runs, live rows, published rows."
        order = "descending" if descending else "ascending"
        if tolerance == "all":
            return (
                f"Models sorted by {sort_by} at the first tolerance ({tv.tolerance_label(0)}), {order}; "
                "each model's thresholds stay together."
            )
        position = PAPER_RADII_PX.index(int(tolerance))
        return f"Rows at {tv.tolerance_label(position)} only, sorted by {sort_by}, {order}."

    @staticmethod
    def groups(shown: pd.DataFrame) -> list[tuple[str, str]]:
        """The (source, model) blocks of a shown table, for the export row picker."""
        return tv.row_groups(shown) if not shown.empty else []

    def csv(self, shown: pd.DataFrame, groups: Sequence[tuple[str, str]]) -> str:
        """CSV export of the chosen blocks' shown rows: source, model and tolerance columns."""
        return export_csv(tv.export_frame(shown, groups))

    def delta(self, a: tuple[str, str], b: tuple[str, str], columns: Sequence[str]) -> pd.DataFrame:
        """B − A in percentage points for the shown columns (thresholds matched in order)."""
        return tv.difference(self.full, a, b)[list(columns)]

    def latex(self, shown: pd.DataFrame, groups: Sequence[tuple[str, str]]) -> str:
        """LaTeX export of the chosen blocks' shown rows, one table per tolerance, conventions in captions."""
        return export_latex(tv.export_frame(shown, groups), caption=" ".join(self.conventions))


def table_height(n_rows: int) -> int:
    """Pixels for a table of ``n_rows`` rows, at most 600 (then it scrolls)."""
    return min(600, 38 + 35 * n_rows)


def live_source(image_name: str, height: int, width: int) -> str:
    """The ``source`` label of live rows."""
    return f"live: {image_name} ({width}×{height})"


def table(
    store: ResultsStore | None,
    chosen_runs: Sequence[str],
    live: Mapping[str, ImageScores],
    source: str,
    image_hw: tuple[int, int],
    label_set: LabelSet = CITYSCAPES,
) -> Table:
    """Row blocks in reading order: the chosen stored runs, live rows of this image, then the paper's.

    The columns are ``label_set``'s classes: runs of other classes are left out (with a warning), and the
    paper's rows, Cityscapes', are shown only for the Cityscapes set.
    """
    blocks, conventions, warnings = [], [], []
    names, k = label_set.class_names, label_set.num_classes
    for run_id in chosen_runs:
        try:
            frame = run_tables.table_v(store, run_id)
        except StoreError as err:
            warnings.append(f"{err}. Run {run_id[:8]} is left out.")
            continue
        info = frame.attrs["run"]
        if tuple(info["class_names"]) != names:
            warnings.append(
                f"Run {run_id[:8]} has the {len(info['class_names'])} classes of label set"
                f" {info.get('label_set', '?')!r}, not those of {label_set.title}; it is left out."
            )
            continue
        blocks.append(
            tv.store_rows(
                frame, source=f"store run {run_id[:8]}", model=info["model_name"], class_names=names
            )
        )
        size = [(info["image_height"], info["image_width"])]
        conventions.append(
            f"Run {run_id[:8]} ({info['model_name']}, {info['data_description']}): "
            + convention_text(
                info["thresholds"], info["radii_px"], size, frame.attrs["n_images"], num_classes=k
            )
        )
    if any(reduce.gt_all_ignore(s.stats.arrays) for s in live.values()):
        warnings.append(f"Live rows: {reduce.all_ignore_warning([source])}.")
    for name, s in live.items():
        one = reduce.table_v(reduce.stack([s.stats]))
        blocks.append(tv.live_rows(one, s.thresholds, s.radii, source=source, model=name, class_names=names))
    if live:
        s = next(iter(live.values()))
        conventions.append(
            "Live rows: "
            + convention_text(s.thresholds, s.radii, [image_hw], 1, num_classes=k)
            + " One image only: classes absent from both maps score 1, so these rows run high."
        )
    if label_set.is_cityscapes:
        blocks.append(tv.published_rows())
        conventions.append(
            f"Published rows: Cityscapes val, ResNet-101, {PAPER_IMAGE_SIZE[0]}×{PAPER_IMAGE_SIZE[1]}"
            f" ({_PAPER_PX} px = {'/'.join(f'{t:g}' for t in DEFAULT_THRESHOLDS)} of the diagonal)."
        )
    return Table(tv.combine(blocks, names), conventions, warnings, source)


@dataclass
class Difference:
    """The two-model difference: the blocks to choose from and the default pair (indices)."""

    groups: list[tuple[str, str]]
    a_index: int
    b_index: int


def difference(t: Table) -> Difference | None:
    """Default: GALD minus GA on this image when both live rows exist, else the first two blocks."""
    groups = tv.row_groups(t.full)
    if len(groups) < 2:
        return None
    live = [g for g in groups if g[0] == t.live_source]
    a, b = (live[0], live[1]) if len(live) == 2 else (groups[0], groups[1])
    return Difference(groups, groups.index(a), groups.index(b))


@dataclass
class Curves:
    """F against tolerance: model → (radii, class-mean F), its figure and what could not be read."""

    curves: dict[str, tuple[list[int], list[float]]]
    warnings: list[str]
    caption: str = CURVE_CAPTION

    def figure(self):
        """The plotly figure (Table V's radii dotted)."""
        return f_vs_tolerance(self.curves, marks=PAPER_RADII_PX)

    def paper_figure(self):
        """The matplotlib figure for export, the caption under it."""
        return tolerance_curves(self.curves, caption=self.caption, marks=PAPER_RADII_PX)


def curves(
    stored: StoredRuns,
    chosen_runs: Sequence[str],
    live: Mapping[str, tuple[list[int], list[float]]],
    label_set: LabelSet = CITYSCAPES,
) -> Curves:
    """Live curves of this image (``name (live, this image)``) and the chosen runs' curves (those of
    ``label_set``'s classes)."""
    out = {f"{name} (live, this image)": curve for name, curve in live.items()}
    warnings = []
    for run_id in chosen_runs:
        if tuple(stored.runs.set_index("run_id").loc[run_id, "class_names"]) != label_set.class_names:
            continue  # table() says why it is left out
        try:
            tol = run_tables.f_vs_tolerance(stored.store, run_id)
        except StoreError as err:
            warnings.append(f"{err}. No curve for run {run_id[:8]}.")
            continue
        if not tol.empty:
            name = stored.runs.set_index("run_id").loc[run_id, "model_name"]
            out[f"{name} (run {run_id[:8]})"] = (tol["radius_px"].tolist(), tol["mean"].tolist())
    return Curves(out, warnings, curve_caption(label_set.num_classes))


def live_curve(pred, gt, num_classes: int = CITYSCAPES.num_classes) -> tuple[list[int], list[float]]:
    """F at 1-20 px on one image, mean over all classes (Table V's reduction on one image)."""
    radii, _, mean = reduce.tolerance_curve(reduce.stack([score_image(pred, gt, num_classes=num_classes)]))
    return radii, mean.tolist()


def job_caption(ga: str, gald: str, data_spec: DataSpec, db_path: str) -> str:
    """What the evaluation button does."""
    return (
        f"Runs `{ga}` and `{gald}` on `{data_spec}` into `{db_path}`; longer runs belong "
        f"to `python -m gald_viz.evaluate model --model NAME --data {data_spec} --limit N`."
    )


def evaluate(
    models: Sequence[str],
    data_spec: DataSpec | str,
    *,
    limit: int,
    device: str,
    db: str,
    progress: Callable[[float, str], None],
    label_set: LabelSet = CITYSCAPES,
) -> list[str]:
    """Run (or resume) one evaluation job per model, reporting ``progress(fraction, text)`` as it goes.

    Returns:
        The run ids.

    Raises:
        ValueError: a job cannot run (StoreError and JobError among them).
    """
    db = str(confine(db, "Results database"))
    ids = []
    for i, model in enumerate(models):

        def report(done: int, total: int, name: str | None, i: int = i, model: str = model) -> None:
            text = f"{model}: {done}/{total} images" + (f" ({name})" if name else "")
            progress((i + done / max(total, 1)) / len(models), text)

        job = {"limit": limit, "device": device, "db": db, "progress": report}
        job |= {} if label_set.is_cityscapes else {"label_set": label_set}  # else run_job's own default
        ids.append(run_job(model, data_spec, **job))
    progress(1.0, "done")
    return ids


def job_done(stored: StoredRuns, models: Sequence[str], run_ids: Sequence[str]) -> str:
    """The confirmation after "Run evaluation": each run with its images done, from the store itself."""
    runs = stored.runs.set_index("run_id") if not stored.runs.empty else pd.DataFrame()
    parts = []
    for model, run_id in zip(models, run_ids, strict=True):
        if run_id in runs.index:
            r = runs.loc[run_id]
            parts.append(f"{model}: run {run_id[:8]}, {r['n_done']}/{r['n_planned']} images, {r['status']}")
        else:
            parts.append(f"{model}: run {run_id[:8]} (not in the store: reload the page)")
    return "Evaluation finished. " + "; ".join(parts) + ". Both runs are selected above."


def tolerance_text(tolerance) -> str:
    """How the tolerance picker shows a choice."""
    if tolerance == "all":
        return "all thresholds"
    return tv.tolerance_label(PAPER_RADII_PX.index(int(tolerance)))
