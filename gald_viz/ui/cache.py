"""Streamlit caches of the app's expensive objects: models, data sources, images and analyses.

Models are shared by every browser session (``st.cache_resource``), one per checkpoint and device, with
a lock beside each so two sessions never run the same module at once (hooks and BatchNorm buffers are
per module). Per-(model, image) analyses are ``st.cache_data``: compact numpy arrays that each caller
gets a copy of, so a click on the Local distribution page never runs a network again.

Every ``st.cache_data`` function here takes one :class:`CacheKey` (the image, the models' checkpoint
keys and the view settings that change the result) and unhashed inputs with a leading underscore. A
model enters a key only as :class:`ModelKey`, which holds the checkpoint's hash and file stamp, so a
checkpoint rewritten at the same path never meets a stale result.
"""

import hashlib
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from gald_viz.analysis import Analysis, affinity_entropy_map, analyse, model_lock, same_class_share_map
from gald_viz.checkpoints import load_model
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.data.sample import Sample
from gald_viz.interventions import intervene
from gald_viz.mechanisms.reach import Reach, context_reach
from gald_viz.store import ResultsStore
from gald_viz.views.boundary_f import live_curve
from gald_viz.viz.compare import ErrorViews, ImageScores, error_views, image_scores
from gald_viz.viz.inspector import StaticPanels, static_panels

MAX_MODELS = 8
MAX_ANALYSES = 24


@dataclass(frozen=True)
class ModelKey:
    """A loaded checkpoint as cache keys see it.

    Attributes:
        name: what the user picked (bundled name or checkpoint path).
        device: where the model runs ("cpu", "cuda").
        stamp: the file's path and modification time (:func:`path_key`; "" for bundled models).
        sha256: the checkpoint's digest (of ``name`` when the file records none).
    """

    name: str
    device: str
    stamp: str
    sha256: str


@dataclass(frozen=True)
class CacheKey:
    """Everything one cached result depends on.

    Attributes:
        image: the image's key (:func:`image_key`, or an upload's :func:`bytes_key`).
        models: the checkpoint keys of the models involved, in role order (GA before GALD).
        settings: sorted (name, value) pairs of the view settings that change the result.
    """

    image: str
    models: tuple[ModelKey, ...]
    settings: tuple[tuple[str, object], ...] = ()

    def setting(self, name: str):
        """The value of one view setting of the key."""
        return dict(self.settings)[name]


@dataclass(eq=False)
class LoadedModel:
    """A model in eval mode with the lock its forward passes run under.

    Attributes:
        key: the checkpoint's identity in cache keys (name, device, file stamp, hash).
        name: what the user picked (bundled name or path), for display.
        model: the network.
        device: where it lives ("cpu", "cuda").
        lock: held around every forward pass (the model is shared by all sessions). It is the lock
            :func:`gald_viz.analysis.analyse` takes itself, so library and app never race.
    """

    key: ModelKey
    name: str
    model: torch.nn.Module
    device: str
    lock: AbstractContextManager


def result_key(image: str, *models: LoadedModel, **settings) -> CacheKey:
    """The key of a result on image ``image`` from ``models`` under the view ``settings``."""
    return CacheKey(
        image=image, models=tuple(m.key for m in models), settings=tuple(sorted(settings.items()))
    )


