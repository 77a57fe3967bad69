"""The cached inputs of each page's view: analyses, error maps, scores and panels, through one key each.

Pages call these instead of threading checkpoint and image keys to :mod:`gald_viz.ui.cache` by hand:
every cached result is keyed by :meth:`gald_viz.ui.sidebar.Settings.key` (the image, the models'
checkpoint keys, the settings that change it).
"""

import numpy as np
import streamlit as st

from gald_viz.analysis import Analysis
from gald_viz.mechanisms.reach import Reach
from gald_viz.mechanisms.report import mechanism_report, ranked_images
from gald_viz.metrics import runs as run_tables
from gald_viz.metrics.conventions import threshold_label
from gald_viz.pairing import PairReport, describe_pair
from gald_viz.train.validate import recorded_scores
from gald_viz.ui import cache
from gald_viz.ui.sidebar import Settings
from gald_viz.views import compare, mechanisms
from gald_viz.views.inspector import Choices
from gald_viz.views.inspector_probes import KnockoutPart, ReachPart, knockout_part, reach_part
from gald_viz.views.parts import display_hw
from gald_viz.viz.compare import ImageScores
from gald_viz.viz.inspector import StaticPanels


def analysis(settings: Settings, loaded: cache.LoadedModel) -> Analysis:
    """The model's analysis of the current image (one forward per checkpoint and image)."""
    return cache.analysis(settings.key(loaded), loaded, settings.sample.image)


def compare_inputs(settings: Settings) -> compare.CompareInputs:
    """Both models' analyses of the current image and, with GT, their error maps and scores."""
    sample, ga, gald, ls = settings.sample, settings.ga, settings.gald, settings.label_set
    ga_an, gald_an = analysis(settings, ga), analysis(settings, gald)
    errors = scores = None
    if sample.label is not None:
        hw = display_hw(sample.image)
        errors = cache.errors(
            settings.key(ga, gald, opacity=settings.opacity, display_hw=hw),
            sample.image,
            sample.label,
            ga_an.pred,
            gald_an.pred,
            ls,
        )
        scores = (
            cache.scores(settings.key(ga), ga_an.pred, sample.label, ls),
            cache.scores(settings.key(gald), gald_an.pred, sample.label, ls),
        )
    return compare.CompareInputs(
        sample=sample,
        source_text=settings.source_text,
        ga_name=ga.name,
        gald_name=gald.name,
        gald_ld_kind=gald.model.ld_kind,
        opacity=settings.opacity,
        ga=ga_an,
        gald=gald_an,
        errors=errors,
        scores=scores,
        pair=describe_pair(ga.model, gald.model),
        stage_scores=recorded_scores(gald.model.checkpoint_info.get("metadata", {})),
        label_set=ls,
    )


def inspector_panels(
    settings: Settings, loaded: cache.LoadedModel, an: Analysis, choices: Choices
) -> StaticPanels:
    """The Local distribution page's whole-image panels of one model for the chosen view."""
    sample = settings.sample
    entropy = share = None
    if an.affinity is not None:
        entropy, share = cache.affinity_maps(settings.key(loaded), an, sample.label)
    return cache.inspector_panels(
        settings.key(loaded, **choices.panel_settings(sample.image, settings.opacity)),
        an,
        sample,
        an.ga_features if choices.wants_features else None,
        entropy,
        share,
        settings.label_set,
    )


def reach(settings: Settings, loaded: cache.LoadedModel, xy: tuple[int, int], class_id: int) -> Reach:
    """Context reach of ``loaded`` at native pixel ``xy`` for class ``class_id`` (cached per pixel)."""
    key = settings.key(loaded, xy=(int(xy[0]), int(xy[1])), class_id=int(class_id))
    return cache.reach(key, loaded, settings.sample.image)


