"""The cached inputs of each page's view: analyses, error maps, scores and panels, through one key each.

Pages call these instead of threading checkpoint and image keys to :mod:`gald_viz.ui.cache` by hand:
every cached result is keyed by :meth:`gald_viz.ui.sidebar.Settings.key` (the image, the models'
checkpoint keys, the settings that change it).
"""

from gald_viz.analysis import Analysis
from gald_viz.pairing import describe_pair
from gald_viz.ui import cache
from gald_viz.ui.sidebar import Settings
from gald_viz.views import compare
from gald_viz.views.inspector import Choices
from gald_viz.views.parts import display_hw
from gald_viz.viz.inspector import StaticPanels


def analysis(settings: Settings, loaded: cache.LoadedModel) -> Analysis:
    """The model's analysis of the current image (one forward per checkpoint and image)."""
    return cache.analysis(settings.key(loaded), loaded, settings.sample.image)


def compare_inputs(settings: Settings) -> compare.CompareInputs:
    """Both models' analyses of the current image and, with GT, their error maps and scores."""
    sample, ga, gald = settings.sample, settings.ga, settings.gald
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
        )
        scores = (
            cache.scores(settings.key(ga), ga_an.pred, sample.label),
            cache.scores(settings.key(gald), gald_an.pred, sample.label),
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
    )
