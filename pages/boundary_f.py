"""Boundary F-scores: Table V from the results store beside the paper's rows, per image, per tolerance."""

import zlib
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from gald_viz.data.labels import CLASS_NAMES, IGNORE_INDEX
from gald_viz.jobs import run_job
from gald_viz.metrics.boundary import DEFAULT_THRESHOLDS
from gald_viz.store import DEFAULT_DB, StoreError
from gald_viz.tables import convention_line, table_v_csv, table_v_latex
from gald_viz.ui import cache
from gald_viz.ui.page import is_routed, page_setup
from gald_viz.ui.state import select_view
from gald_viz.ui.widgets import export_buttons, threshold_ui
from gald_viz.viz import paper_figures as pf
from gald_viz.viz import table_v as tv
from gald_viz.viz.figures import f_vs_tolerance

GO_COMPARE = "bf.go_compare"

if st.session_state.pop(GO_COMPARE, False):
    # Set by the "Open on Compare" callback, which already chose the image and models.
    st.switch_page("pages/ga_vs_gald.py")
settings = page_setup("boundary")
sample, ga, gald = settings.sample, settings.ga, settings.gald
h, w = sample.image.shape[:2]


def _open_on_compare(**view) -> None:
    # A callback runs before the sidebar is drawn, so it may still change the sidebar's choices.
    select_view(**view)
    st.session_state[GO_COMPARE] = True


st.title("Boundary F-scores")
st.caption(
    "GALD Table V layout: rows model × threshold, columns the 19 classes and their mean, in %. "
    "Runs come from the results store (`python -m gald_viz.evaluate model …` or the button below); "
    "live rows are computed on the current image; published rows are the paper's."
)

# -- results store ------------------------------------------------------------------------------------
db_path = st.text_input("Results database", value=str(DEFAULT_DB), key="bf.db")
runs = pd.DataFrame()
store = None
try:
    store = cache.results_store(db_path)
    runs = store.runs()
except StoreError as err:
    if err.reason == "missing":
        st.info(
            f"{db_path}: no results database yet. Run an evaluation below; live and published rows are shown."
        )
    else:
        st.warning(f"{err}. Showing live and published results only.")
    store = None


def run_label(run_id: str) -> str:
    r = runs.set_index("run_id").loc[run_id]
    return (
        f"{r['model_name']} · {r['data_description']} · {r['n_done']}/{r['n_planned']} images · "
        f"{r['status']} · {run_id[:8]}"
    )


run_ids = list(runs["run_id"]) if not runs.empty else []
# Keyed by the runs present: a new database or a new run shows the newest two again.
chosen_runs = st.multiselect(
    "Stored runs",
    run_ids,
    default=run_ids[:2],
    format_func=run_label,
    key=f"bf.runs.{zlib.crc32(' '.join(run_ids).encode())}",
    disabled=not run_ids,
)

# -- live results on the current image -------------------------------------------------------------
live = {}
if sample.label is not None:
    for role, loaded in (("GA", ga), ("GALD", gald)):
        an = cache.analysis(settings.key(loaded), loaded, sample.image)
        live[f"{role}: {loaded.name}"] = (
            an.pred,
            cache.scores(loaded.key, settings.image_key, an.pred, sample.label),
        )
else:
    st.info(f"`{sample.name}` has no ground truth: no live rows.")
live_source = f"live: {sample.name} ({w}×{h})"

# Row blocks in reading order: your stored runs, live rows of this image, then the paper's.
blocks, conventions = [], []
store_failed = False
for run_id in chosen_runs:
    try:
        table = store.table_v(run_id)
    except StoreError as err:
        st.warning(f"{err}. Run {run_id[:8]} is left out.")
        store_failed = True
        continue
    info = table.attrs["run"]
    blocks.append(tv.store_rows(table, source=f"store run {run_id[:8]}", model=info["model_name"]))
    conventions.append(
        f"Run {run_id[:8]} ({info['model_name']}, {info['data_description']}): "
        + convention_line(
            info["thresholds"],
            info["radii_px"],
            [(info["image_height"], info["image_width"])],
            table.attrs["n_images"],
        )
    )
for name, (_, s) in live.items():
    blocks.append(tv.live_rows(s.boundary_f, s.thresholds, s.radii, source=live_source, model=name))
