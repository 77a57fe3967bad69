"""Boundary F-scores: Table V from the results store beside the paper's rows, per image, per tolerance."""

import streamlit as st

from gald_viz.store import DEFAULT_DB
from gald_viz.ui import cache
from gald_viz.ui.page import page_setup
from gald_viz.ui.per_image import per_image_ui
from gald_viz.ui.widgets import export_buttons, threshold_ui
from gald_viz.views import boundary_f as view
from gald_viz.views.boundary_images import paired_images

JOB_DONE = "bf.job_done"

settings = page_setup("boundary")
sample, ga, gald, label_set = settings.sample, settings.ga, settings.gald, settings.label_set
class_names = list(label_set.class_names)
h, w = sample.image.shape[:2]

st.title("Boundary F-scores")
st.caption(view.caption(label_set))
db_path = st.text_input("Results database", value=str(DEFAULT_DB), key="bf.db")
stored = view.stored_runs(db_path, cache.results_store)
for show, message in ((st.info, stored.info), (st.warning, stored.warning)):
    if message:
        show(message)
ids = stored.run_ids
done = st.session_state.pop(JOB_DONE, None)
if done:
    st.success(done[0])
    st.session_state[stored.widget_key] = [r for r in done[1] if r in ids]
first = None if stored.widget_key in st.session_state else ids[:2]
chosen = st.multiselect(
    "Stored runs", ids, default=first, format_func=stored.label, key=stored.widget_key, disabled=not ids
)

models = {f"GA: {ga.name}": ga, f"GALD: {gald.name}": gald} if sample.label is not None else {}
preds = {n: cache.analysis(settings.key(m), m, sample.image).pred for n, m in models.items()}
live = {n: cache.scores(settings.key(models[n]), p, sample.label, label_set) for n, p in preds.items()}
if sample.label is None:
    st.info(f"`{sample.name}` has no ground truth: no live rows.")
table = view.table(stored.store, chosen, live, view.live_source(sample.name, h, w), (h, w), label_set)
for message in table.warnings:
    st.warning(message)

tol_col, filter_col, sort_col, order_col = st.columns([2, 3, 1, 1])
tolerance = tol_col.selectbox("Tolerance", view.TOLERANCES, format_func=view.tolerance_text, key="bf.tol")
classes = filter_col.multiselect("Classes", class_names, default=class_names, key=view.classes_key(label_set))
sort_by = sort_col.selectbox("Sort rows by", ["(table order)", "mean", *classes], key="bf.sort")
descending = order_col.toggle("Descending", value=True, key="bf.descending")
shown = table.shown(classes, sort_by, descending, tolerance)
style = shown.style.format("{:.1f}", na_rep="—")
mean_config = {"mean": st.column_config.NumberColumn("mean", pinned=True)}
st.dataframe(
    style, width="stretch", height=view.table_height(len(shown)), column_config=mean_config, key="bf.table"
)
for line in [table.sort_text(sort_by, descending, tolerance), *table.conventions, view.IGNORE_CAPTION]:
    st.caption(line)
groups = table.groups(shown)
export_rows = st.multiselect("Rows to export", groups, default=groups, format_func=" · ".join, key="bf.rows")
csv_col, tex_col, _ = st.columns([1, 1, 3])
csv, tex = table.csv(shown, export_rows), table.latex(shown, export_rows)
csv_col.download_button("CSV", csv, "table_v.csv", "text/csv", key="bf.csv", on_click="ignore")
tex_col.download_button("LaTeX", tex, "table_v.tex", "text/x-tex", key="bf.latex", on_click="ignore")

st.subheader("Difference between two models")
diff = view.difference(table)
if diff is not None:
    a_col, b_col = st.columns(2)
    a = a_col.selectbox("A", diff.groups, index=diff.a_index, format_func=" · ".join, key="bf.diff_a")
    b = b_col.selectbox("B", diff.groups, index=diff.b_index, format_func=" · ".join, key="bf.diff_b")
    delta = table.delta(a, b, shown.columns).style.format("{:+.1f}", na_rep="—")
    scale = {"cmap": "RdYlGn", "vmin": -view.DIFFERENCE_SCALE, "vmax": view.DIFFERENCE_SCALE}
    st.dataframe(delta.background_gradient(**scale), width="stretch", key="bf.delta")
    st.caption(view.DIFFERENCE_CAPTION)

st.subheader("Per image: two runs side by side")
px = threshold_ui("bf")
if chosen and stored.store is not None:
    pair = st.multiselect(
        "Runs (two)", chosen, default=chosen[:2], max_selections=2, format_func=stored.label, key="bf.pair"
    )
    rows = paired_images(stored.store, pair, px, ga.name, gald.name)
    per_image_ui(rows, settings)
else:
    st.caption("Choose stored runs to list their images.")

st.subheader("Boundary F against tolerance (1–20 px)")
k = label_set.num_classes
live_curves = {
    n: cache.tolerance_curve(settings.key(models[n]), p, sample.label, k) for n, p in preds.items()
}
curves = view.curves(stored, chosen, live_curves, label_set)
for message in curves.warnings:
    st.warning(message)
if curves.curves:
    st.plotly_chart(curves.figure(), key="bf.curve")
    st.caption(curves.caption)
    export_buttons("bf.export_curve", curves.paper_figure, "f_vs_tolerance")

st.subheader("Evaluate the current data")
if settings.data_spec is None:
    st.info("Evaluation jobs read a data source; an uploaded image has none. Its live rows are above.")
else:
    n_col, button_col = st.columns([2, 1])
    n_images = n_col.number_input("Images (the first N of the source)", 1, 20, 3, key="bf.job_images")
    st.caption(view.job_caption(ga.name, gald.name, settings.data_spec, db_path))
    if button_col.button("Run evaluation", key="bf.run_job", type="primary"):
        bar = st.progress(0.0, text="starting…")
        try:
            report = lambda frac, text: bar.progress(frac, text=text)  # noqa: E731
            job = {"limit": int(n_images), "device": settings.device, "db": db_path, "progress": report}
            job["label_set"] = label_set
            new_ids = view.evaluate((ga.name, gald.name), settings.data_spec, **job)
            cache.results_store.clear()
            after = view.stored_runs(db_path, cache.results_store)
            st.session_state[JOB_DONE] = (view.job_done(after, (ga.name, gald.name), new_ids), new_ids)
            st.rerun()
        except ValueError as err:
            st.error(f"Evaluation failed: {err}")
    if table.warnings:
        st.caption("Some stored rows could not be read; the table shows what could.")
