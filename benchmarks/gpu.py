"""GPU readiness (issue 15 item 5): GALD-Net ResNet-101 speed and memory on the CUDA device present.

Random weights throughout (speed and memory do not depend on them). Rows:

(a) the official-layout GALD-Net ResNet-101 (``OfficialGALDNet``: CGNL + LDv1) on a 1024×2048 SynthCity
    image through ``inference.predict_logits``, whole image and sliding window (the 832 tiles, stride 555
    its ``evaluation`` declares), each in fp32, bf16 autocast, and bf16 with channels-last weights:
    ms/image (median after a warm-up) and peak GPU memory (``max_memory_allocated``, weights included);
(b) the app, headless: the Compare page's first analysis (load both checkpoints from safetensors with
    ``load_model``, ``analyse`` the GA-only ``aspp`` and the GALD ``aspp_ldv2`` ResNet-101, the page's
    scores, error maps and view), the same for a new image, and one click on the Local distribution page
    (``affinity_at`` alone, and ``local_view``);
(c) images/s of ``python -m torch.distributed.run --nproc-per-node R -m gald_viz.evaluate model`` on the
    official model's checkpoint, 1 rank and N ranks (N = CUDA devices), as (t(R + M) − t(R)) / M images
    so start-up is taken out; a failed run (sharding not merged, say) is a row "not run: <reason>";
and Table IV's forwards (``model(x)``, 1×3×512×512, ResNet-50/101 zoo models) beside the paper's V100 ms.

    python benchmarks/gpu.py            # a few minutes on one H200; without CUDA: says so, exits 0
    python benchmarks/gpu.py --quick    # fewer repeats, clicks and images
    python benchmarks/gpu.py --smoke    # the whole path on the CPU at tiny sizes (a test runs it)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gald_viz.analysis import affinity_at, affinity_entropy_map, analyse, same_class_share_map  # noqa: E402
from gald_viz.checkpoints import load_model, save_model  # noqa: E402
from gald_viz.data.synthcity import SynthCity  # noqa: E402
from gald_viz.inference import predict_logits  # noqa: E402
from gald_viz.models import build_model  # noqa: E402
from gald_viz.models.official import OfficialGALDNet  # noqa: E402
from gald_viz.pairing import describe_pair  # noqa: E402
from gald_viz.published import table_iv  # noqa: E402
from gald_viz.train.validate import recorded_scores  # noqa: E402
from gald_viz.views.compare import CompareInputs, compare_view  # noqa: E402
from gald_viz.views.inspector import Choices, local_view  # noqa: E402
from gald_viz.views.parts import display_hw  # noqa: E402
from gald_viz.viz.compare import error_views, image_scores  # noqa: E402
from gald_viz.viz.features import FEATURE_VIEWS  # noqa: E402
from gald_viz.viz.inspector import BACKGROUNDS, static_panels  # noqa: E402

NO_CUDA = "no CUDA device: nothing measured"
#: name → (bf16 autocast, channels-last weights).
VARIANTS: dict[str, tuple[bool, bool]] = {
    "fp32": (False, False),
    "bf16 AMP": (True, False),
    "bf16 AMP + channels-last": (True, True),
}
OPACITY = 0.5  # the app's default label opacity (gald_viz.ui.state)


@dataclass(frozen=True)
class Config:
    """Sizes and counts of one run; ``smoke`` swaps in CPU-sized stand-ins on the same path."""

    device: torch.device
    size: tuple[int, int] = (1024, 2048)
    table_size: int = 512
    repeats: int = 5
    clicks: int = 20
    eval_images: int = 8
    smoke: bool = False
    backbone: str = "resnet101"
    data: str = "synthcity:val"


@dataclass(frozen=True)
class Row:
    name: str
    value: float | str | None
    unit: str
    setting: str
    paper: str = ""

    def __post_init__(self) -> None:  # progress on stderr: a run cut short still shows what it measured
        print(f"[gpu] {self.name}: {_shown(self.value)} {self.unit}", file=sys.stderr, flush=True)


def seconds(fn: Callable[[], object], dev: torch.device) -> float:
    """Wall seconds of one call, the device synchronised before and after."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    start = time.perf_counter()
    fn()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return time.perf_counter() - start


def median_ms(fn: Callable[[], object], dev: torch.device, repeats: int) -> float:
    """Median wall ms of ``repeats`` calls (the caller has warmed up)."""
    return 1000 * statistics.median(seconds(fn, dev) for _ in range(repeats))