@st.cache_resource(max_entries=MAX_MODELS, show_spinner="Loading the model…")
def loaded_model(name_or_path: str, device: str, stamp: str = "") -> LoadedModel:
    """Load a bundled model or checkpoint file once per (checkpoint, device) for the whole server.

    ``stamp`` (a checkpoint file's modification time) is only part of the cache key, so a file
    rewritten by a training run is loaded again. Any number of classes loads: the sidebar checks the
    model against the label set in use (:func:`gald_viz.checkpoints.check_labels`).

    Raises:
        CheckpointError: the file is missing or is not a checkpoint this project can load.
    """
    model = load_model(name_or_path, device=device, num_classes=None)
    info = model.checkpoint_info
    digest = info.get("sha256") or hashlib.sha256(name_or_path.encode()).hexdigest()
    return LoadedModel(
        key=ModelKey(name=name_or_path, device=device, stamp=stamp, sha256=digest),
        name=name_or_path,
        model=model,
        device=device,
        lock=model_lock(model),
    )


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Running the network…")
def analysis(key: CacheKey, _loaded: LoadedModel, _image: np.ndarray) -> Analysis:
    """Prediction, confidence and every tap of one model on one image, computed once.

    The arguments with a leading underscore are not hashed: ``key`` (image and model) names them.
    ``analyse`` runs its forward under ``_loaded.lock``.
    """
    return analyse(_loaded.model, _image, device=_loaded.device)


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Computing affinity maps…")
def affinity_maps(
    key: CacheKey, _analysis: Analysis, _label: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Whole-image LDv2 maps at feature resolution: entropy, and same-GT-class share (None without GT)."""
    entropy = affinity_entropy_map(_analysis)
    share = same_class_share_map(_analysis, _label) if _label is not None else None
    return entropy, share


def image_key(source_description: str, name: str) -> str:
    """The cache key of an image: its source's provenance text and its name."""
    return f"{source_description}/{name}"


def bytes_key(data: bytes) -> str:
    """A cache key for uploaded bytes (their SHA-1)."""
    return hashlib.sha1(data).hexdigest()


def path_key(path: str) -> str:
    """A path with its modification time, so a rewritten file is read again."""
    p = Path(path).expanduser()
    try:
        return f"{p.resolve()}@{p.stat().st_mtime_ns}"
    except OSError:
        return str(p)


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Reading the image…")
def sample(source_key: str, index: int, _source) -> Sample:
    """Sample ``index`` of a source (image and label map), read or generated once per source key."""
    return _source[index]


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Scoring the prediction…")
def scores(
    key: CacheKey, _pred: np.ndarray, _gt: np.ndarray, _label_set: LabelSet = CITYSCAPES
) -> ImageScores:
    """mIoU and boundary F at Table V's thresholds of one model's prediction on one image.

    ``key`` holds the image (whose key names a label set other than Cityscapes) and the model that
    predicted ``_pred``.
    """
    return image_scores(_pred, _gt, label_set=_label_set)


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Drawing error maps…")
def errors(
    key: CacheKey,
    _image: np.ndarray,
    _gt: np.ndarray,
    _ga_pred: np.ndarray,
    _gald_pred: np.ndarray,
    _label_set: LabelSet = CITYSCAPES,
) -> ErrorViews:
    """Error maps of both models and their four-way map, at display size (counts exact).

    ``key`` holds the GA and GALD models and the settings ``opacity`` and ``display_hw``.
    """
    return error_views(
        _image,
        _gt,
        _ga_pred,
        _gald_pred,
        opacity=key.setting("opacity"),
        display_hw=key.setting("display_hw"),
        label_set=_label_set,
    )


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Drawing feature maps…")
def inspector_panels(
    key: CacheKey,
    _analysis: Analysis,
    _sample: Sample,
    _ga_features: np.ndarray | None,
    _entropy: np.ndarray | None,
    _share: np.ndarray | None,
    _label_set: LabelSet = CITYSCAPES,
) -> StaticPanels:
    """The Local distribution page's whole-image pictures, coloured once per (model, image, settings).

    ``key.settings`` are the view settings of :func:`gald_viz.viz.inspector.static_panels`
    (display_hw, background, opacity, ga_view, ga_channel, mask_channel).
    """
    return static_panels(
        _analysis,
        _sample.image,
        _sample.label,
        ga_features=_ga_features,
        entropy=_entropy,
        share=_share,
        label_set=_label_set,
        **dict(key.settings),
    )


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Computing F against tolerance…")
def tolerance_curve(
    key: CacheKey, _pred: np.ndarray, _gt: np.ndarray, _num_classes: int = CITYSCAPES.num_classes
) -> tuple[list[int], list[float]]:
    """Boundary F at 1-20 px on one image, mean over all classes (Table V's reduction on one image).

    ``key`` holds the image and the model that predicted ``_pred`` (its class count is the model's).
    """
    return live_curve(_pred, _gt, _num_classes)


@st.cache_resource(max_entries=4, show_spinner=False, ttl=60)
def results_store(path: str) -> ResultsStore:
    """One read-only connection per results database, shared by sessions (the store is thread-safe).

    Re-opened every minute, so a database that appears or is repaired while the app runs is picked up.

    Raises:
        StoreError: the file is missing, locked, corrupt or not a results database.
    """
    return ResultsStore(path, read_only=True, timeout=2.0)


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Differentiating the pixel's logit…")
def reach(key: CacheKey, _loaded: LoadedModel, _image: np.ndarray) -> Reach:
    """Context reach of one model at one pixel (one forward and backward, under the model's lock).

    ``key`` holds the image, the model and the settings ``xy`` (native pixel) and ``class_id``.
    """
    return context_reach(_loaded.model, _image, key.setting("xy"), class_id=key.setting("class_id"))


@st.cache_data(max_entries=MAX_ANALYSES, show_spinner="Running the knock-out…")
def knockout_pred(key: CacheKey, _loaded: LoadedModel, _image: np.ndarray) -> np.ndarray:
    """The native prediction of one model on one image under the knock-out ``key.setting("knockout")``.

    One whole-image forward under :func:`gald_viz.interventions.intervene` (the cached analysis keeps
    channel means, not the full features, so nothing cached can stand in for the knocked-out path).
    """
    with intervene(_loaded.model, key.setting("knockout")):
        return analyse(_loaded.model, _image, device=_loaded.device).pred
