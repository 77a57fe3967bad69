"""Dilated ResNet with output stride 8, the backbone of every GALD model.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016 (https://arxiv.org/abs/1512.03385);
dilation in place of the last two strides as in Chen et al., DeepLab (https://arxiv.org/abs/1606.00915)
and the GALD paper (Li et al., IEEE TIP 2021, Sec. IV-A): stage 3 has stride 1 and dilation 2, stage 4
stride 1 and dilation 4 with optional multi-grid (1, 2, 4).

Module names follow the official GALD-Net layout (``conv1`` deep stem as an ``nn.Sequential``, ``bn1``,
``layerL.B.{conv1,bn1,conv2,bn2,conv3,bn3}``, ``layerL.0.downsample.{0,1}``) so official state dicts map
onto this class key for key. Stride and dilation sit on ``conv2`` of each block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gald_viz.models.contract import WHOLE_PIXELS_LIMIT

NormLayer = Callable[[int], nn.Module]


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)


def conv_bn_relu(
    in_ch: int,
    out_ch: int,
    kernel_size: int = 1,
    *,
    dilation: int = 1,
    norm_layer: NormLayer = nn.BatchNorm2d,
) -> nn.Sequential:
    """Conv (no bias, "same" padding) → norm → ReLU, the unit every GA head and classifier is built from."""
    pad = dilation * (kernel_size // 2)
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size, padding=pad, dilation=dilation, bias=False),
        norm_layer(out_ch),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual (ResNet-18/34 block), for the small CPU backbones."""

    expansion = 1

    def __init__(
        self,
        in_ch: int,
        planes: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_ch, planes, stride, dilation)
        self.bn1 = norm_layer(planes)
        self.conv2 = _conv3x3(planes, planes, 1, dilation)
        self.bn2 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 → 3×3 (stride, dilation) → 1×1 bottleneck with expansion 4 (ResNet-50/101 block)."""

    expansion = 4

    def __init__(
        self,
        in_ch: int,
        planes: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, planes, 1, bias=False)
        self.bn1 = norm_layer(planes)
        self.conv2 = _conv3x3(planes, planes, stride, dilation)
        self.bn2 = norm_layer(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = norm_layer(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


@dataclass(frozen=True)
class BackboneConfig:
    """Shape of a :class:`DilatedResNet`: block type, blocks per stage, widths, multi-grid, and the largest
    input a model on it runs as one whole forward (``Evaluation.max_whole_pixels``)."""

    block: str
    depths: tuple[int, int, int, int]
    widths: tuple[int, int, int, int]
    stem_widths: tuple[int, int, int]
    multi_grid: tuple[int, ...] | None
    max_whole_pixels: int = WHOLE_PIXELS_LIMIT


#: Named backbones. ``resnet50``/``resnet101`` are the official GALD-Net layout; ``small`` is sized so a
#: whole bundled model (head width 128, LDv2, probes, aux) has ~1.3 M parameters and runs on 2 CPU cores;
#: its models run a 1024×2048 image whole (the bundled ``aspp_ldv2``: 852 MB peak RSS on the CPU, one
#: forward, as the mechanism statistics need), up to 2048×2048 pixels.
BACKBONES: dict[str, BackboneConfig] = {
    "resnet50": BackboneConfig("bottleneck", (3, 4, 6, 3), (64, 128, 256, 512), (64, 64, 128), (1, 2, 4)),
    "resnet101": BackboneConfig("bottleneck", (3, 4, 23, 3), (64, 128, 256, 512), (64, 64, 128), (1, 2, 4)),
    "small": BackboneConfig("basic", (1, 1, 1, 1), (24, 48, 96, 128), (16, 16, 32), None, 2048 * 2048),
}

_BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


class DilatedResNet(nn.Module):
    """ResNet with a deep stem and output stride 8 (stages 3 and 4 dilated instead of strided).

    Feature cell ``j`` of every stage is centred on input pixel ``stride * j`` (all strided layers use
    kernel 3 and padding 1; the max-pool uses ``ceil_mode=True`` like the official code, so a
    1024×2048 input gives 129×257 cells).

    Args:
        block: ``"basic"`` (two 3×3 convs) or ``"bottleneck"`` (expansion 4).
        depths: blocks in stages 1–4.
        widths: planes of stages 1–4 (output channels are ``planes * expansion``).
        stem_widths: output channels of the three stem convolutions.
        multi_grid: dilation multipliers of the stage-4 blocks (DeepLabv3), or None.
        norm_layer: normalisation layer type, called with the channel count.
    """

    def __init__(
        self,
        *,
        block: str = "bottleneck",
        depths: Sequence[int] = (3, 4, 6, 3),
        widths: Sequence[int] = (64, 128, 256, 512),
        stem_widths: Sequence[int] = (64, 64, 128),
        multi_grid: Sequence[int] | None = (1, 2, 4),
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if block not in _BLOCKS:
            raise ValueError(f"DilatedResNet: block={block!r} is not one of {sorted(_BLOCKS)}")
        block_cls = _BLOCKS[block]
        s0, s1, s2 = stem_widths
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, s0, 3, stride=2, padding=1, bias=False),
            norm_layer(s0),
            nn.ReLU(inplace=True),
            _conv3x3(s0, s1),
            norm_layer(s1),
            nn.ReLU(inplace=True),
            _conv3x3(s1, s2),
        )
        self.bn1 = norm_layer(s2)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self._in_ch = s2
        self._norm = norm_layer
        self.layer1 = self._make_stage(block_cls, widths[0], depths[0], stride=1, dilation=1)
        self.layer2 = self._make_stage(block_cls, widths[1], depths[1], stride=2, dilation=1)
        self.layer3 = self._make_stage(block_cls, widths[2], depths[2], stride=1, dilation=2)
        self.layer4 = self._make_stage(
            block_cls, widths[3], depths[3], stride=1, dilation=4, multi_grid=multi_grid
        )
        del self._norm
        #: Output channels and stride of stages 1–4.
        self.stage_channels: tuple[int, ...] = tuple(w * block_cls.expansion for w in widths)
        self.stage_strides: tuple[int, ...] = (4, 8, 8, 8)
        self.out_channels: int = self.stage_channels[3]
        self.output_stride: int = 8

    def _make_stage(
        self,
        block_cls: type[BasicBlock] | type[Bottleneck],
        planes: int,
        depth: int,
        *,
        stride: int,
        dilation: int,
        multi_grid: Sequence[int] | None = None,
    ) -> nn.Sequential:
        out_ch = planes * block_cls.expansion
        downsample = None
        if stride != 1 or self._in_ch != out_ch:
            downsample = nn.Sequential(
                nn.Conv2d(self._in_ch, out_ch, 1, stride=stride, bias=False), self._norm(out_ch)
            )
        grid = tuple(multi_grid) if multi_grid else (1,)
        blocks = []
        for i in range(depth):
            blocks.append(
                block_cls(
                    self._in_ch,
                    planes,
                    stride=stride if i == 0 else 1,
                    dilation=dilation * grid[i % len(grid)],
                    downsample=downsample if i == 0 else None,
                    norm_layer=self._norm,
                )
            )
            self._in_ch = out_ch
        return nn.Sequential(*blocks)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return the outputs of stages 1–4 (strides 4, 8, 8, 8)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c1 = self.layer1(x)
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return [c1, c2, c3, c4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the stage-4 features X (stride 8)."""
        return self.forward_stages(x)[3]


def build_backbone(name: str, *, norm_layer: NormLayer = nn.BatchNorm2d) -> DilatedResNet:
    """Build a named backbone from :data:`BACKBONES`.

    Raises:
        ValueError: ``name`` is unknown; the message lists the valid names.
    """
    if name not in BACKBONES:
        raise ValueError(f"backbone={name!r} is unknown; valid backbones: {', '.join(BACKBONES)}")
    cfg = BACKBONES[name]
    return DilatedResNet(
        block=cfg.block,
        depths=cfg.depths,
        widths=cfg.widths,
        stem_widths=cfg.stem_widths,
        multi_grid=cfg.multi_grid,
        norm_layer=norm_layer,
    )
