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

from gald_viz.models.backbone import BACKBONES, DilatedResNet, NormLayer, build_backbone, conv_bn_relu
from gald_viz.models.contract import Evaluation, SegmentationModel, TapInfo
from gald_viz.models.registry import GA_HEADS, LD_MODULES

LD_KINDS: tuple[str, ...] = ("none", *LD_MODULES)
#: Table I(c): GA then LD (GALD), LD then GA, or both on X side by side (LDv1 only).
ARRANGEMENTS: tuple[str, ...] = ("ga_ld", "ld_ga", "parallel")


def _classifier(in_ch: int, mid_ch: int, num_classes: int, norm_layer: NormLayer) -> nn.Sequential:
    return nn.Sequential(
        conv_bn_relu(in_ch, mid_ch, 3, norm_layer=norm_layer),
        nn.Dropout2d(0.1),
        nn.Conv2d(mid_ch, num_classes, 1),
    )


class GALDNet(SegmentationModel):
    """A GALD-family segmentation network (contract 1: ``model(x)`` → logits at output stride 8).

    Built by :func:`~gald_viz.models.zoo.build_model`, which resolves the options.

    Args:
        arch: zoo name (stored for checkpoints).
        options: every option of :data:`~gald_viz.models.zoo.DEFAULT_OPTIONS`, defaults applied
            (JSON-able, enough to rebuild with ``build_model``): ``backbone``, ``head_channels`` (width of
            X_g, X_gald and the classifier), ``probes`` (1×1 probe classifiers on X and X_g, the stage
            predictions of the paper's Fig. 8; their inputs are detached, so training them never changes
            the network they read), ``aux`` (the stage-3 auxiliary classifier, training only, returned by
            :meth:`forward_train`), the LD options and ``input_scale``.
        num_classes: K.
        ga: ``"none"`` or a :data:`~gald_viz.models.registry.GA_HEADS` name.
        ld: one of :data:`LD_KINDS` (``"none"`` or a :data:`~gald_viz.models.registry.LD_MODULES` name).
        arrangement: one of :data:`ARRANGEMENTS` (only ``"ga_ld"`` unless GA + LDv1).
        norm_layer: normalisation layer type.

    Raises:
        KeyError: unknown GA head or LD module (lists the valid names).
        ValueError: an arrangement other than ``"ga_ld"`` without a GA head and LDv1.
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
        ga: str = "none",
        ld: str = "none",
        arrangement: str = "ga_ld",
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        ga_head = GA_HEADS[ga] if ga != "none" else None
        ld_module = LD_MODULES[ld] if ld != "none" else None
        if arrangement not in ARRANGEMENTS:
            raise ValueError(f"GALDNet: arrangement={arrangement!r} must be one of {ARRANGEMENTS}")
        if arrangement != "ga_ld" and (ga == "none" or ld != "ldv1"):
            raise ValueError(f"GALDNet: arrangement={arrangement!r} needs a GA head and ld='ldv1'")
        self.arch = arch
        self.options = dict(options)
        self.num_classes = num_classes
        self.ga_kind, self.ld_kind, self.arrangement = ga, ld, arrangement
        self.input_scale = float(options["input_scale"])
        self.ldv2_kernel = options["ldv2_kernel"] if ld == "ldv2" else None
        self.ldv2_dilation = options["ldv2_dilation"] if ld == "ldv2" else None
        hc = options["head_channels"]

        self.backbone: DilatedResNet = build_backbone(options["backbone"], norm_layer=norm_layer)
        # One whole forward up to the backbone's memory bound (the mechanism statistics need one forward).
        self.evaluation = Evaluation(
            "whole", max_whole_pixels=BACKBONES[options["backbone"]].max_whole_pixels
        )
        c_x = self.backbone.out_channels
        self.tap_backbone = nn.Identity()
        if ld_module is not None and ga_head is None:
            # LD alone still needs a head-width X_g: a 3×3 conv stands in for the GA head.
            self.reduce = conv_bn_relu(c_x, hc, 3, norm_layer=norm_layer)
        if ga_head is not None:
            self.ga = ga_head(c_x, hc, norm_layer=norm_layer)
            self.tap_ga = nn.Identity()
        if ld_module is not None:
            ld_channels = hc if arrangement == "ga_ld" else c_x
            self.ld = ld_module.from_options(ld_channels, c_x, options, norm_layer)
            self.tap_ld = nn.Identity()
        if ga_head is None and ld_module is None:
            z_ch = 0
        elif arrangement == "parallel":
            z_ch = hc + c_x
        else:
            z_ch = hc
        self.classifier = _classifier(z_ch + c_x, hc, num_classes, norm_layer)
        self.tap_logits = nn.Identity()
        self.probes = options["probes"]
        if self.probes:
            self.probe_backbone = nn.Conv2d(c_x, num_classes, 1)
            if ga_head is not None:
                self.probe_ga = nn.Conv2d(hc, num_classes, 1)
        self.aux = (
            _classifier(self.backbone.stage_channels[2], hc // 2, num_classes, norm_layer)
            if options["aux"]
            else None
        )
        self.feature_info = self._feature_info(c_x, hc)

    def _feature_info(self, c_x: int, hc: int) -> list[TapInfo]:
        k = self.num_classes
        ga_info = TapInfo("ga", "tap_ga", hc, 8, f"X_g: {self.ga_kind.upper()} global aggregation output")
        if self.ld_kind == "none":
            ld_taps = []
        elif self.arrangement == "ga_ld":
            name, module, meaning = self.ld.inner_tap
            ld_taps = [
                TapInfo(name, f"ld.{module}", self.ld.tap_channels, 8, meaning),
                TapInfo("ld", "tap_ld", hc, 8, self.ld.output_meaning),
            ]
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
            if self.ld_kind == "none":
                z = x_g
            else:
                z = self.tap_ld(self.ld(torch.cat([x_g, x], dim=1) if self.ld.reads_backbone else x_g))
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
