"""Mechanisms: what GA and LD do over a stored data set, with bootstrap intervals, knock-outs and links."""

from functools import partial

import streamlit as st

from gald_viz.metrics.conventions import threshold_index
from gald_viz.store import DEFAULT_DB
from gald_viz.ui import cache, compute
from gald_viz.ui.page import page_setup
from gald_viz.ui.widgets import export_ui, threshold_ui, view_link
from gald_viz.views import mechanisms as view
from gald_viz.views.boundary_f import stored_runs
from gald_viz.viz.mechanism_figures import NOT_ESTABLISHED

# Session keys (not widgets): the clicked band or class (a gald_viz.views.mechanisms.Selection) of any figure.
SELECTED = "mech.selected"
SELECTED_FROM = "mech.selected_from"
TARGETS = {"Compare": "compare", "Inspector": "local"}
PLOTLY_CONFIG = {"displaylogo": False}

settings = page_setup("mechanisms")


def _select(key: str, kind: str, labels: list[str]) -> None:
    points = st.session_state[key]["selection"]["points"]
    st.session_state[SELECTED] = view.selection_from_points(points, kind, labels)
    st.session_state[SELECTED_FROM] = key


def _pp(frame):
    return frame.style.format("{:+.2f}", subset=view.PP_COLUMNS, na_rep="—")


def _show(v: view.MechanismsView) -> None:
    st.caption(v.provenance)
    st.subheader("GALD minus GA, with 95% intervals")
    st.dataframe(_pp(v.differences), hide_index=True, width="stretch", key="mech.differences")
    st.caption(f"Percentage points; '{NOT_ESTABLISHED}': the interval contains 0.")
    for s in v.sections:
        st.subheader(s.title)
        if s.absent:
            st.info(s.absent)
            continue
        key = f"mech.fig.{s.id}"
        labels = v.bands if s.kind == "band" else v.classes
        on_select = partial(_select, key, s.kind, labels)
        st.plotly_chart(s.figure, key=key, on_select=on_select, selection_mode="points", config=PLOTLY_CONFIG)
        export_ui("mech", s.export)
        if st.session_state.get(SELECTED_FROM) == key:
            _ranked(v)  # under the figure that was clicked
    st.subheader("Knock-outs (knocked-out minus intact)")
    if v.knockouts is None:
        st.info(v.knockouts_absent)
    else:
        st.dataframe(_pp(v.knockouts), hide_index=True, width="stretch", key="mech.knockouts")
        st.caption(f"Percentage points; '{NOT_ESTABLISHED}': the interval contains 0.")


def _ranked(v: view.MechanismsView) -> None:
    st.subheader("Images ranked by GALD's gain or loss")
    order = st.segmented_control("Rank by", ["gain", "loss"], default="gain", required=True, key="mech.order")
    ranked = v.ranked(st.session_state.get(SELECTED), order or "gain")
    if ranked.empty:
        st.info(ranked.empty)
        return
    st.markdown(f"**{ranked.title}** (GALD minus GA, percentage points)")
    for _, row in ranked.frame.iterrows():
        name_col, gain_col, *link_cols = st.columns([4, 1, 1, 1])
        name_col.markdown(f"`{row['image']}`")
        gain_col.markdown(f"{row['gain (pp)']:+.2f} pp")
        for col, (label, page) in zip(link_cols, TARGETS.items(), strict=True):
            view_link(col, page, label, settings, **ranked.open_view(row["image"]))


st.title("Mechanisms")
st.caption(view.CAPTION)
db_path = st.text_input("Results database", value=str(DEFAULT_DB), key="mech.db")
stored = stored_runs(db_path, cache.results_store)
message = view.store_message(stored, db_path)
if message:
    (st.info if message[0] == "info" else st.warning)(message[1])
choices = view.run_choices(stored.runs)
inputs = None
if choices.ga:
    ga_col, gald_col, boot_col, seed_col = st.columns([3, 3, 1, 1])
    ga_run = ga_col.selectbox("GA run", choices.ga, format_func=stored.label, key="mech.ga_run")
    gald_run = gald_col.selectbox(
        "GALD run (same data)", choices.gald(ga_run), format_func=stored.label, key="mech.gald_run"
    )
    bootstrap = boot_col.number_input("Bootstrap resamples", 100, 20000, 2000, step=100, key="mech.bootstrap")
    seed = seed_col.number_input("Bootstrap seed", 0, 2**31 - 1, 0, key="mech.seed")
    try:
        job = {"bootstrap": int(bootstrap), "seed": int(seed)}
        inputs = compute.mechanism_report_for(db_path, stored.store, ga_run, gald_run, **job)
    except ValueError as err:
        st.warning(str(err))
    note = view.data_note(stored.runs, gald_run, settings.data_spec)
    if note:
        st.caption(note)
if inputs is not None:
    mech = view.mechanisms_view(inputs, threshold=threshold_index(threshold_ui("mech")))
    _show(mech)
    if st.session_state.get(SELECTED_FROM) not in {f"mech.fig.{s.id}" for s in mech.sections if s.figure}:
        _ranked(mech)
