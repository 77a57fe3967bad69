"""Run every benchmark of the project and print one table: benchmark, figure, value, goal, met.

    python -m benchmarks                 # each script's own settings (tens of minutes on 2 cores)
    python -m benchmarks --quick         # fewer images and repeats (a few minutes on 2 cores)
    python -m benchmarks --only boundary_f big_image --show-output

``gpu`` (benchmarks/gpu.py) measures on a CUDA device and gives one "skipped" row on a machine without.

Convention: a benchmark module may expose ``run(quick: bool = False) -> list[dict]``, rows
``{"name", "value", "unit", "goal", "met"}`` (``met`` True, False, or None where a figure has no goal);
it is called in-process. Scripts without ``run`` are run as subprocesses (with the quick arguments
below) and a small parser picks their key figures out of what they print; a script whose output cannot
be parsed still gets a row with its last line, so nothing is dropped silently.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Row = dict


def _row(name: str, value, goal: str = "", met: bool | None = None, unit: str = "") -> Row:
    return {"name": name, "value": value, "unit": unit, "goal": goal, "met": met}


# -- parsers of the scripts without run() --------------------------------------------------------------
def parse_synthcity_speed(out: str) -> list[Row]:
    """The 1024×2048 row: rendering img/s from CPU time (goal ≥ 10) and with the three PNGs written."""
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "1024x2048" and len(parts) >= 5:
            cpu, png = float(parts[1]), float(parts[4])
            return [
                _row("1024x2048 scenes rendered per s, one core", cpu, ">= 10", cpu >= 10, "img/s"),
                _row("1024x2048 rendered + 3 PNGs written per s", png, unit="img/s"),
            ]
    return []


def parse_boundary_f(out: str) -> list[Row]:
    """Speed-up over the literal G-SCNN reference, 500-image time, and the largest F difference."""
    rows = []
    speed = re.search(r"\((\d+(?:\.\d+)?)x, 1 process each\)", out)
    if speed:
        rows.append(
            _row("speed-up vs skimage reference", float(speed[1]), ">= 50x", float(speed[1]) >= 50, "x")
        )
    total = re.search(r"500 images <= 5 min on (\d+) cores \(([\d.]+) min\)", out)
    if total:
        minutes = float(total[2])
        rows.append(_row(f"500 images, {total[1]} processes", minutes, "<= 5 min", minutes <= 5, "min"))
    diff = re.search(r"max \|F\(gald_viz\) - F\(reference\)\|[^:]*: ([-+.\deE]+)", out)
    if diff:
        value = float(diff[1])
        rows.append(_row("max |F - F_reference|", f"{value:.1e}", "<= 1e-9", value <= 1e-9))
    return rows


def parse_ldv2_cost(out: str) -> list[Row]:
    """Per head width: LDv2's forward time(s) and peak memory as multiples of the GA-only forward's.

    Read by header: every ``<measure> x GA`` column pair (``wall s``, ``cpu s``, ``peak MiB``…) after
    ``width model params``.
    """
    header = next((line for line in out.splitlines() if line.lstrip().startswith("width")), "")
    measures = re.findall(r"(\w+ \w+)\s+x GA", header)
    rows = []
    for line in out.splitlines():
        cells = line.split()
        if len(cells) != 3 + 2 * len(measures) or cells[1] != "aspp_ldv2" or not cells[0].isdigit():
            continue
        for measure, ratio in zip(measures, map(float, cells[4::2]), strict=True):
            goal = 2.0 if "MiB" in measure else 1.15
            rows.append(
                _row(
                    f"LDv2 / GA-only {measure}, width {cells[0]}", ratio, f"<= {goal:g}x", ratio <= goal, "x"
                )
            )
    return rows


def parse_goal_table(out: str) -> list[Row]:
    """A ``measure  measured  goal  met`` table (app_latency): every row, its goal where it has one."""
    rows, in_table = [], False
    for line in out.splitlines():
        if line.startswith("measure"):
            in_table = True
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if in_table and len(cells) >= 2:
            goal = cells[2] if len(cells) >= 4 else ""
            met = {"yes": True, "NO": False}.get(cells[-1]) if goal else None
            rows.append(_row(cells[0], cells[1], goal, met))
    return rows


# -- preparing a script's arguments --------------------------------------------------------------------
def bundled_or_stand_ins(workdir: Path) -> tuple[list[str], str]:
    """``--ga/--gald`` for app_latency: the bundled models, or random-init models of the same shape.

    Latency does not depend on the weights, so while the bundled files are missing (being trained) the
    figure is measured on stand-ins built like them (small backbone, head 128, input_scale 0.5, probes).
    """
    from gald_viz.checkpoints import list_bundled, save_model
    from gald_viz.models import build_model

    wanted = {"ga": "synthcity/aspp", "gald": "synthcity/aspp_ldv2"}
    if set(wanted.values()) <= set(list_bundled()):
        return [], ""
    args = []
    for role, name in wanted.items():
        arch = name.split("/")[1]
        model = build_model(arch, backbone="small", head_channels=128, input_scale=0.5)
        args += [f"--{role}", str(save_model(model, workdir / f"{arch}.safetensors"))]
    return args, "random-init stand-ins (bundled weights missing)"


@dataclass(frozen=True)
class Script:
    """A benchmark script without ``run()``: how to call it and how to read its output."""

    name: str
    parse: Callable[[str], list[Row]]
    quick_args: tuple[str, ...] = ()
    prepare: Callable[[Path], tuple[list[str], str]] | None = None


BENCHMARKS: tuple[str, ...] = (
    "synthcity_speed",
    "boundary_f",
    "ldv2_cost",
    "app_latency",
    "big_image",
    "evaluation_job",
    "bootstrap",
    "mechanisms",
    "gpu",
    "merge",
    "pipeline",
)
SCRIPTS: dict[str, Script] = {
    "synthcity_speed": Script("synthcity_speed", parse_synthcity_speed, ("--count", "3")),
    "boundary_f": Script("boundary_f", parse_boundary_f, ("--images", "2", "--oracle-images", "1")),
    "ldv2_cost": Script("ldv2_cost", parse_ldv2_cost, ("--widths", "128", "--repeats", "1")),
    "app_latency": Script("app_latency", parse_goal_table, ("--clicks", "10"), bundled_or_stand_ins),
}


def run_benchmark(name: str, *, quick: bool, timeout: float, show_output: bool) -> list[Row]:
    """One benchmark's rows: its ``run()``, or its script's parsed output (a failure is a row too)."""
    module = importlib.import_module(f"benchmarks.{name}")
    if hasattr(module, "run"):
        return module.run(quick=quick)
    script = SCRIPTS[name]
    with tempfile.TemporaryDirectory(prefix=f"bench_{name}_") as tmp:
        extra, note = script.prepare(Path(tmp)) if script.prepare else ([], "")
        cmd = [
            sys.executable,
            str(ROOT / "benchmarks" / f"{name}.py"),
            *(script.quick_args if quick else ()),
            *extra,
        ]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return [_row("did not finish", f"over {timeout:g} s", met=False)]
    if show_output:
        print(f"\n$ {' '.join(cmd[1:])}\n{proc.stdout}{proc.stderr[-2000:] if proc.returncode else ''}")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return [_row("failed", f"exit {proc.returncode}: {last[:80]}", met=False)]
    rows = script.parse(proc.stdout)
    if not rows:
        last = (proc.stdout.strip().splitlines() or ["no output"])[-1]
        return [_row("output not understood", last[:80])]
    return [_row("models", note), *rows] if note else rows


def _shown(value, unit: str) -> str:
    if isinstance(value, float):
        value = f"{value:.3g}"
    return f"{value} {unit}".strip()


def print_table(results: list[tuple[str, Row]]) -> None:
    header = ("benchmark", "figure", "value", "goal", "met?")
    lines = [
        (
            bench,
            row["name"],
            _shown(row["value"], row.get("unit", "")),
            row.get("goal") or "-",
            row.get("met"),
        )
        for bench, row in results
    ]
    lines = [(*line[:4], "-" if line[4] is None else ("yes" if line[4] else "NO")) for line in lines]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=True)]
    for line in (header, tuple("-" * w for w in widths), *lines):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and repeats (a few minutes)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark script")
    parser.add_argument("--show-output", action="store_true", help="also print each script's own output")
    args = parser.parse_args(argv)
    results: list[tuple[str, Row]] = []
    failed = False
    for name in args.only or BENCHMARKS:
        start = time.perf_counter()
        print(f"[benchmarks] {name}{' (quick)' if args.quick else ''} …", file=sys.stderr, flush=True)
        rows = run_benchmark(name, quick=args.quick, timeout=args.timeout, show_output=args.show_output)
        failed |= any(r["name"] in ("failed", "did not finish") for r in rows)
        results += [(name, row) for row in rows]
        print(f"[benchmarks] {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print()
    print_table(results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
