"""Cost of LDv2 against GA-only and GA+LDv1 forwards (GALD, Li et al., IEEE TIP 2021, Table IV).

Times one eval forward (``model(x)``, no upsampling) of ASPP, ASPP+LDv1 and ASPP+LDv2 at 1024×2048 for
the official head width (512) and the bundled small width (128), and reports the peak resident memory
the forward adds. Each variant runs in its own subprocess, because ``tracemalloc`` cannot see torch's
allocations: the forward's peak is ``ru_maxrss`` after the forwards minus the resident size just before
them (model built, input allocated). The issue's goals: LDv2 adds ≤ 15 % time to the GA-only forward and
its peak memory is ≤ 2× the GA-only forward's (the paper measured +26 % time on a V100).

    python benchmarks/ldv2_cost.py                      # small backbone, widths 512 and 128 (~2 min)
    python benchmarks/ldv2_cost.py --backbone resnet50  # the official backbone (slow on CPU)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

ARCHS = ("aspp", "aspp_ldv1", "aspp_ldv2")


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(
    arch: str, backbone: str, width: int, height: int, img_width: int, repeats: int, device: str
) -> dict:
    """Run in the child process: build, forward ``repeats`` + 1 times, report time and memory."""
    import torch

    from gald_viz.models import build_model

    torch.manual_seed(0)
    model = (
        build_model(arch, backbone=backbone, head_channels=width, probes=False, aux=False).eval().to(device)
    )
    x = torch.randn(1, 3, height, img_width, device=device)
    params = sum(p.numel() for p in model.parameters())
    before = _rss_mib()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base_gpu = torch.cuda.memory_allocated()
    times = []
    with torch.inference_mode():
        for _ in range(repeats + 1):  # the first forward warms up kernels and the allocator
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = model(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result = {
        "arch": arch,
        "width": width,
        "params": params,
        "time_s": statistics.median(times[1:]),
        "forward_peak_mib": peak - before,
        "logits": list(out.shape),
    }
    if device == "cuda":
        result["forward_peak_mib"] = (torch.cuda.max_memory_allocated() - base_gpu) / 2**20
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="small", help="small (default), resnet50 or resnet101")
    parser.add_argument("--widths", type=int, nargs="+", default=[512, 128], help="GA head widths")
    parser.add_argument("--size", type=int, nargs=2, default=[1024, 2048], metavar=("H", "W"))
    parser.add_argument("--repeats", type=int, default=2, help="timed forwards after one warm-up")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (peak memory from the CUDA allocator)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        arch, width = args.child.split(":")
        print(json.dumps(measure(arch, args.backbone, int(width), *args.size, args.repeats, args.device)))
        return

    import torch

    print(
        f"LDv2 cost: {args.size[0]}x{args.size[1]} input, backbone={args.backbone}, device={args.device}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"median of {args.repeats} after 1 warm-up"
    )
    print("memory = peak RSS added by the forward (CPU; CUDA: peak allocated), each variant its own process")
    header = (
        f"{'width':>5} {'model':<11} {'params':>10} {'time s':>8} {'x GA':>6} {'peak MiB':>9} {'x GA':>6}"
    )
    print(header)
    print("-" * len(header))
    for width in args.widths:
        rows = []
        for arch in ARCHS:
            cmd = [sys.executable, __file__, "--child", f"{arch}:{width}", "--backbone", args.backbone]
            cmd += ["--size", *map(str, args.size), "--repeats", str(args.repeats), "--device", args.device]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        base = rows[0]
        for row in rows:
            print(
                f"{width:>5} {row['arch']:<11} {row['params']:>10,} {row['time_s']:>8.3f} "
                f"{row['time_s'] / base['time_s']:>6.2f} {row['forward_peak_mib']:>9.0f} "
                f"{row['forward_peak_mib'] / base['forward_peak_mib']:>6.2f}"
            )
    print("goal: aspp_ldv2 time ratio <= 1.15 and peak ratio <= 2.0")


if __name__ == "__main__":
    main()