def peak_mib(fn: Callable[[], object], dev: torch.device) -> float | None:
    """Peak allocated GPU memory (MiB) during one call, everything allocated included; None on the CPU."""
    if dev.type != "cuda":
        return None
    torch.cuda.reset_peak_memory_stats(dev)
    seconds(fn, dev)
    return torch.cuda.max_memory_allocated(dev) / 2**20


@contextlib.contextmanager
def variant(model: torch.nn.Module, dev: torch.device, name: str):
    """bf16 CUDA autocast (off on the CPU: the setting then says float32) and/or channels-last weights.

    ``predict_logits(..., autocast=True)`` opens its own CUDA autocast without a dtype, so it inherits
    this block's bf16 (without the flag it would switch autocast off).
    """
    amp, channels_last = VARIANTS[name]
    if channels_last:
        model.to(memory_format=torch.channels_last)
    try:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and dev.type == "cuda"):
            yield amp
    finally:
        model.to(memory_format=torch.contiguous_format)


def conv_dtype(model: torch.nn.Module, fn: Callable[[], object]) -> str:
    """The dtype the first convolution computes in during ``fn()`` (checks that autocast took effect)."""
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    seen: list[torch.dtype] = []
    handle = conv.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    fn()  # an error ends the script, so the hook need not outlive it
    handle.remove()
    return str(seen[0]).removeprefix("torch.")


def scenes(cfg: Config, count: int) -> list:
    source = SynthCity(split="val", count=count, height=cfg.size[0], width=cfg.size[1])
    return [source[i] for i in range(count)]


def official_rows(cfg: Config, model: torch.nn.Module, arch: str, image: np.ndarray) -> list[Row]:
    """(a): whole image and sliding window, in each variant: ms/image and peak memory."""
    dev, (h, w) = cfg.device, cfg.size
    model.to(dev)
    scale = h / 1024 if cfg.smoke else 1  # the smoke stand-in slides tiles scaled with its image
    tile, stride = round(model.evaluation.tile * scale), round(model.evaluation.stride * scale)
    rows, tiles = [], {"tile": tile, "stride": stride}
    for mode in ("whole", "slide"):
        where = f"{h}x{w}" + (f", tiles {tile} stride {stride}" if mode == "slide" else "")
        for name in VARIANTS:
            with variant(model, dev, name) as amp:
                run = partial(predict_logits, model, image, device=dev, mode=mode, autocast=amp, **tiles)
                setting = f"{arch}, {where}, conv {conv_dtype(model, run)}"
                ms = median_ms(run, dev, cfg.repeats)
                mib = peak_mib(run, dev)
            label = f"official GALD-Net {'whole image' if mode == 'whole' else 'sliding window'}, {name}"
            rows += [Row(label, ms, "ms/image", setting), Row(f"{label}, peak memory", mib, "MiB", setting)]
    return rows


def table_iv_rows(cfg: Config) -> list[Row]:
    """Table IV's forward ``model(x)`` on 1×3×S×S (no upsampling), fp32 and bf16, beside the V100 ms."""
    dev, s = cfg.device, cfg.table_size
    x = torch.randn(1, 3, s, s, device=dev)
    rows = []
    for row in table_iv().itertuples():
        arch = "fcn" if row.ga == "none" else row.ga + ("" if row.ld == "none" else f"_{row.ld}")
        backbone = "small" if cfg.smoke else ("resnet101" if "101" in row.method else "resnet50")
        torch.manual_seed(0)
        model = build_model(arch, backbone=backbone, probes=False, aux=False).eval().to(dev)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        for name in ("fp32", "bf16 AMP"):
            with variant(model, dev, name), torch.inference_mode():
                dtype = conv_dtype(model, lambda m=model: m(x))
                ms = median_ms(lambda m=model: m(x), dev, cfg.repeats)
            setting = f"{arch} {backbone}, 1x3x{s}x{s}, {params:.1f} M params, conv {dtype}"
            paper = f"{float(row.time_ms_512x512_v100):g} ms (V100)"
            rows.append(Row(f"Table IV {row.method}, {name}", ms, "ms/image", setting, paper))
        del model
        torch.cuda.empty_cache()  # a no-op without CUDA
    return rows


