"""Session state of the app: one guarded set of defaults, and the URL (query parameters) that mirrors it.

Widget keys carry their page's prefix (``sb.`` sidebar, ``cmp.`` Compare, ``ld.`` Local distribution,
``bf.`` Boundary F-scores), so pages never collide. Everything that selects the view a researcher is
looking at lives in ``st.query_params`` (:data:`URL_PARAMS`): the page, the data source with its spec
(``data=synthcity:val:count=20``, ``cityscapes:val:ROOT``, ``folders:IMAGES,LABELS``, ``upload``), the
image, both models, the clicked pixel, the boundary tolerance, the label set file (``labels=``, only
when it is not Cityscapes) and, on Local distribution, the inspected model and the feature view. A
copied URL reopens that view (:func:`init_session`, on the session's first run), and so does a link
inside the app that jumps to another page (:func:`follow_link`, on arrival).

URL values are untrusted: each is checked (type, range, paths confined to the app's roots by
:mod:`gald_viz.roots`), and whatever a link asks for that cannot be honoured is listed by
:func:`link_problems`, which the page shows as a warning, instead of silently opening another view.
"""

import os
from dataclasses import dataclass

import streamlit as st

from gald_viz.checkpoints import default_pair, list_bundled
from gald_viz.data.spec import CityscapesSpec, FolderSpec, SourceError, SynthCitySpec, parse_spec
from gald_viz.metrics.conventions import PAPER_RADII_PX
from gald_viz.roots import PathNotAllowedError, confine
from gald_viz.views.pages import PAGES
from gald_viz.viz.features import FEATURE_VIEWS

DEFAULT_GA_MODEL, DEFAULT_GALD_MODEL, DEFAULT_PAIR_REASON = default_pair()
OTHER_CHECKPOINT = "checkpoint file…"
"""The model-picker entry that reveals a path field for any checkpoint file."""

DEFAULT_SYNTHCITY_COUNT = 20
SOURCES = ("SynthCity (built in)", "Cityscapes folder", "Folder of images + labels", "Upload an image")
THRESHOLDS_PX = PAPER_RADII_PX
"""Table V's boundary tolerances at 1024×2048 (diagonal fractions 0.00088/0.001875/0.00375/0.005)."""

# Keys that are not widgets: they survive page switches, and the URL is written from them.
PIXEL = "gv.pixel"
LAST_CLICK = "gv.last_click"
THRESHOLD = "gv.threshold"
"""Boundary tolerance in px (one of :data:`THRESHOLDS_PX`), shared by the Compare and Boundary pages."""
_READY = "gv.ready"
_PROBLEMS = "gv.link_problems"
_WANTED = "gv.link_wanted"
_LAST_PAGE = "gv.last_page"

INSPECT = {"gald": "GALD model", "ga": "GA model"}
"""``inspect=`` values → the Local distribution page's "Inspect" choice (widget ``ld.which``)."""
FEATURE_KEY = "ld.ga_view"
INSPECT_KEY = "ld.which"
URL_PARAMS = ("page", "data", "image", "ga", "gald", "x", "y", "threshold", "inspect", "features", "labels")
"""Every query parameter the app reads and writes."""
PAGE_IDS = tuple(p.id for p in PAGES)
SYNTHCITY_COUNT_RANGE = (1, 500)
"""The sidebar's range of SynthCity image counts (``count=`` outside it cannot be restored)."""
MAX_PIXEL = 1 << 16
MAX_TEXT = 4096


def defaults() -> dict[str, object]:
    """The session's starting values (before the URL is applied)."""
    return {
        "sb.source": SOURCES[0],
        "sb.synthcity_count": DEFAULT_SYNTHCITY_COUNT,
        "sb.cityscapes_root": os.environ.get("CITYSCAPES_DATASET", ""),
        "sb.images_dir": "",
        "sb.labels_dir": "",
        "sb.label_encoding": "auto",
        "sb.labels": "",
        "sb.ga_model": DEFAULT_GA_MODEL,
        "sb.gald_model": DEFAULT_GALD_MODEL,
        "sb.ga_path": "",
        "sb.gald_path": "",
        "sb.device": "auto",
        "sb.opacity": 0.5,
        THRESHOLD: THRESHOLDS_PX[0],
        PIXEL: None,
        LAST_CLICK: None,
    }


def init_session() -> bool:
    """Set missing defaults, and on the session's first call let the URL override the view it names.

    Later calls only restore missing defaults, so pages can call it whether or not the router did.

    Returns:
        True on the session's first call (the one that read the URL).
    """
    for key, value in defaults().items():
        # Every run: a value the user never set may have been dropped with its widget (a page run on
        # its own, as AppTest's page switches do, does not draw the router's sidebar).
        st.session_state.setdefault(key, value)
    if st.session_state.get(_READY):
        return False
    _follow(st.query_params.to_dict())
    st.session_state[_READY] = True
    return True


