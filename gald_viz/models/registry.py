"""Name → class registries of the GA heads and LD modules that GALDNet assembles (GALD, TIP 2021, Table I).

A new GA head is one file with a module ``Head(in_channels, out_channels, *, norm_layer)`` that maps the
backbone features X to X_g at the same resolution, plus one entry in :data:`GA_HEADS`. A new LD module
is one file with a module that declares, as :class:`~gald_viz.models.ldv1.LDv1` does:

- ``reads_backbone``: its input is concat(X_g, X) rather than X_g alone;
- ``inner_tap``: (tap name, path of the module inside it, meaning) of the value the app shows, with
  ``tap_channels`` channels;
- ``output_meaning``: the meaning of its output, the ``ld`` tap;
- ``from_options(channels, backbone_channels, options, norm_layer)``: the module distributing
  ``channels``-channel features, from the zoo options;

plus one entry in :data:`LD_MODULES`. Zoo names follow from both registries (:mod:`gald_viz.models.zoo`).
"""

from __future__ import annotations

from torch import nn

from gald_viz.models.aspp import ASPP
from gald_viz.models.cgnl import CGNLHead
from gald_viz.models.ldv1 import LDv1
from gald_viz.models.ldv2 import LDv2
from gald_viz.models.non_local import NonLocalHead
from gald_viz.models.psp import PSP


class Registry(dict[str, type[nn.Module]]):
    """A plain name → class dict whose failed look-up raises a ``KeyError`` listing the valid names.

    >>> Registry("GA head", {"aspp": ASPP})["pspp"]
    Traceback (most recent call last):
    ...
    KeyError: "unknown GA head 'pspp'; valid names: aspp"
    """

    def __init__(self, what: str, entries: dict[str, type[nn.Module]]) -> None:
        super().__init__(entries)
        self.what = what

    def __missing__(self, name: str) -> type[nn.Module]:
        raise KeyError(f"unknown {self.what} {name!r}; valid names: {', '.join(self)}")


#: Global aggregation heads (X → X_g), in the order of the zoo names.
GA_HEADS = Registry("GA head", {"aspp": ASPP, "psp": PSP, "nl": NonLocalHead, "cgnl": CGNLHead})
#: Local distribution modules (X_g → X_gald).
LD_MODULES = Registry("LD module", {"ldv1": LDv1, "ldv2": LDv2})