def compare_page(models: dict, sample, source_text: str):
    """The Compare page's inputs and view, as ``ui.compute.compare_inputs`` builds them (no caches)."""
    image, gt = sample.image, sample.label
    an = {role: analyse(m, image, device=next(m.parameters()).device) for role, m in models.items()}
    ga, gald = an["ga"], an["gald"]
    errors = error_views(image, gt, ga.pred, gald.pred, opacity=OPACITY, display_hw=display_hw(image))
    inputs = CompareInputs(
        sample=sample,
        source_text=source_text,
        ga_name="ga",
        gald_name="gald",
        gald_ld_kind=models["gald"].ld_kind,
        opacity=OPACITY,
        ga=ga,
        gald=gald,
        errors=errors,
        scores=(image_scores(ga.pred, gt), image_scores(gald.pred, gt)),
        pair=describe_pair(models["ga"], models["gald"]),
        stage_scores=recorded_scores(models["gald"].checkpoint_info.get("metadata", {})),
    )
    return compare_view(inputs), an


def click_rows(cfg: Config, an, sample) -> list[Row]:
    """One click on the Local distribution page: the look-up alone, and the page's whole view."""
    image, gt = sample.image, sample.label
    choices = Choices(ga_view=FEATURE_VIEWS[0], ga_channel=0, mask_channel=None, background=BACKGROUNDS[0])
    settings = choices.panel_settings(image, OPACITY)
    entropy, share = affinity_entropy_map(an), same_class_share_map(an, gt)
    static = static_panels(an, image, gt, **settings, ga_features=None, entropy=entropy, share=share)
    rng = np.random.default_rng(0)
    points = [(int(rng.integers(cfg.size[1])), int(rng.integers(cfg.size[0]))) for _ in range(cfg.clicks)]

    def page(p: tuple[int, int]):
        return local_view(
            an, sample, static, p, click=None, model_name="gald", source_text="", mask_channel=None
        )

    def median(fn) -> float:  # CPU work on the cached analysis: nothing to synchronise
        return statistics.median(1000 * seconds(lambda p=p: fn(p), torch.device("cpu")) for p in points)

    setting = f"aspp_ldv2 {cfg.backbone}, {cfg.size[0]}x{cfg.size[1]}, median of {cfg.clicks} points"
    return [
        Row("app click: affinity_at look-up", median(lambda p: affinity_at(an, *p, gt)), "ms", setting),
        Row("app click: Local distribution view (local_view)", median(page), "ms", setting),
    ]


def app_rows(cfg: Config, workdir: Path) -> list[Row]:
    """(b): the first analysis (load + Compare page), a new image's, and one click's computation."""
    dev = cfg.device
    paths = {}
    for role, arch in (("ga", "aspp"), ("gald", "aspp_ldv2")):
        torch.manual_seed(0)
        paths[role] = save_model(build_model(arch, backbone=cfg.backbone), workdir / f"{arch}.safetensors")
    first, new = scenes(cfg, 2)
    source_text = f"SynthCity val {cfg.size[0]}x{cfg.size[1]}"
    models, analyses = {}, {}

    def first_call():
        models.update({role: load_model(path, device=dev) for role, path in paths.items()})
        compare_page(models, first, source_text)

    # The process's first CUDA work (context, cuDNN), like a fresh server's first request; it ends with
    # CPU arrays, so no synchronisation is needed, and the allocator's peak since start-up is its own.
    start = time.perf_counter()
    first_call()
    t_first = time.perf_counter() - start
    mib = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None
    t_new = seconds(lambda: analyses.update(compare_page(models, new, source_text)[1]), dev)
    models.clear()
    torch.cuda.empty_cache()
    setting = f"aspp + aspp_ldv2 {cfg.backbone}, {cfg.size[0]}x{cfg.size[1]}, fp32"
    return [
        Row("app first analysis (load 2 models + Compare page)", t_first, "s", setting + ", first call"),
        Row("app first analysis, peak memory", mib, "MiB", setting),
        Row("app analysis of a new image (2 models + Compare page)", t_new, "s", setting + ", models loaded"),
        *click_rows(cfg, analyses["gald"], new),
    ]


def _failure(proc: subprocess.CompletedProcess) -> str:
    """The first error line of a failed run (the rank's own, before torchrun's summary)."""
    lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    found = next((x for x in lines if re.search(r"(Error|Exception|error)\b.*:", x)), None)
    return (found or (lines[-1] if lines else "no output"))[:140]


