"""Did every branch of a checkpoint learn? Prints, per branch (backbone, GA head, LDv1 mask, LDv2 θ/φ/g,
classifier, auxiliary and probe heads), how far its parameters moved from their initialisation relative to
the initial norm, its share of the squared gradient over training and its RMS gradient per step relative
to its weights.

Run: python scripts/branch_learning.py synthcity/aspp_ldv1 [more checkpoints or paths]
A run still in progress: python scripts/branch_learning.py runs/v2/aspp_ldv1.resume.safetensors
A checkpoint whose last stage trained only its probe heads (--probes: the network frozen, so every other
branch reads 0 there) is followed to the checkpoint that stage started from (its --init path, from the
current folder or the checkout; runs/v2/NAME is also looked for in training/v2/, where the bundled models'
training stages are kept), whose report is printed too.
With --mask-spread N it also runs an LDv1 model on N unseen SynthCity val scenes (seed 4242, the evidence's)
and prints, per scene, the spread of the LDv1 mask's channel mean (5th-95th percentile, the app's flat-mask
test) beside the median spread of its single channels.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gald_viz.checkpoints import CheckpointError, load_model  # noqa: E402
from gald_viz.train.branches import (  # noqa: E402
    branch_learning_of,
    format_branch_report,
    sidecar_model,
    sidecar_report,
)
from gald_viz.train.config import TrainError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def probe_stage_init(model) -> tuple[str | None, Path | None]:
    """For a checkpoint whose last stage trained only its probe heads: (its ``--init`` path as recorded,
    that file where it is found, else None). (None, None) for any other checkpoint."""
    meta = getattr(model, "checkpoint_info", {}).get("metadata", {})
    init = meta.get("init", "null")
    if meta.get("probes_only") != "true" or init == "null":
        return None, None
    recorded = Path(init)
    candidates = [recorded, REPO / recorded]
    if recorded.parts[:1] == ("runs",):  # training/README.md: training/v2/ keeps what runs/v2/ held
        candidates.append(REPO / "training" / Path(*recorded.parts[1:]))
    return init, next((c for c in candidates if c.is_file()), None)


def print_report(label: str, report: dict | None, source: str) -> None:
    """``== LABEL: SOURCE`` and the branch table, when there is a report."""
    print(f"== {label}: {source}")
    if report is not None:
        print(format_branch_report(report))


def mask_spread_lines(model, scenes: int) -> list[str]:
    """Per unseen scene, the spread of the LDv1 mask's channel mean and the median channel's spread."""
    import numpy as np

    from gald_viz.analysis import analyse
    from gald_viz.data.synthcity import generate
    from gald_viz.mechanisms.ldv1 import FLAT_SPREAD, channel_spreads, mask_percentiles
    from gald_viz.model_evidence import EVIDENCE_SEED

    lines = []
    for index in range(scenes):
        analysis = analyse(model, generate(index, "val", seed=EVIDENCE_SEED).image, device="cpu")
        if analysis.ldv1_mask is None:
            return ["no LDv1 mask: nothing to measure"]
        p05, p95 = mask_percentiles(analysis.maps["ldv1.mask"])  # the channel mean the app draws
        verdict = "flat" if p95 - p05 < FLAT_SPREAD else "varies"
        lines.append(
            f"LDv1 mask, val seed {EVIDENCE_SEED} scene {index}: channel mean {p05:.3f}-{p95:.3f}"
            f" (spread {p95 - p05:.3f}, {verdict} against {FLAT_SPREAD}); median channel spread"
            f" {float(np.median(channel_spreads(analysis.ldv1_mask))):.3f}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "checkpoints",
        nargs="+",
        help="bundled name (synthcity/NAME), checkpoint path, or a run's OUT.resume.safetensors sidecar",
    )
    parser.add_argument(
        "--mask-spread",
        type=int,
        default=0,
        metavar="N",
        help="also measure the LDv1 mask's spread on N unseen SynthCity val scenes (default 0: not)",
    )
    args = parser.parse_args(argv)
    status = 0
    for name in args.checkpoints:
        try:
            if name.endswith(".resume.safetensors"):
                model, meta, tensors, arch = sidecar_model(name)
                report, source = sidecar_report(model, meta, tensors)
            else:
                model = load_model(name, num_classes=None)
                (report, source), arch = branch_learning_of(model), model.arch
        except (CheckpointError, TrainError) as err:
            print(f"{name}: {err}", file=sys.stderr)
            status = 1
            continue
        print_report(f"{name} ({arch})", report, source)
        init, found = probe_stage_init(model)
        if init is not None:
            print(
                "This stage trained only the probe heads (--probes, the network frozen): every other branch"
                f" reads 0 here. The network was trained in the stage it started from, --init {init}"
            )
            if found is None:
                print(f"({init} is not here: run this script on it to see how the network's branches moved)")
            else:
                print_report(str(found), *branch_learning_of(load_model(str(found), num_classes=None)))
        if args.mask_spread:
            print("\n".join(mask_spread_lines(model, args.mask_spread)))
        print()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