def knockout(
    settings: Settings, loaded: cache.LoadedModel, an: Analysis, name: str
) -> tuple[np.ndarray, tuple[ImageScores, ImageScores] | None]:
    """The knocked-out prediction of ``loaded`` on the current image and, with GT, (intact, knocked) scores.

    One :class:`~gald_viz.ui.cache.CacheKey` holds the model, the image and the knock-out name.
    """
    key = settings.key(loaded, knockout=name)
    pred = cache.knockout_pred(key, loaded, settings.sample.image)
    label, ls = settings.sample.label, settings.label_set
    if label is None:
        return pred, None
    return pred, (cache.scores(settings.key(loaded), an.pred, label, ls), cache.scores(key, pred, label, ls))


def knockout_view(settings: Settings, loaded: cache.LoadedModel, an: Analysis, name: str) -> KnockoutPart:
    """The inspector's knock-out section for ``loaded`` on the current image."""
    pred, scores = knockout(settings, loaded, an, name)
    return knockout_part(
        an,
        settings.sample,
        name,
        pred,
        scores,
        model_name=loaded.name,
        opacity=settings.opacity,
        label_set=settings.label_set,
    )


def reach_view(settings: Settings, xy: tuple[int, int]) -> ReachPart:
    """The inspector's context-reach section: both models at native pixel ``xy``, each for its prediction."""
    roles = {"GA": settings.ga, "GALD": settings.gald}
    analyses = {role: analysis(settings, m) for role, m in roles.items()}
    reaches = {
        role: reach(settings, m, xy, int(analyses[role].pred[xy[1], xy[0]])) for role, m in roles.items()
    }
    return reach_part(
        reaches,
        {role: m.name for role, m in roles.items()},
        settings.sample.image.shape[:2],
        {role: a.input_size for role, a in analyses.items()},
        settings.label_set,
    )


def pair_report(settings: Settings) -> PairReport:
    """What differs between the sidebar's GA and GALD models (shown on Compare and the inspector)."""
    return describe_pair(settings.ga.model, settings.gald.model)


@st.cache_data(max_entries=8, show_spinner="Computing mechanism statistics and bootstrap intervals…")
def _mechanism_report(
    db_path: str, ga_run: str, gald_run: str, bootstrap: int, seed: int, stamp: tuple, _store
) -> dict:
    """The report of a run pair, once per database, pair, bootstrap setting and images stored (``stamp``)."""
    return mechanism_report(_store, ga_run, gald_run, bootstrap=bootstrap, seed=seed)


def mechanism_report_for(
    db_path: str, store, ga_run: str, gald_run: str, *, bootstrap: int, seed: int
) -> mechanisms.Inputs:
    """The Mechanisms page's inputs: the report of a stored GA/GALD run pair and its ranking.

    Raises:
        ValueError: the report module is missing from this build, or the runs cannot give a report
            (``StoreError`` and the report's own errors name the run and the problem).
    """
    ga, gald = store.run(ga_run), store.run(gald_run)
    stamp = (int(ga["n_done"]), int(gald["n_done"]), ga["status"], gald["status"])
    report = _mechanism_report(db_path, ga_run, gald_run, int(bootstrap), int(seed), stamp, store)
    done = set(store.images(ga_run)["image"])
    images = [n for n in store.images(gald_run)["image"] if n in done]
    radii = gald["radii_px"]
    return mechanisms.Inputs(
        report=report,
        rank=lambda band, class_id: ranked_images(store, ga_run, gald_run, band=band, class_id=class_id),
        images=images,
        bootstrap=int(bootstrap),
        seed=int(seed),
        thresholds=[threshold_label(t, r) for t, r in zip(gald["thresholds"], radii, strict=True)],
        boundary_f={
            role: mechanisms.per_class_f(run_tables.table_v(store, run), report["classes"])
            for role, run in (("ga", ga_run), ("gald", gald_run))
        },
        models={"ga": mechanisms.open_name(ga), "gald": mechanisms.open_name(gald)},
    )
