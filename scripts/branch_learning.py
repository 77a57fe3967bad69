"""Did every branch of a checkpoint learn? Prints, per branch (backbone, GA head, LDv1 mask, LDv2 θ/φ/g,
classifier, auxiliary and probe heads), how far its parameters moved from their initialisation relative to
the initial norm, its share of the squared gradient over training and its RMS gradient per step relative
to its weights.

Run: python scripts/branch_learning.py synthcity/aspp_ldv1 [more checkpoints or paths]
A run still in progress: python scripts/branch_learning.py runs/v2/aspp_ldv1.resume.safetensors
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gald_viz.checkpoints import CheckpointError, load_model  # noqa: E402
from gald_viz.train.branches import (  # noqa: E402
    branch_learning_of,
    format_branch_report,
    sidecar_branch_learning,
)
from gald_viz.train.config import TrainError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "checkpoints",
        nargs="+",
        help="bundled name (synthcity/NAME), checkpoint path, or a run's OUT.resume.safetensors sidecar",
    )
    args = parser.parse_args(argv)
    status = 0
    for name in args.checkpoints:
        try:
            if name.endswith(".resume.safetensors"):
                report, source, arch = sidecar_branch_learning(name)
            else:
                model = load_model(name, num_classes=None)
                (report, source), arch = branch_learning_of(model), model.arch
        except (CheckpointError, TrainError) as err:
            print(f"{name}: {err}", file=sys.stderr)
            status = 1
            continue
        print(f"== {name} ({arch}): {source}")
        if report is not None:
            print(format_branch_report(report))
        print()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
