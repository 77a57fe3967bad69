"""Cost of LDv2 against GA-only and GA+LDv1 forwards (GALD, Li et al., IEEE TIP 2021, Table IV).

Times one eval forward (``model(x)``, no upsampling) of ASPP, ASPP+LDv1 and ASPP+LDv2 at 1024×2048 for
the official head width (512) and the bundled small width (128), and the peak memory the forward adds.
The issue's goals: LDv2 adds ≤ 15 % time to the GA-only forward and its peak memory is ≤ 2× the GA-only
forward's (the paper measured +26 % time on a V100).

Time: the three variants of a width are built in one process and run interleaved (A B C A B C …); the
table shows the fastest run of each (wall clock and process CPU time), which is the most stable figure
on a shared machine. Memory: each variant runs once more in its own subprocess, because ``tracemalloc``
cannot see torch's allocations: the forward's peak is the kernel's resident-size high-water mark
(``VmHWM``, reset just before the forward) minus the resident size then (model built, input allocated).
On CUDA the peak comes from the allocator instead.

    python benchmarks/ldv2_cost.py                      # small backbone, widths 512 and 128 (~3 min)
    python benchmarks/ldv2_cost.py --backbone resnet50  # the official backbone (slow on CPU)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch  # noqa: E402

from gald_viz.models import build_model  # noqa: E402
from gald_viz.published import PROVENANCE, table_iv  # noqa: E402

ARCHS = ("aspp", "aspp_ldv1", "aspp_ldv2")


def _status_mib(field: str) -> float:
    """``VmRSS`` or ``VmHWM`` (peak resident size) of this process from /proc, in MiB."""
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _build(arch: str, backbone: str, width: int, device: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(arch, backbone=backbone, head_channels=width, probes=False, aux=False)
    return model.eval().to(device)


def _forward(model: torch.nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """One forward: (wall s, process CPU s)."""
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        model(x)
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0, time.process_time() - c0


def peak_memory(arch: str, backbone: str, width: int, size: tuple[int, int], device: str) -> float:
    """Child process: MiB the first forward adds to the resident size (CUDA: to allocated memory)."""
    model = _build(arch, backbone, width, device)
    x = torch.randn(1, 3, *size, device=device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        _forward(model, x)
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    # Reset the peak to the current size (ru_maxrss cannot be reset and survives fork + exec).
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_mib("VmRSS")
    _forward(model, x)
    return _status_mib("VmHWM") - before


def timings(backbone: str, width: int, size: tuple[int, int], repeats: int, device: str) -> dict[str, dict]:
    """Interleaved runs of every variant after one warm-up each; the fastest run per variant."""
    models = {arch: _build(arch, backbone, width, device) for arch in ARCHS}
    x = torch.randn(1, 3, *size, device=device)
    runs: dict[str, list[tuple[float, float]]] = {arch: [] for arch in ARCHS}
    for model in models.values():
        _forward(model, x)
    for _ in range(repeats):
        for arch, model in models.items():
            runs[arch].append(_forward(model, x))
    return {
        arch: {
            "params": sum(p.numel() for p in models[arch].parameters()),
            "wall_s": min(r[0] for r in runs[arch]),
            "cpu_s": min(r[1] for r in runs[arch]),
        }
        for arch in ARCHS
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="small", help="small (default), resnet50 or resnet101")
    parser.add_argument("--widths", type=int, nargs="+", default=[512, 128], help="GA head widths")
    parser.add_argument("--size", type=int, nargs=2, default=[1024, 2048], metavar=("H", "W"))
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards per variant after a warm-up")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = (args.size[0], args.size[1])
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        arch, width = args.memory_child.split(":")
        print(json.dumps(peak_memory(arch, args.backbone, int(width), size, args.device)))
        return

    print(
        f"LDv2 cost: {size[0]}x{size[1]} input, backbone={args.backbone}, device={args.device}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; fastest of {args.repeats} "
        "interleaved runs; peak = memory the forward adds (own process per variant)"
    )
    header = (
        f"{'width':>5} {'model':<10} {'params':>10} {'wall s':>7} {'x GA':>5} {'cpu s':>7} {'x GA':>5} "
        f"{'peak MiB':>8} {'x GA':>5}"
    )
    print(header)
    print("-" * len(header))
    for width in args.widths:
        rows = timings(args.backbone, width, size, args.repeats, args.device)
        for arch in ARCHS:
            cmd = [sys.executable, __file__, "--memory-child", f"{arch}:{width}", "--backbone", args.backbone]
            cmd += [
                "--size",
                *map(str, size),
                "--device",
                args.device,
                "--threads",
                str(torch.get_num_threads()),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            rows[arch]["peak_mib"] = json.loads(out.strip().splitlines()[-1])
        base = rows["aspp"]
        for arch, row in rows.items():
            print(
                f"{width:>5} {arch:<10} {row['params']:>10,} "
                f"{row['wall_s']:>7.3f} {row['wall_s'] / base['wall_s']:>5.2f} "
                f"{row['cpu_s']:>7.3f} {row['cpu_s'] / base['cpu_s']:>5.2f} "
                f"{row['peak_mib']:>8.0f} {row['peak_mib'] / base['peak_mib']:>5.2f}"
            )
    print("goal: aspp_ldv2 time ratio <= 1.15 and peak ratio <= 2.00 (x GA = ratio to aspp, GA only)")
    print()
    print(published_text())


def published_text() -> str:
    """The paper's Table IV (one V100, 1×3×512×512, ResNet-50) with the same ratios to the GA-only row."""
    table = table_iv()
    base = float(table.loc[table["method"] == "+ASPP", "time_ms_512x512_v100"].iloc[0])
    lines = [f"Table IV, {PROVENANCE}", f"{'method':<22} {'ms':>5} {'x GA':>5} {'params M':>9}"]
    for row in table.itertuples():
        # The paper prints the LD rows' parameters as an increment over +ASPP ("+0.4").
        params = "" if row.params_m != row.params_m else f"{'+' if row.ld != 'none' else ''}{row.params_m}"
        ms = float(row.time_ms_512x512_v100)
        lines.append(f"{row.method:<22} {ms:>5.0f} {ms / base:>5.2f} {params:>9}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
