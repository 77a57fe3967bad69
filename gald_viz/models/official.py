"""The official GALD-Net layout (CGNL + LDv1 on a deep-stem ResNet-50/101), key for key.

Li et al., "Global Aggregation then Local Distribution for Scene Parsing", IEEE TIP 2021
(https://arxiv.org/abs/1909.07229); the authors' code (github.com/lxtGH/GALD-DGCNet) ships GALDNet v1
only. Its state dicts load into :class:`OfficialGALDNet` unchanged (minus the training-only ``dsn.*``
auxiliary head), and its forward reproduces the official one (docs/DESIGN.md fact sheet):

- GA: ``a = conva(X)``; ``d = down(a)`` (depth-wise 3×3, stride 2, padding 0); CGNL on ``d`` plus ``d``;
  bilinear upsampling to ``a``'s size with ``align_corners=True`` → G.
- LD: three depth-wise stride-2 convs (padding 0) on G, upsampled (``align_corners=True``), sigmoid → M.
  The official LD returns G + G·M and its block adds G again, so the head sees **G·(2+M)**, not the
  paper's M⊙G + G (Eq. 2).
- Head: ``b = convb(G·(2+M))``; ``bottleneck(concat([X, b]))`` → logits at output stride 8.

The padding-0 stride-2 convs need every input side ≥ 111 px. :func:`from_official_state_dict` also reads
the older stem key names, ``module.`` prefixes and ``{"state_dict"|"model": …}`` wrappers.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from gald_viz.models.backbone import BACKBONES, DilatedResNet, conv_bn_relu
from gald_viz.models.cgnl import CGNLBlock
from gald_viz.models.contract import OFFICIAL_STRIDE, OFFICIAL_TILE, Evaluation, SegmentationModel, TapInfo

#: Architecture name → ResNet depth.
OFFICIAL_ARCHS: dict[str, int] = {"official_gald_r50": 50, "official_gald_r101": 101}
#: Blocks in ``layer3`` → ResNet depth (how the two official variants are told apart).
LAYER3_BLOCKS_TO_DEPTH: dict[int, int] = {6: 50, 23: 101}
#: Head width of the official code (``interplanes``) and its CGNL groups.
HEAD_CHANNELS = 512
CGNL_GROUPS = 8
#: Key of the final 1×1 classifier (index 3 of ``head.bottleneck``: conv, BN, ReLU, conv).
CLASSIFIER_KEY = "head.bottleneck.3.weight"
#: The older stem names (separate conv/bn modules) → the ``conv1`` Sequential layout.
OLD_STEM_RENAMES: dict[str, str] = {
    "conv1": "conv1.0",
    "bn1": "conv1.1",
    "conv2": "conv1.3",
    "bn2": "conv1.4",
    "conv3": "conv1.6",
    "bn3": "bn1",
}


class OfficialLayoutError(ValueError):
    """A state dict does not fit the official GALD-Net layout; the message lists what differs."""


def _depthwise_down(channels: int) -> nn.Sequential:
    """Depth-wise 3×3, stride 2, padding 0, with bias → BN → ReLU (the official ``down``/``dconvN``)."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, stride=2, groups=channels),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


