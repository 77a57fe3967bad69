"""GALDNet: backbone → global aggregation (GA) → local distribution (LD) → classifier.

Li et al., "Global Aggregation then Local Distribution for Scene Parsing", IEEE TIP 2021
(https://arxiv.org/abs/1909.07229). One class assembles every row of Table I: the FCN baseline, GA heads
alone (ASPP, PSP, NL, CGNL), LD alone, GA→LDv1 (Eq. 1–3), GA→LDv2 (Eq. 6–8) and, for LDv1, the LD→GA and
parallel arrangements of Table I(c). The classifier sees concat(Z, X) where Z is the GA/LD output and X
the backbone features (Eq. 3); the FCN baseline classifies X alone.
"""

from __future__ import annotations

import torch
from torch import nn

from gald_viz.hooks import TapInfo
from gald_viz.models.aspp import ASPP
from gald_viz.models.backbone import DilatedResNet, NormLayer, build_backbone, conv_bn_relu
from gald_viz.models.cgnl import CGNLHead
from gald_viz.models.ldv1 import LDv1
from gald_viz.models.ldv2 import LDv2
from gald_viz.models.non_local import NonLocalHead
from gald_viz.models.psp import PSP

GA_HEADS: tuple[str, ...] = ("aspp", "psp", "nl", "cgnl")
LD_KINDS: tuple[str, ...] = ("none", "ldv1", "ldv2")
#: Table I(c): GA then LD (GALD), LD then GA, or both on X side by side (LDv1 only).
ARRANGEMENTS: tuple[str, ...] = ("ga_ld", "ld_ga", "parallel")


def _ga_head(kind: str, in_ch: int, out_ch: int, norm_layer: NormLayer) -> nn.Module:
    if kind == "aspp":
        return ASPP(in_ch, out_ch, norm_layer=norm_layer)
    if kind == "psp":
        return PSP(in_ch, out_ch, norm_layer=norm_layer)
    if kind == "nl":
        return NonLocalHead(in_ch, out_ch, norm_layer=norm_layer)
    return CGNLHead(in_ch, out_ch, norm_layer=norm_layer)


def _classifier(in_ch: int, mid_ch: int, num_classes: int, norm_layer: NormLayer) -> nn.Sequential:
    return nn.Sequential(
        conv_bn_relu(in_ch, mid_ch, 3, norm_layer=norm_layer),
        nn.Dropout2d(0.1),
        nn.Conv2d(mid_ch, num_classes, 1),
    )