if live:
    s = next(iter(live.values()))[1]
    conventions.append(
        "Live rows: "
        + convention_line(s.thresholds, s.radii, [(h, w)], 1)
        + " One image only: classes absent from both maps score 1, so these rows run high."
    )
blocks.append(tv.published_rows())
conventions.append(
    f"Published rows: Cityscapes val, ResNet-101, 1024×2048 (3/5/9/12 px = "
    f"{'/'.join(f'{t:g}' for t in DEFAULT_THRESHOLDS)} of the diagonal)."
)
full = tv.combine(blocks)

# -- table with class filter and sorting -------------------------------------------------------------
filter_col, sort_col, order_col = st.columns([3, 1, 1])
classes = filter_col.multiselect("Classes", list(CLASS_NAMES), default=list(CLASS_NAMES), key="bf.classes")
sort_by = sort_col.selectbox("Sort rows by", ["(table order)", "mean", *classes], key="bf.sort")
descending = order_col.toggle("Descending", value=True, key="bf.descending")
shown = tv.select(
    full, classes=classes, sort_by=None if sort_by == "(table order)" else sort_by, ascending=not descending
)
st.dataframe(
    shown.style.format("{:.1f}", na_rep="—"),
    width="stretch",
    height=min(600, 38 + 35 * len(shown)),
    key="bf.table",
)
for line in conventions:
    st.caption(line)
st.caption(
    f"Ground truth label {IGNORE_INDEX} is ignored (zeroed in both masks before boundaries are taken)."
)
csv_col, tex_col, _ = st.columns([1, 1, 3])
csv_col.download_button(
    "CSV", tv.flat(shown).pipe(table_v_csv), "table_v.csv", "text/csv", key="bf.csv", on_click="ignore"
)
tex_col.download_button(
    "LaTeX",
    table_v_latex(tv.flat(shown), caption="Boundary F-score (%). " + " ".join(conventions)),
    "table_v.tex",
    "text/x-tex",
    key="bf.latex",
    on_click="ignore",
)

# -- differences -------------------------------------------------------------------------------------
st.subheader("Difference between two models")
groups = tv.row_groups(full)
if len(groups) >= 2:
    # Default: GALD minus GA on this image when live rows exist, else the first two blocks.
    live_groups = [g for g in groups if g[0] == live_source]
    a_default, b_default = (
        (live_groups[0], live_groups[1]) if len(live_groups) == 2 else (groups[0], groups[1])
    )
    a_col, b_col = st.columns(2)
    a = a_col.selectbox("A", groups, index=groups.index(a_default), format_func=" · ".join, key="bf.diff_a")
    b = b_col.selectbox("B", groups, index=groups.index(b_default), format_func=" · ".join, key="bf.diff_b")
    delta = tv.difference(full, a, b)[list(shown.columns)]
    st.dataframe(
        delta.style.format("{:+.1f}", na_rep="—").background_gradient(cmap="RdYlGn", vmin=-10, vmax=10),
        width="stretch",
        key="bf.delta",
    )
    st.caption("B − A in percentage points; thresholds matched in order (3/5/9/12 px at 1024×2048).")