def _follow(params: dict[str, str]) -> None:
    """Let a URL choose the view: its checked values into the session, the rest for the page to say."""
    link = read_link(params)
    for key, value in link.session.items():
        st.session_state[key] = value
    st.session_state[_PROBLEMS] = link.problems
    st.session_state[_WANTED] = link.wanted


def follow_link(page: str) -> None:
    """On arriving at ``page`` from another page of the session, let a URL that names it choose the view.

    A link inside the app (:func:`gald_viz.ui.widgets.view_link`, an ``st.page_link``) navigates with the
    target view's whole query string, so the browser takes the new path and query in one history step,
    and the page reads its view from them here, checked like any URL. The sidebar's page links navigate
    with an empty query and keep the session's view. Call it from the router, before the sidebar is drawn.
    """
    last = st.session_state.get(_LAST_PAGE)
    st.session_state[_LAST_PAGE] = page
    if last is not None and last != page and st.query_params.get("page") == page:
        _follow(st.query_params.to_dict())


@dataclass
class Link:
    """What a URL asks for, checked.

    Attributes:
        session: session keys to set before the widgets are drawn.
        wanted: what can only be checked once the data and models are open (``data``, ``image``,
            ``ga``, ``gald``, ``pixel``).
        problems: one line per value that cannot be honoured (already known from the URL alone).
    """

    session: dict[str, object]
    wanted: dict[str, object]
    problems: list[str]


def _shown(value: str) -> str:
    return repr(value if len(value) <= 120 else value[:120] + "…")


def _data_keys(text: str) -> tuple[dict[str, object], str]:
    """Sidebar keys that select the source ``data=`` names, and its canonical text (ValueError: cannot)."""
    if text == "upload":
        raise ValueError("an uploaded image cannot be reopened from a link; upload it again")
    spec = parse_spec(text)
    if isinstance(spec, SynthCitySpec):
        low, high = SYNTHCITY_COUNT_RANGE
        count = DEFAULT_SYNTHCITY_COUNT if spec.count is None else spec.count
        if spec != SynthCitySpec(count=spec.count) or not low <= count <= high:
            raise ValueError(f"the app shows SynthCity val at 1024×2048, seed 0, {low}–{high} images")
        return {"sb.source": SOURCES[0], "sb.synthcity_count": count}, str(SynthCitySpec(count=count))
    if isinstance(spec, CityscapesSpec):
        if spec.split != "val":
            raise ValueError("the app shows the Cityscapes val split")
        if spec.root:
            confine(spec.root, "Cityscapes root")
        return {"sb.source": SOURCES[1], "sb.cityscapes_root": spec.root or ""}, str(spec)
    if isinstance(spec, FolderSpec):
        confine(spec.images, "Images folder")
        confine(spec.labels, "Labels folder")
        keys = {
            "sb.source": SOURCES[2],
            "sb.images_dir": spec.images,
            "sb.labels_dir": spec.labels,
            "sb.label_encoding": spec.encoding,
        }
        return keys, str(spec)
    raise ValueError("unknown data source")


def _model_keys(role: str, name: str) -> dict[str, object]:
    """Sidebar keys for a model ``ga=``/``gald=`` names: a bundled name, or a checkpoint inside the roots."""
    if name in list_bundled():
        return {f"sb.{role}_model": name}
    confine(name, f"{role.upper()} model checkpoint")
    return {f"sb.{role}_model": OTHER_CHECKPOINT, f"sb.{role}_path": name}


def read_link(params: dict[str, str]) -> Link:
    """Check a URL's query parameters and turn them into session values (no Streamlit calls).

    Unknown parameters are ignored; every value that is malformed, out of range, or a path outside the
    app's roots is left out and named in :attr:`Link.problems`.
    """
    session: dict[str, object] = {}
    wanted: dict[str, object] = {}
    problems: list[str] = []
    params = {k: str(v) for k, v in params.items() if k in URL_PARAMS}
    for key in [k for k, v in params.items() if len(v) > MAX_TEXT or any(ord(c) < 32 for c in v)]:
        problems.append(f"{key}: not a valid value")
        del params[key]

    if "page" in params and params["page"] not in PAGE_IDS:
        problems.append(f"page {_shown(params['page'])}: no such page (pages: {', '.join(PAGE_IDS)})")
    if "data" in params:
        try:
            keys, wanted["data"] = _data_keys(params["data"])
            session |= keys
        except (SourceError, PathNotAllowedError, ValueError) as err:
            problems.append(f"data source {_shown(params['data'])}: {err}")
    if params.get("image"):
        session["sb.image"] = wanted["image"] = params["image"]
    if params.get("labels"):
        try:
            confine(params["labels"], "Label set file")
            session["sb.labels"] = wanted["labels"] = params["labels"]
        except PathNotAllowedError as err:
            problems.append(f"label set: {err}")
    for role in ("ga", "gald"):
        if params.get(role):
            try:
                session |= _model_keys(role, params[role])
                wanted[role] = params[role]
            except PathNotAllowedError as err:
                problems.append(f"{role.upper()} model: {err}")
    if "threshold" in params:
        px = _whole(params["threshold"])
        if px in THRESHOLDS_PX:
            session[THRESHOLD] = px
        else:
            choices = "/".join(map(str, THRESHOLDS_PX))
            problems.append(f"tolerance {_shown(params['threshold'])}: not one of {choices} px")
    if "x" in params or "y" in params:
        x, y = _whole(params.get("x", "")), _whole(params.get("y", ""))
        if x is None or y is None or not (0 <= x < MAX_PIXEL and 0 <= y < MAX_PIXEL):
            problems.append(
                f"pixel x={_shown(params.get('x', ''))}, y={_shown(params.get('y', ''))}: not a pixel"
            )
        else:
            session[PIXEL] = wanted["pixel"] = (x, y)
    if "inspect" in params:
        if params["inspect"] in INSPECT:
            session[INSPECT_KEY] = INSPECT[params["inspect"]]
        else:
            problems.append(f"inspect {_shown(params['inspect'])}: not one of {', '.join(INSPECT)}")
    if "features" in params:
        if params["features"] in FEATURE_VIEWS:
            session[FEATURE_KEY] = params["features"]
        else:
            problems.append(f"features {_shown(params['features'])}: not one of {', '.join(FEATURE_VIEWS)}")
    return Link(session=session, wanted=wanted, problems=problems)