class GALDNet(nn.Module):
    """A GALD-family segmentation network (contract 1: ``model(x)`` → logits at output stride 8).

    Args:
        arch: zoo name (stored for checkpoints).
        options: the options it was built from (JSON-able, enough to rebuild with ``build_model``).
        num_classes: K.
        backbone: a :data:`~gald_viz.models.backbone.BACKBONES` name.
        ga: ``"none"`` or one of :data:`GA_HEADS`.
        ld: one of :data:`LD_KINDS`.
        arrangement: one of :data:`ARRANGEMENTS` (only ``"ga_ld"`` unless GA + LDv1).
        head_channels: width of X_g, X_gald and the classifier.
        probes: add 1×1 probe classifiers on X and X_g (the stage predictions of the paper's Fig. 8).
            Their inputs are detached, so training them never changes the network they read.
        aux: add the stage-3 auxiliary classifier (training only, returned by :meth:`forward_train`).
        ldv1_downsample: LDv1 rate d.
        ldv2_kernel: LDv2 window k.
        ldv2_dilation: LDv2 dilation r.
        ldv2_key_channels: channels of LDv2's θ and φ (None: head_channels // 8, at least 8).
        input_scale: ``inference.predict`` resizes images by this factor before the forward.
        norm_layer: normalisation layer type.
    """

    preset = "imagenet_rgb"
    output_stride = 8
    #: Feature cell j is centred on input pixel 8·j; ``inference.upsample_logits`` uses this exactly.
    logit_geometry = "cell_centres"
    #: Smallest image side ``inference`` feeds the model (smaller images are padded): keeps every
    #: feature map ≥ 9 cells so LDv1's stride-2 stack and the LDv2 window stay meaningful.
    min_input_size = 64

    def __init__(
        self,
        *,
        arch: str,
        options: dict,
        num_classes: int = 19,
        backbone: str = "small",
        ga: str = "none",
        ld: str = "none",
        arrangement: str = "ga_ld",
        head_channels: int = 128,
        probes: bool = True,
        aux: bool = True,
        ldv1_downsample: int = 8,
        ldv2_kernel: int = 5,
        ldv2_dilation: int = 3,
        ldv2_key_channels: int | None = None,
        input_scale: float = 1.0,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if ga not in ("none", *GA_HEADS) or ld not in LD_KINDS or arrangement not in ARRANGEMENTS:
            raise ValueError(
                f"GALDNet: ga={ga!r}, ld={ld!r}, arrangement={arrangement!r} is not a valid combination"
            )
        if arrangement != "ga_ld" and (ga == "none" or ld != "ldv1"):
            raise ValueError(f"GALDNet: arrangement={arrangement!r} needs a GA head and ld='ldv1'")
        self.arch = arch
        self.options = dict(options)
        self.num_classes = num_classes
        self.ga_kind, self.ld_kind, self.arrangement = ga, ld, arrangement
        self.input_scale = float(input_scale)
        self.ldv2_kernel = ldv2_kernel if ld == "ldv2" else None
        self.ldv2_dilation = ldv2_dilation if ld == "ldv2" else None
        hc = head_channels

        self.backbone: DilatedResNet = build_backbone(backbone, norm_layer=norm_layer)
        c_x = self.backbone.out_channels
        self.tap_backbone = nn.Identity()
        if ld != "none" and ga == "none":
            # LD alone still needs a head-width X_g: a 3×3 conv stands in for the GA head.
            self.reduce = conv_bn_relu(c_x, hc, 3, norm_layer=norm_layer)
        if ga != "none":
            self.ga = _ga_head(ga, c_x, hc, norm_layer)
            self.tap_ga = nn.Identity()
        if ld == "ldv1":
            self.ld = LDv1(
                c_x if arrangement != "ga_ld" else hc, downsample=ldv1_downsample, norm_layer=norm_layer
            )
        elif ld == "ldv2":
            keys = ldv2_key_channels or max(hc // 8, 8)
            self.ld = LDv2(hc + c_x, hc, key_channels=keys, kernel=ldv2_kernel, dilation=ldv2_dilation)
        if ld != "none":
            self.tap_ld = nn.Identity()
        if ga == ld == "none":
            z_ch = 0
        elif arrangement == "parallel":
            z_ch = hc + c_x
        else:
            z_ch = hc
        self.classifier = _classifier(z_ch + c_x, hc, num_classes, norm_layer)
        self.tap_logits = nn.Identity()
        self.probes = probes
        if probes:
            self.probe_backbone = nn.Conv2d(c_x, num_classes, 1)
            if ga != "none":
                self.probe_ga = nn.Conv2d(hc, num_classes, 1)
        self.aux = (
            _classifier(self.backbone.stage_channels[2], hc // 2, num_classes, norm_layer) if aux else None
        )
        self.feature_info = self._feature_info(c_x, hc)

    def _feature_info(self, c_x: int, hc: int) -> list[TapInfo]:
        k = self.num_classes
        ga_info = TapInfo("ga", "tap_ga", hc, 8, f"X_g: {self.ga_kind.upper()} global aggregation output")
        if self.arrangement == "ga_ld":
            ld_taps = {
                "ldv1": [
                    TapInfo("ldv1.mask", "ld.mask", hc, 8, "M = σ(upsample(W_d X_g)), LDv1 mask (Eq. 1)"),
                    TapInfo("ld", "tap_ld", hc, 8, "X_gald = M ⊙ X_g + X_g (Eq. 2)"),
                ],
                "ldv2": [
                    TapInfo(
                        "ldv2.affinity",
                        "ld.affinity",
                        (self.ldv2_kernel or 0) ** 2,
                        8,
                        "LDv2 softmax weights over the k×k window at each cell (Eq. 7)",
                    ),
                    TapInfo("ld", "tap_ld", hc, 8, "X_gald = Σ_n w_n g(s_n) (Eq. 8)"),
                ],
                "none": [],
            }[self.ld_kind]
        else:
            ld_taps = [
                TapInfo(
                    "ldv1.mask", "ld.mask", c_x, 8, "M = σ(upsample(W_d X)), LDv1 mask on X (Table I(c))"
                ),
                TapInfo("ld", "tap_ld", c_x, 8, "M ⊙ X + X (Table I(c))"),
            ]
        taps = [TapInfo("backbone", "tap_backbone", c_x, 8, "X: backbone stage-4 features")]
        if self.arrangement == "ld_ga":
            taps += [*ld_taps, ga_info]
        else:
            taps += ([ga_info] if self.ga_kind != "none" else []) + ld_taps
        taps.append(TapInfo("logits", "tap_logits", k, 8, "main class logits"))
        if self.probes:
            taps.append(
                TapInfo("probe.backbone", "probe_backbone", k, 8, "probe logits on X (FCN stage, Fig. 8)")
            )
            if self.ga_kind != "none":
                taps.append(TapInfo("probe.ga", "probe_ga", k, 8, "probe logits on X_g (GA stage, Fig. 8)"))
        return taps

    def _head(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return (logits, X_g or None) from backbone features X."""
        x_g = None
        if self.ga_kind == "none" and self.ld_kind == "none":
            z = None
        elif self.arrangement == "ld_ga":
            x_g = self.tap_ga(self.ga(self.tap_ld(self.ld(x))))
            z = x_g
        elif self.arrangement == "parallel":
            x_g = self.tap_ga(self.ga(x))
            z = torch.cat([x_g, self.tap_ld(self.ld(x))], dim=1)
        else:
            x_g = self.tap_ga(self.ga(x)) if self.ga_kind != "none" else self.reduce(x)
            if self.ld_kind == "ldv1":
                z = self.tap_ld(self.ld(x_g))
            elif self.ld_kind == "ldv2":
                z = self.tap_ld(self.ld(torch.cat([x_g, x], dim=1)))
            else:
                z = x_g
            if self.ga_kind == "none":
                x_g = None
        logits = self.classifier(x if z is None else torch.cat([z, x], dim=1))
        return self.tap_logits(logits), x_g

    def _probes(self, x: torch.Tensor, x_g: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if not self.probes:
            return {}
        out = {"probe.backbone": self.probe_backbone(x.detach())}
        if x_g is not None:
            out["probe.ga"] = self.probe_ga(x_g.detach())
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Main logits N×K×h×w at output stride 8, not upsampled (contract 1).

        Probe heads run too (they are cheap), so their taps fill in the same forward.
        """
        feats = self.tap_backbone(self.backbone(x))
        logits, x_g = self._head(feats)
        self._probes(feats, x_g)
        return logits

    def forward_train(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training outputs, all N×K×h×w at stride 8: ``out``, ``aux`` (if aux), ``probe.*`` (if probes)."""
        stages = self.backbone.forward_stages(x)
        feats = self.tap_backbone(stages[3])
        logits, x_g = self._head(feats)
        out = {"out": logits, **self._probes(feats, x_g)}
        if self.aux is not None:
            out["aux"] = self.aux(stages[2])
        return out
