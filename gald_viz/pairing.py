"""What differs between the two models the app compares as "GA" and "GALD".

GALD (Li et al., IEEE TIP 2021) measures local distribution by adding it to a GA network and changing
nothing else (Table I: the same backbone, GA head and training). The Compare page's four-way labels
("GALD fixes", "GALD breaks") and the Local distribution page read the same way only when the pair is
built like that. :func:`describe_pair` reads the model contract (``arch``, ``options``, ``ld_kind``,
``checkpoint_info``) of both models and says what differs, with a warning when the pair cannot be read
as "the same network with and without LD".
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from torch import nn

from gald_viz.models.official import OFFICIAL_ARCHS
from gald_viz.models.zoo import ZOO

__all__ = ["Difference", "PairReport", "describe_model", "describe_pair"]

ASPECTS = (
    "GA head",
    "local distribution",
    "arrangement",
    "backbone",
    "width",
    "input scale",
    "training data",
)
"""What :func:`describe_model` reads, in the order the report lists it."""


@dataclass(frozen=True)
class Difference:
    """One aspect in which the two models differ."""

    aspect: str
    ga: str
    gald: str

    def __str__(self) -> str:
        return f"{self.aspect} ({self.ga} vs {self.gald})"


@dataclass(frozen=True)
class PairReport:
    """The comparison of a GA model and a GALD model.

    Attributes:
        ga, gald: each model's description (aspect → text), see :func:`describe_model`.
        differences: the aspects that differ, local distribution included.
        warnings: why the pair does not isolate local distribution (empty when it does).
    """

    ga: dict[str, str]
    gald: dict[str, str]
    differences: tuple[Difference, ...]
    warnings: tuple[str, ...]

    @property
    def isolates_ld(self) -> bool:
        """True when the models differ in local distribution only."""
        return not self.warnings and [d.aspect for d in self.differences] == ["local distribution"]

    @property
    def summary(self) -> str:
        """One line: what differs between the two models."""
        if not self.differences:
            return "The GA and GALD models do not differ in architecture, options or training data."
        if self.isolates_ld:
            d = self.differences[0]
            return f"The models differ only in local distribution ({d.ga} vs {d.gald}), as in GALD's Table I."

        return "The GA and GALD models differ in: " + "; ".join(str(d) for d in self.differences) + "."

    def table(self) -> pd.DataFrame:
        """Aspects as rows, the two models as columns, and whether they differ."""
        rows = {a: {"GA model": self.ga[a], "GALD model": self.gald[a]} for a in ASPECTS}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        differing = {d.aspect for d in self.differences}
        frame["differs"] = [a in differing for a in ASPECTS]
        return frame


def _training_data(model: nn.Module) -> str:
    meta = dict(getattr(model, "checkpoint_info", {}) or {}).get("metadata") or {}
    data = meta.get("data")
    return str(data) if data else "not recorded"


def describe_model(model: nn.Module) -> dict[str, str]:
    """The aspects of :data:`ASPECTS` of one model, from its contract attributes and checkpoint metadata."""
    arch = str(getattr(model, "arch", "unknown"))
    options = dict(getattr(model, "options", {}) or {})
    ld = str(getattr(model, "ld_kind", "none"))
    if arch in OFFICIAL_ARCHS:
        ga, arrangement = "cgnl", "ga_ld"
        backbone, width = f"resnet{OFFICIAL_ARCHS[arch]} (official GALD-Net)", "512"
    else:
        entry = ZOO.get(arch, {})
        ga, arrangement = entry.get("ga", "unknown"), entry.get("arrangement", "ga_ld")
        backbone = str(options.get("backbone", "unknown"))
        width = str(options.get("head_channels", "unknown"))
    if ld == "ldv2":
        ld_text = f"ldv2 (k={getattr(model, 'ldv2_kernel', '?')}, r={getattr(model, 'ldv2_dilation', '?')})"
    elif ld == "ldv1":
        ld_text = "ldv1" + (
            f" (downsample {options['ldv1_downsample']})" if "ldv1_downsample" in options else ""
        )
    else:
        ld_text = "none"
    return {
        "GA head": ga,
        "local distribution": ld_text,
        "arrangement": arrangement if ld != "none" else "—",
        "backbone": backbone,
        "width": f"{width} channels",
        "input scale": f"{float(getattr(model, 'input_scale', options.get('input_scale', 1.0))):g}",
        "training data": _training_data(model),
    }


def describe_pair(ga: nn.Module, gald: nn.Module) -> PairReport:
    """What differs between the GA model and the GALD model, and whether that isolates local distribution.

    Warnings: the GALD slot has no local distribution; the GA slot has one; the GA heads differ; and,
    as one warning, any other difference (backbone, width, input scale, training data, arrangement), since
    then a GA/GALD difference is not the effect of local distribution alone.

    >>> from gald_viz.models import build_model
    >>> report = describe_pair(build_model("aspp"), build_model("cgnl_ldv1"))
    >>> [d.aspect for d in report.differences]
    ['GA head', 'local distribution']
    >>> report.warnings[0]
    'The GA heads differ (aspp vs cgnl): a GA/GALD difference mixes the head with local distribution.'
    """
    a, b = describe_model(ga), describe_model(gald)
    # A GA-only model has no arrangement of GA and LD: "—" differs from nothing.
    differences = tuple(
        Difference(k, a[k], b[k]) for k in ASPECTS if a[k] != b[k] and "—" not in (a[k], b[k])
    )
    warnings = []
    if getattr(gald, "ld_kind", "none") == "none":
        warnings.append(
            f"The GALD slot holds a model without local distribution ({getattr(gald, 'arch', '?')}): "
            "'GALD fixes' and 'GALD breaks' then compare two models without LD."
        )
    if getattr(ga, "ld_kind", "none") != "none":
        warnings.append(
            f"The GA slot holds a model with local distribution ({a['local distribution']}): "
            "it is not a GA-only baseline."
        )
    if a["GA head"] != b["GA head"]:
        warnings.append(
            f"The GA heads differ ({a['GA head']} vs {b['GA head']}): a GA/GALD difference mixes the head "
            "with local distribution."
        )
    others = [d for d in differences if d.aspect not in ("GA head", "local distribution", "arrangement")]
    if others:
        warnings.append(
            "Besides local distribution the models differ in "
            + "; ".join(str(d) for d in others)
            + ": a GA/GALD difference is not the effect of LD alone."
        )
    return PairReport(a, b, differences, tuple(warnings))
