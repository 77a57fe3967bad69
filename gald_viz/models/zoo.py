"""The model zoo: names → GALDNet configurations (GALD, Li et al., IEEE TIP 2021, Table I).

A name fixes the architecture (GA head, LD kind, arrangement); options fix sizes. ``model.options`` holds
every option after defaults are applied, so ``build_model(model.arch, num_classes=model.num_classes,
**model.options)`` rebuilds the same network (checkpoints store both as JSON).
"""

from __future__ import annotations

from typing import Any

from gald_viz.models.backbone import BACKBONES
from gald_viz.models.gald import GALDNet
from gald_viz.models.registry import GA_HEADS, LD_MODULES


class UnknownModelError(KeyError, ValueError):
    """An unknown model name or option; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _zoo() -> dict[str, dict[str, str]]:
    zoo = {"fcn": {"ga": "none", "ld": "none"}}
    zoo |= {ga: {"ga": ga, "ld": "none"} for ga in GA_HEADS}
    zoo |= {ld: {"ga": "none", "ld": ld} for ld in LD_MODULES}
    zoo |= {f"{ga}_{ld}": {"ga": ga, "ld": ld} for ga in GA_HEADS for ld in LD_MODULES}
    # Table I(c): the other arrangements of ASPP and LDv1.
    zoo["aspp_ldv1_ldga"] = {"ga": "aspp", "ld": "ldv1", "arrangement": "ld_ga"}
    zoo["aspp_ldv1_parallel"] = {"ga": "aspp", "ld": "ldv1", "arrangement": "parallel"}
    return zoo


#: name → architecture (GA head, LD kind, arrangement).
ZOO: dict[str, dict[str, str]] = _zoo()
MODEL_NAMES: tuple[str, ...] = tuple(ZOO)

#: Options every model accepts, with defaults. ``head_channels=None`` means 128 for the small backbone
#: and 512 (the official GALD-Net width) for ResNet-50/101; ``ldv2_key_channels=None`` means
#: head_channels // 8 (at least 8).
DEFAULT_OPTIONS: dict[str, Any] = {
    "backbone": "small",
    "head_channels": None,
    "probes": True,
    "aux": True,
    "ldv1_downsample": 8,
    "ldv2_kernel": 5,
    "ldv2_dilation": 3,
    "ldv2_key_channels": None,
    "input_scale": 1.0,
}


def resolve_options(**options: Any) -> dict[str, Any]:
    """Apply defaults and check option names and the backbone name.

    Raises:
        UnknownModelError: an option or backbone name is unknown (lists the valid ones).
    """
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise UnknownModelError(
            f"build_model: unknown option(s) {unknown}; valid options: {list(DEFAULT_OPTIONS)}"
        )
    resolved = DEFAULT_OPTIONS | options
    if resolved["backbone"] not in BACKBONES:
        raise UnknownModelError(
            f"build_model: backbone={resolved['backbone']!r} is unknown; valid backbones: {list(BACKBONES)}"
        )
    if resolved["head_channels"] is None:
        resolved["head_channels"] = 128 if resolved["backbone"] == "small" else 512
    if not resolved["ldv2_key_channels"]:
        resolved["ldv2_key_channels"] = max(resolved["head_channels"] // 8, 8)
    resolved["input_scale"] = float(resolved["input_scale"])
    if resolved["input_scale"] <= 0:
        raise ValueError(f"build_model: input_scale={resolved['input_scale']} must be > 0")
    return resolved


def build_model(name: str, num_classes: int = 19, **options: Any) -> GALDNet:
    """Build the zoo model ``name`` (random init, train mode).

    Args:
        name: one of :data:`MODEL_NAMES` (e.g. ``"aspp_ldv2"``).
        num_classes: K.
        **options: see :data:`DEFAULT_OPTIONS` (plain JSON values).

    Raises:
        UnknownModelError: unknown name or option (a ``KeyError`` and a ``ValueError``; lists valid ones).

    >>> build_model("aspp_ldv2").ld_kind
    'ldv2'
    """
    if name not in ZOO:
        raise UnknownModelError(f"build_model: unknown model {name!r}; valid names: {', '.join(MODEL_NAMES)}")
    resolved = resolve_options(**options)
    return GALDNet(arch=name, options=resolved, num_classes=num_classes, **ZOO[name])