def evaluate_seconds(cfg: Config, ckpt: Path, ranks: int, limit: int, db: Path) -> float | str:
    """Wall seconds of one torchrun evaluation over ``limit`` images, or the reason it failed."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(ranks)]
    cmd += ["-m", "gald_viz.evaluate", "model", "--model", str(ckpt), "--data", cfg.data]
    cmd += ["--limit", str(limit), "--db", str(db)] + (["--device", "cpu"] if cfg.smoke else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return "timed out after 180 s"
    wall = time.perf_counter() - start
    return wall if proc.returncode == 0 else f"exit {proc.returncode}: {_failure(proc)}"


def eval_rows(cfg: Config, ckpt: Path, arch: str, workdir: Path) -> list[Row]:
    """(c): images/s of the torchrun evaluation with 1 rank and with N ranks (N = CUDA devices)."""
    n = torch.cuda.device_count() if cfg.device.type == "cuda" else 1
    m = cfg.eval_images
    rows = []
    for label, ranks in (("evaluation, 1 rank", 1), ("evaluation, N ranks", n)):
        setting = f"torchrun {ranks} rank(s), {arch}, {cfg.data}, {m} / (t({ranks + m} img) - t({ranks} img))"
        skip = "--smoke runs 1 rank only" if cfg.smoke else "1 CUDA device (the 1-rank row)" if n == 1 else ""
        if label.endswith("N ranks") and skip:
            rows.append(Row(label, f"not run: {skip}", "images/s", setting))
            continue
        start = evaluate_seconds(cfg, ckpt, ranks, ranks, workdir / f"start_{ranks}.sqlite")
        full = evaluate_seconds(cfg, ckpt, ranks, ranks + m, workdir / f"full_{ranks}.sqlite")
        failed = next((r for r in (start, full) if isinstance(r, str)), None)
        value = f"not run: {failed}" if failed else m / max(full - start, 1e-9)
        rows.append(Row(label, value, "images/s", setting))
    return rows


def measure(cfg: Config) -> list[Row]:
    """Every row: the app first (its first call is the process's first CUDA work), then (a), (c), Table IV."""
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as tmp:
        workdir = Path(tmp)
        rows = app_rows(cfg, workdir)
        torch.manual_seed(0)  # the official layout; --smoke: the zoo's CGNL + LDv1 on the small backbone
        arch = "cgnl_ldv1_small" if cfg.smoke else "official_gald_r101"
        model = build_model("cgnl_ldv1", probes=False, aux=False) if cfg.smoke else OfficialGALDNet(depth=101)
        ckpt = save_model(model.eval(), workdir / f"{arch}.safetensors")
        rows += official_rows(cfg, model, arch, scenes(cfg, 1)[0].image)
        model.cpu()
        del model
        torch.cuda.empty_cache()
        rows += eval_rows(cfg, ckpt, arch, workdir)
    return rows + table_iv_rows(cfg)


def _shown(value) -> str:
    if value is None:
        return "n/a (CPU)"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def table_text(rows: list[Row]) -> str:
    header = ("name", "value", "unit", "setting", "paper")
    cells = [(r.name, _shown(r.value), r.unit, r.setting, r.paper or "-") for r in rows]
    widths = [max(len(c) for c in col) for col in zip(header, *cells, strict=True)]
    lines = [header, tuple("-" * w for w in widths), *cells]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def config(smoke: bool, quick: bool) -> Config:
    if smoke:
        data = "synthcity:val:size=128x256"
        return Config(torch.device("cpu"), (128, 256), 64, 1, 3, 2, True, "small", data)
    dev = torch.device("cuda")
    return Config(dev, repeats=2, clicks=10, eval_images=4) if quick else Config(dev)


def describe(cfg: Config) -> str:
    cuda = cfg.device.type == "cuda"
    where = f"{torch.cuda.get_device_name()} ({torch.cuda.device_count()} device(s))" if cuda else "CPU"
    return (
        f"GPU readiness{' --smoke' if cfg.smoke else ''} on {where}, torch {torch.__version__}: random "
        f"weights; ms = median of {cfg.repeats} after a warm-up; peak = max_memory_allocated (weights "
        f"included); fp32 convs: cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}; paper = GALD Table IV"
    )


def run(quick: bool = False) -> list[dict]:
    """Rows for ``python -m benchmarks`` (setting and paper figure in the name); "skipped" without CUDA."""
    if not torch.cuda.is_available():
        return [{"name": NO_CUDA, "value": "skipped", "unit": "", "goal": "", "met": None}]
    return [
        {"name": f"{r.name} [{r.setting}]" + (f" (paper: {r.paper})" if r.paper else ""), "value": r.value}
        | {"unit": r.unit, "goal": "", "met": None}
        for r in measure(config(False, quick))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, clicks and images")
    parser.add_argument("--smoke", action="store_true", help="the whole path on the CPU at tiny sizes")
    args = parser.parse_args(argv)
    if not args.smoke and not torch.cuda.is_available():
        print(NO_CUDA)
        return 0
    cfg = config(args.smoke, args.quick)
    start = time.perf_counter()
    rows = measure(cfg)
    print(describe(cfg))
    print(table_text(rows))
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
