"""What an evaluation job adds for issue #12: mechanism statistics, Boundary IoU, band accuracy, knock-outs.

A :class:`MechanismPlan` given to :func:`gald_viz.jobs.run_job` makes the job record the taps
``ldv1.mask`` / ``ldv2.affinity`` during its one forward of each image (no second forward) and store,
next to the image's :func:`~gald_viz.metrics.scoring.score_image` arrays, these additive named arrays
(B bands, C classes, W Boundary-IoU widths, T thresholds):

======================== ========== ==============================================================
name                     shape      meaning
======================== ========== ==============================================================
band_edges               (B,)       the band edges in native px (axis entry)
band_correct             (B, C)     correct native pixels per band and GT class
band_total               (B, C)     evaluated native pixels per band and GT class
biou_width_px            (W,)       Boundary IoU width d in px at this image (axis entry)
biou_intersection        (W, C)     Boundary IoU intersections (Cheng et al., CVPR 2021)
biou_union               (W, C)     Boundary IoU unions
ldv1_mask_sum            (B, C)     Σ channel mean of the LDv1 mask M over counted cells (LDv1 only)
ldv1_cells               (B, C)     counted cells (LDv1 only)
ldv1_mask_p05_p95        (2,)       5th/95th percentile of the channel mean of M (not additive)
ldv2_sums                (6, B, C)  Σ of :data:`gald_viz.mechanisms.ldv2.QUANTITIES` (LDv2 only)
ldv2_cells               (B, C)     counted cells (LDv2 only)
ko:NAME:tp/fp/fn         (C,)       IoU statistics of the model under knock-out NAME
ko:NAME:boundary_f       (T, C)     its G-SCNN boundary F
ko:NAME:changed          (2,)       pixels whose prediction changed, pixels of the image
======================== ========== ==============================================================

and, for a GA-only and a GALD run with the same band edges, the pair array ``fourway_band`` (4, B, C):
pixels both right, GALD fixes, GALD breaks, both wrong per band and GT class.

The plan is part of the run's identity (:attr:`gald_viz.store.RunSpec.mechanisms`), so a rerun with the
same plan resumes, and one with other bands, widths or knock-outs is another run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from torch import nn

from gald_viz.interventions import INTERVENTIONS, intervene
from gald_viz.mechanisms.bands import DEFAULT_EDGES, boundary_distance, check_edges, sample_cells
from gald_viz.mechanisms.fourway import band_accuracy_counts, fourway_band_counts
from gald_viz.mechanisms.geometry import CellGeometry
from gald_viz.mechanisms.ldv1 import ldv1_stats
from gald_viz.mechanisms.ldv2 import ldv2_stats
from gald_viz.metrics.boundary_iou import DEFAULT_RATIO, boundary_iou_counts, width_px
from gald_viz.models.ldv2 import LDv2

__all__ = ["MechanismPlan", "knockout_arrays", "ko_name", "taps_for"]


def ko_name(intervention: str, stat: str) -> str:
    """The stored name of a knock-out statistic, e.g. ``ko:context=off:tp``."""
    return f"ko:{intervention}:{stat}"


def taps_for(model: nn.Module) -> list[str]:
    """The mechanism taps a model has: ``ldv1.mask`` for LDv1, ``ldv2.affinity`` for LDv2."""
    kind = str(getattr(model, "ld_kind", "none"))
    return {"ldv1": ["ldv1.mask"], "ldv2": ["ldv2.affinity"]}.get(kind, [])


def _ldv2_window(model: nn.Module) -> tuple[int, int]:
    for module in model.modules():
        if isinstance(module, LDv2):
            return int(module.kernel), int(module.dilation)
    raise ValueError(f"model {getattr(model, 'arch', type(model).__name__)} has no LDv2 module")


@dataclass(frozen=True)
class MechanismPlan:
    """The mechanism statistics of one job.

    Attributes:
        edges: distance band edges in native px (:func:`~gald_viz.mechanisms.bands.check_edges`).
        ratios: Boundary IoU widths: diagonal fractions (< 1) or whole pixels (≥ 1).
        interventions: knock-outs (:data:`gald_viz.interventions.INTERVENTIONS`) run on this model.
    """

    edges: tuple[float, ...] = DEFAULT_EDGES
    ratios: tuple[float, ...] = (DEFAULT_RATIO,)
    interventions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", check_edges(self.edges))
        ratios = tuple(float(r) for r in self.ratios)
        if not ratios:
            raise ValueError("Boundary IoU: give at least one ratio or width")
        for r in ratios:
            width_px(r, 100, 100)  # validates
        object.__setattr__(self, "ratios", ratios)
        bad = [n for n in self.interventions if n not in INTERVENTIONS]
        if bad:
            raise ValueError(
                f"unknown intervention {bad[0]!r}; valid interventions: {', '.join(INTERVENTIONS)}"
            )
        if len(set(self.interventions)) != len(self.interventions):
            raise ValueError(f"interventions {self.interventions}: each may be given once")
        object.__setattr__(self, "interventions", tuple(self.interventions))

    def identity(self) -> dict:
        """What enters the run identity."""
        return {
            "edges": list(self.edges),
            "ratios": list(self.ratios),
            "interventions": list(self.interventions),
        }

    @classmethod
    def from_identity(cls, identity: Mapping) -> MechanismPlan:
        return cls(tuple(identity["edges"]), tuple(identity["ratios"]), tuple(identity["interventions"]))

    def check_model(self, model: nn.Module) -> None:
        """Refuse knock-outs the model cannot take (the message names them) before any work."""
        for name in self.interventions:
            try:
                with intervene(model, name):
                    pass
            except ValueError as exc:
                raise ValueError(
                    f"intervention {name!r} on {getattr(model, 'arch', 'model')}: {exc}"
                ) from exc

    def image_arrays(
        self,
        model: nn.Module,
        recorded: Mapping[str, np.ndarray],
        pred: np.ndarray,
        gt: np.ndarray,
        *,
        num_classes: int,
        ignore_index: int = 255,
    ) -> dict[str, np.ndarray]:
        """The per-model arrays of one image (see the module table; knock-outs come from :meth:`knockout`).

        Args:
            model: the evaluated model (for its cell geometry and LDv2 window).
            recorded: tap name → the tap of this image without the batch axis (C×h×w).
            pred: H×W prediction of the intact model.
            gt: H×W ground truth.
            num_classes: C.
            ignore_index: the GT ignore id.
        """
        gt = np.asarray(gt)
        dist = boundary_distance(gt, num_classes, ignore_index)
        correct, total = band_accuracy_counts(
            pred, gt, self.edges, num_classes=num_classes, ignore_index=ignore_index, dist=dist
        )
        out = {"band_edges": np.array(self.edges), "band_correct": correct, "band_total": total}
        counts = [boundary_iou_counts(pred, gt, num_classes, r, ignore_index) for r in self.ratios]
        out["biou_width_px"] = np.array([width_px(r, *gt.shape) for r in self.ratios], dtype=np.int64)
        out["biou_intersection"] = np.stack([c[0] for c in counts])
        out["biou_union"] = np.stack([c[1] for c in counts])
        for tap, values in recorded.items():
            values = np.asarray(values)
            geometry = CellGeometry.from_model(model, gt.shape, values.shape[1:])
            cells = sample_cells(
                gt, geometry, self.edges, num_classes=num_classes, ignore_index=ignore_index, dist=dist
            )
            if tap == "ldv1.mask":
                stats = ldv1_stats(values, cells)
                out["ldv1_mask_sum"] = stats.sums.sums[0]
                out["ldv1_cells"] = stats.sums.count
                out["ldv1_mask_p05_p95"] = np.array([stats.p05, stats.p95])
            elif tap == "ldv2.affinity":
                kernel, dilation = _ldv2_window(model)
                sums = ldv2_stats(values, cells, kernel=kernel, dilation=dilation)
                out["ldv2_sums"] = sums.sums
                out["ldv2_cells"] = sums.count
        return out

    def pair_arrays(
        self, pred_ga: np.ndarray, pred_gald: np.ndarray, gt: np.ndarray, *, num_classes: int
    ) -> dict[str, np.ndarray]:
        """``fourway_band`` (4, B, C) of one image."""
        return {
            "fourway_band": fourway_band_counts(pred_ga, pred_gald, gt, self.edges, num_classes=num_classes)
        }


def knockout_arrays(
    name: str, pred_ko: np.ndarray, pred: np.ndarray, scored: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The stored arrays of one knock-out: its IoU statistics and boundary F, and the changed pixels.

    Args:
        name: the intervention.
        pred_ko: H×W prediction under the knock-out.
        pred: H×W prediction of the intact model.
        scored: :func:`~gald_viz.metrics.scoring.score_image` arrays of ``pred_ko``.
    """
    pred_ko, pred = np.asarray(pred_ko), np.asarray(pred)
    changed = int(np.count_nonzero(pred_ko != pred))
    out = {ko_name(name, k): np.asarray(scored[k]) for k in ("tp", "fp", "fn", "boundary_f")}
    out[ko_name(name, "changed")] = np.array([changed, pred.size], dtype=np.int64)
    return out