def _whole(value: str) -> int | None:
    """A whole number from a URL (``"12"``), else None (``"1e3"``, ``"-"``, ``"9.5"``)."""
    text = value.strip()
    if not text or not text.lstrip("-").isdigit() or len(text) > 12:
        return None
    return int(text)


def link_problems(
    *, data: str, image: str, names: list[str], ga: str, gald: str, size: tuple[int, int], labels: str = ""
) -> list[str]:
    """What the session's link asked for and the view does not show (once; later calls return ``[]``).

    Args:
        data: the ``data=`` text of the source shown.
        image: the image shown; ``names``: the source's images.
        ga, gald: the models shown (bundled name or path).
        size: (H, W) of the image shown.
        labels: the label set file in use ("" for Cityscapes).
    """
    problems = list(st.session_state.pop(_PROBLEMS, None) or [])
    wanted = st.session_state.pop(_WANTED, None) or {}
    if "data" in wanted and wanted["data"] != data:
        problems.append(f"data source {_shown(wanted['data'])} could not be opened; showing {data}")
    if "labels" in wanted and wanted["labels"] != labels:
        problems.append(
            f"label set {_shown(wanted['labels'])} could not be used; showing the Cityscapes classes"
        )
    if "image" in wanted and wanted["image"] != image:
        where = f"the {len(names)} images of {data}"
        problems.append(f"image {_shown(wanted['image'])} is not among {where}; showing {image}")
    for role, shown in (("ga", ga), ("gald", gald)):
        if role in wanted and wanted[role] != shown:
            problems.append(
                f"{role.upper()} model {_shown(wanted[role])} could not be loaded; showing {shown}"
            )
    if "pixel" in wanted:
        (x, y), (h, w) = wanted["pixel"], size
        if not (x < w and y < h):
            problems.append(f"pixel ({x}, {y}) lies outside the {w}×{h} image; showing the nearest pixel")
    return problems


def view_params(
    page: str,
    *,
    data: str,
    image: str,
    ga: str,
    gald: str,
    labels: str = "",
    threshold: int | None = None,
) -> dict[str, str]:
    """The query parameters of a view: what the URL says while ``page`` shows it, a permalink.

    Args:
        page: the page id; data, image, ga, gald: the view (data as its ``data=`` text, models as
            bundled name or path); labels: the label set file ("" for Cityscapes).
        threshold: the tolerance in px (default: the session's). The clicked pixel and, on Local
            distribution, the inspected model and feature view are the session's.
    """
    params = {"page": page, "data": data, "image": image, "ga": ga, "gald": gald}
    if labels:
        params["labels"] = labels
    if threshold is None:
        threshold = st.session_state.get(THRESHOLD, THRESHOLDS_PX[0])
    params["threshold"] = str(threshold)
    pixel = st.session_state.get(PIXEL)
    if pixel is not None:
        params["x"], params["y"] = str(pixel[0]), str(pixel[1])
    if page == "local":
        which = st.session_state.get(INSPECT_KEY)
        inspect = next((k for k, v in INSPECT.items() if v == which), None)
        if inspect:
            params["inspect"] = inspect
        if st.session_state.get(FEATURE_KEY) in FEATURE_VIEWS:
            params["features"] = st.session_state[FEATURE_KEY]
    return params


def write_query_params(page: str, *, data: str, image: str, ga: str, gald: str, labels: str = "") -> None:
    """Mirror the current view into the URL (only when it differs from what is there).

    Args:
        page: the page id; data, image, ga, gald, labels: what the sidebar resolved (the view shown).
    """
    wanted = view_params(page, data=data, image=image, ga=ga, gald=gald, labels=labels)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