def _upsample(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class OfficialLocalDistribution(nn.Module):
    """The official LD module (``local_attention``): G ↦ G + G⊙M, M = σ(upsample(W_d G)) (GALD Eq. 1–2).

    W_d is three depth-wise stride-2 convs (padding 0, so the rate is about 8). M passes through the
    ``mask`` identity module, the ``ldv1.mask`` tap.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dconv1 = _depthwise_down(channels)
        self.dconv2 = _depthwise_down(channels)
        self.dconv3 = _depthwise_down(channels)
        self.mask = nn.Identity()

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        coarse = self.dconv3(self.dconv2(self.dconv1(g)))
        m = self.mask(torch.sigmoid(_upsample(coarse, g.shape[2:])))
        return g + g * m


class OfficialGALDBlock(nn.Module):
    """The official ``a2block``: GA (CGNL at half resolution) then LD, returning G·(2+M).

    G passes through the ``tap_ga`` identity module.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.down = _depthwise_down(channels)
        self.long_relation = CGNLBlock(channels, channels // 2, groups=CGNL_GROUPS)
        self.local_attention = OfficialLocalDistribution(channels)
        self.tap_ga = nn.Identity()

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        # CGNLBlock adds its input d itself (the official residual).
        g = self.tap_ga(_upsample(self.long_relation(self.down(a)), a.shape[2:]))
        # The official block adds G to the LD output once more: G + G·M + G = G·(2+M).
        return self.local_attention(g) + g


class OfficialGALDHead(nn.Module):
    """The official ``head``: ``conva`` → ``a2block`` → ``convb`` → ``bottleneck`` on concat([X, b]).

    The a2block output G·(2+M) passes through the ``tap_ld`` identity module.
    """

    def __init__(self, in_channels: int, channels: int, num_classes: int) -> None:
        super().__init__()
        self.conva = conv_bn_relu(in_channels, channels, 3)
        self.a2block = OfficialGALDBlock(channels)
        self.tap_ld = nn.Identity()
        self.convb = conv_bn_relu(channels, channels, 3)
        self.bottleneck = nn.Sequential(
            *conv_bn_relu(in_channels + channels, channels, 3),
            nn.Conv2d(channels, num_classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.convb(self.tap_ld(self.a2block(self.conva(x))))
        return self.bottleneck(torch.cat([x, b], dim=1))


class OfficialGALDNet(DilatedResNet, SegmentationModel):
    """GALD-Net as the official code builds it (ResNet-50/101, CGNL GA, LDv1), for its checkpoints.

    The backbone modules sit at the top level (``conv1``, ``bn1``, ``layer1``–``layer4``) and the head
    under ``head``, so ``state_dict()`` keys equal the official ones without ``dsn.*``. Taps are
    ``nn.Identity`` modules (no state-dict keys): ``backbone`` (X), ``ga`` (G), ``ldv1.mask`` (M),
    ``ld`` (G·(2+M)) and ``logits``.

    Inference settings (:class:`~gald_viz.models.contract.SegmentationModel`): preset ``official_bgr``
    (BGR, 0–255, Caffe mean), sliding-window evaluation with 832×832 tiles at stride 555 as the official
    evaluation, and ``"stretch"`` logit geometry (``align_corners=True`` for every logit upsampling).

    Args:
        depth: 50 or 101.
        num_classes: K (the official Cityscapes models use 19).
    """

    preset = "official_bgr"
    input_scale = 1.0
    #: Three padding-0 stride-2 convs on the stride-8 map: 111 px is the smallest side they accept.
    min_input_size = 111
    output_stride = 8
    logit_geometry = "stretch"
    ld_kind = "ldv1"
    ldv2_kernel = None
    ldv2_dilation = None
    evaluation = Evaluation("slide", OFFICIAL_TILE, OFFICIAL_STRIDE)

    def __init__(self, *, depth: int = 50, num_classes: int = 19) -> None:
        if depth not in LAYER3_BLOCKS_TO_DEPTH.values():
            raise ValueError(f"OfficialGALDNet: depth={depth} must be 50 or 101")
        cfg = BACKBONES[f"resnet{depth}"]
        super().__init__(
            block=cfg.block,
            depths=cfg.depths,
            widths=cfg.widths,
            stem_widths=cfg.stem_widths,
            multi_grid=cfg.multi_grid,
        )
        self.arch = f"official_gald_r{depth}"
        self.options = {"depth": depth}
        self.num_classes = num_classes
        self.tap_backbone = nn.Identity()
        self.head = OfficialGALDHead(self.out_channels, HEAD_CHANNELS, num_classes)
        self.tap_logits = nn.Identity()
        c, k = HEAD_CHANNELS, num_classes
        self.feature_info = [
            TapInfo("backbone", "tap_backbone", self.out_channels, 8, "X: backbone stage-4 features"),
            TapInfo("ga", "head.a2block.tap_ga", c, 8, "G: CGNL on the stride-2 downsampled head features"),
            TapInfo(
                "ldv1.mask",
                "head.a2block.local_attention.mask",
                c,
                8,
                "M = σ(upsample(W_d G)), LDv1 mask (Eq. 1; W_d: three stride-2 depth-wise convs)",
            ),
            TapInfo("ld", "head.tap_ld", c, 8, "G·(2+M): the official LD output (Eq. 2 plus one more G)"),
            TapInfo("logits", "tap_logits", k, 8, "main class logits"),
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Main logits N×K×h×w at output stride 8 (contract 1); input sides must be ≥ 111 px."""
        if min(x.shape[2:]) < self.min_input_size:
            raise ValueError(
                f"OfficialGALDNet: input {tuple(x.shape[2:])} has a side below {self.min_input_size} px, "
                "too small for the three padding-0 stride-2 convs of the official LD"
            )
        feats = self.tap_backbone(self.forward_stages(x)[3])
        return self.tap_logits(self.head(feats))


def _first(items: list[str], count: int = 5) -> str:
    shown = ", ".join(items[:count])
    return shown + (f", … ({len(items) - count} more)" if len(items) > count else "")


def state_dict_mismatch(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> str:
    """Describe how ``found`` differs from ``expected`` (keys and shapes); ``""`` when it fits.

    Lists the first few missing keys, unexpected keys and shape differences, with their counts.

    >>> state_dict_mismatch({"a": torch.zeros(2)}, {"a": torch.zeros(3), "b": torch.zeros(1)})
    'unexpected keys (1): b; shape differences (1): a: file (3,) vs model (2,)'
    """
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [
        f"{k}: file {tuple(found[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in found and tuple(found[k].shape) != tuple(v.shape)
    ]
    parts = [
        f"{what} ({len(items)}): {_first(items, 3 if what == 'shape differences' else 5)}"
        for what, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape differences", shapes),
        )
        if items
    ]
    return "; ".join(parts)


def _unwrap(obj: object, notes: list[str]) -> dict[str, torch.Tensor]:
    """The name → tensor mapping inside ``obj``: unwrap ``{"state_dict"|"model": …}`` and check types."""
    if not isinstance(obj, Mapping):
        raise OfficialLayoutError(f"expected a state dict (names → tensors), found a {type(obj).__name__}")
    for wrapper in ("state_dict", "model"):
        if isinstance(obj.get(wrapper), Mapping):
            notes.append(f"unwrapped {wrapper!r}")
            obj = obj[wrapper]
            break
    bad = [str(k) for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise OfficialLayoutError(
            f"expected a state dict (names → tensors), but {len(bad)} entries are not tensors: {_first(bad)}"
        )
    return dict(obj)


def convert_official_state_dict(obj: object) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Bring an official checkpoint's content into :class:`OfficialGALDNet` key names.

    Unwraps ``{"state_dict"|"model": …}``, strips ``module.`` (DataParallel) prefixes, drops the
    training-only ``dsn.*`` head, renames the older stem layout (detected by a top-level
    ``conv2.weight``: ``conv1/bn1/conv2/bn2/conv3/bn3`` → ``conv1.0/conv1.1/conv1.3/conv1.4/conv1.6/bn1``)
    and casts floating tensors to float32.

    Returns:
        (state dict, notes): the converted tensors and one line per conversion applied.

    Raises:
        OfficialLayoutError: ``obj`` is not a mapping of names to tensors.
    """
    notes: list[str] = []
    sd = _unwrap(obj, notes)
    if any(k.startswith("module.") for k in sd):
        notes.append("removed 'module.' prefixes")
        sd = {k.removeprefix("module."): v for k, v in sd.items()}
    dsn = [k for k in sd if k.startswith("dsn.")]
    if dsn:
        notes.append(f"dropped {len(dsn)} dsn.* keys (training-only auxiliary head)")
        sd = {k: v for k, v in sd.items() if not k.startswith("dsn.")}
    if "conv2.weight" in sd:
        notes.append("renamed the older stem keys (conv1/bn1/conv2/bn2/conv3/bn3)")
        renamed = {}
        for k, v in sd.items():
            top, _, rest = k.partition(".")
            renamed[f"{OLD_STEM_RENAMES[top]}.{rest}" if top in OLD_STEM_RENAMES else k] = v
        sd = renamed
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    return sd, notes


def official_depth(sd: Mapping[str, torch.Tensor]) -> int:
    """ResNet depth from the number of ``layer3`` blocks (6 → 50, 23 → 101).

    Raises:
        OfficialLayoutError: ``layer3`` has another number of blocks (or none).
    """
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("layer3.") and k.split(".")[1].isdigit()}
    count = max(blocks) + 1 if blocks else 0
    if count not in LAYER3_BLOCKS_TO_DEPTH:
        raise OfficialLayoutError(
            f"layer3 has {count} blocks; the official GALD-Net has 6 (ResNet-50) or 23 (ResNet-101)"
        )
    return LAYER3_BLOCKS_TO_DEPTH[count]


def from_official_state_dict(obj: object) -> OfficialGALDNet:
    """Build the official-layout network from an official GALD-Net checkpoint's content, in eval mode.

    Depth comes from the ``layer3`` block count, K from the classifier ``head.bottleneck.3.weight``;
    see :func:`convert_official_state_dict` for the accepted variants. Loading is strict: every key and
    shape must fit (BatchNorm ``num_batches_tracked`` counters, unused at inference, may be absent).
    The model takes the checkpoint's tensors without copying them.

    Raises:
        OfficialLayoutError: the content does not fit; the message lists the first missing and
            unexpected keys and shape differences, with their counts.
    """
    sd, _ = convert_official_state_dict(obj)
    try:
        depth, depth_note = official_depth(sd), ""
    except OfficialLayoutError as err:
        # Still compare key by key (with ResNet-50): that shows an unrelated file at a glance.
        depth, depth_note = 50, f"{err}; "
    classifier = sd.get(CLASSIFIER_KEY)
    num_classes = int(classifier.shape[0]) if classifier is not None and classifier.ndim == 4 else 19
    # Built on the meta device: no memory or random init until the tensors are known to fit.
    with torch.device("meta"):
        model = OfficialGALDNet(depth=depth, num_classes=num_classes)
    expected = model.state_dict()
    for k in expected:
        if k.endswith(".num_batches_tracked") and k not in sd:
            sd[k] = torch.zeros((), dtype=torch.long)
    report = state_dict_mismatch(expected, sd)
    if report:
        raise OfficialLayoutError(
            f"{depth_note}does not fit the official GALD-Net layout "
            f"(ResNet-{depth}, {num_classes} classes): {report}"
        )
    model.load_state_dict(sd, strict=True, assign=True)
    return model.eval()