# -- per image ---------------------------------------------------------------------------------------
st.subheader("Per image, worst first")
px = threshold_ui("bf")
if chosen_runs and store is not None:
    run_for_images = st.selectbox("Run", chosen_runs, format_func=run_label, key="bf.image_run")
    try:
        info = store.run(run_for_images)
        t_index = list(info["radii_px"]).index(px) if px in info["radii_px"] else 0
        column = f"F@{info['thresholds'][t_index]:g}"
        per_image = store.per_image(run_for_images, sort_by=column)
    except StoreError as err:
        st.warning(f"{err}. Per-image rows are not available.")
        per_image = pd.DataFrame()
    if not per_image.empty:
        is_gald = info["ld_kind"] != "none"
        pair = (
            {"ga": ga.name, "gald": info["model_name"]}
            if is_gald
            else {"ga": info["model_name"], "gald": gald.name}
        )
        per_image["open"] = [
            "compare?" + urlencode({"image": name, **pair, "threshold": px}) for name in per_image["image"]
        ]
        st.dataframe(
            per_image,
            column_order=[
                "image",
                "height",
                "width",
                "miou",
                *(c for c in per_image if c.startswith("F@")),
                "open",
            ],
            column_config={
                "open": st.column_config.LinkColumn("Compare", display_text="open ↗"),
                "miou": st.column_config.NumberColumn("mIoU", format="%.3f"),
                **{
                    c: st.column_config.NumberColumn(c, format="%.3f")
                    for c in per_image.columns
                    if c.startswith("F@")
                },
            },
            hide_index=True,
            width="stretch",
            key="bf.per_image",
        )
        st.caption(
            f"Sorted by boundary F at {info['radii_px'][t_index]} px ({column[2:]} of the diagonal), "
            "worst first; per image, IoU and F are averaged over the classes present in GT or prediction. "
            f"Links open the image on the Compare page with {pair['ga']} (GA) and {pair['gald']} (GALD) "
            "in a new tab."
        )
        if is_routed():
            pick_col, go_col = st.columns([3, 1])
            picked = pick_col.selectbox("Open here", list(per_image["image"]), key="bf.open_image")
            go_col.button(
                "Open on Compare",
                key="bf.open",
                on_click=_open_on_compare,
                kwargs={"image": picked, **pair, "threshold": px},
            )
else:
    st.caption("Choose a stored run to list its images.")

# -- F against tolerance -------------------------------------------------------------------------------
st.subheader("Boundary F against tolerance (1–20 px)")
curves = {}
for loaded, (name, (pred, _)) in zip((ga, gald), live.items(), strict=False):
    # Keyed by the checkpoint (hash and file stamp), not the display label: a rewritten file is rescored.
    curves[f"{name} (live, this image)"] = cache.tolerance_curve(
        loaded.key, settings.image_key, pred, sample.label
    )
for run_id in chosen_runs:
    try:
        tol = store.f_vs_tolerance(run_id)
    except StoreError as err:
        st.warning(f"{err}. No curve for run {run_id[:8]}.")
        continue
    if not tol.empty:
        curves[f"{runs.set_index('run_id').loc[run_id, 'model_name']} (run {run_id[:8]})"] = (
            tol["radius_px"].tolist(),
            tol["mean"].tolist(),
        )
if curves:
    st.plotly_chart(f_vs_tolerance(curves, marks=(3, 5, 9, 12)), key="bf.curve")
    curve_caption = (
        "Boundary F (G-SCNN) with fixed pixel radii, mean over the 19 classes of the per-class mean over "
        f"images (absent from both = 1); GT {IGNORE_INDEX} ignored. Dotted: Table V's 3/5/9/12 px."
    )
    st.caption(curve_caption)
    export_buttons(
        "bf.export_curve", lambda: pf.tolerance_curves(curves, caption=curve_caption), "f_vs_tolerance"
    )

# -- evaluation job -------------------------------------------------------------------------------------
st.subheader("Evaluate the current data")
if settings.data_spec is None:
    st.info("Evaluation jobs read a data source; an uploaded image has none. Its live rows are above.")
else:
    n_col, button_col = st.columns([2, 1])
    n_images = n_col.number_input("Images (the first N of the source)", 1, 20, 3, key="bf.job_images")
    st.caption(
        f"Runs `{ga.name}` and `{gald.name}` on `{settings.data_spec}` into `{db_path}`; longer runs belong "
        f"to `python -m gald_viz.evaluate model --model NAME --data {settings.data_spec} --limit N`."
    )
    if button_col.button("Run evaluation", key="bf.run_job", type="primary"):
        bar = st.progress(0.0, text="starting…")
        try:
            for i, loaded in enumerate((ga, gald)):

                def report(
                    done: int, total: int, name: str | None, i: int = i, model: str = loaded.name
                ) -> None:
                    frac = (i + done / max(total, 1)) / 2
                    bar.progress(
                        frac, text=f"{model}: {done}/{total} images" + (f" ({name})" if name else "")
                    )

                run_job(
                    loaded.name,
                    settings.data_spec,
                    limit=int(n_images),
                    device=settings.device,
                    db=db_path,
                    progress=report,
                )
            bar.progress(1.0, text="done")
            cache.results_store.clear()
            st.rerun()
        except ValueError as err:
            st.error(f"Evaluation failed: {err}")
    if store_failed:
        st.caption("Some stored rows could not be read; the table shows what could.")
