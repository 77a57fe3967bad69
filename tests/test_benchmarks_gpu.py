"""benchmarks/gpu.py: the whole script path at tiny sizes on the CPU (--smoke), and its CUDA-less exit.

The GPU figures themselves are only measured on a CUDA machine (speed targets live in benchmarks/, never
in timed tests); here the table must hold every row, with plausible values and the paper's Table IV ms.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu.py"
# Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP barriers cost ~50×.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}

VARIANTS = ("fp32", "bf16 AMP", "bf16 AMP + channels-last")
APP_ROWS = [
    ("app first analysis (load 2 models + Compare page)", "s"),
    ("app first analysis, peak memory", "MiB"),
    ("app analysis of a new image (2 models + Compare page)", "s"),
    ("app click: affinity_at look-up", "ms"),
    ("app click: Local distribution view (local_view)", "ms"),
]
OFFICIAL_ROWS = [
    (f"official GALD-Net {mode}, {variant}{peak}", unit)
    for mode in ("whole image", "sliding window")
    for variant in VARIANTS
    for peak, unit in (("", "ms/image"), (", peak memory", "MiB"))
]
EVAL_ROWS = [("evaluation, 1 rank", "images/s"), ("evaluation, N ranks", "images/s")]
# GALD (IEEE TIP 2021) Table IV: ms per 1×3×512×512 image on one V100, as printed.
TABLE_IV_MS = {
    "FCN (ResNet50)": 60,
    "+ASPP": 65,
    "+ASPP+LDv1": 70,
    "+ASPP+LDv2": 82,
    "FCN (ResNet101)+ASPP": 120,
}
TABLE_IV_ROWS = [(f"Table IV {m}, {v}", "ms/image") for m in TABLE_IV_MS for v in ("fp32", "bf16 AMP")]


def _table(out: str) -> list[list[str]]:
    """The printed table's rows as [name, value, unit, setting, paper] (columns 2+ spaces apart)."""
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("name "))
    assert re.split(r"\s{2,}", lines[header].strip()) == ["name", "value", "unit", "setting", "paper"]
    assert set(lines[header + 1].replace(" ", "")) == {"-"}
    rows = []
    for line in lines[header + 2 :]:
        if line.startswith("total "):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


@pytest.fixture(scope="module")
def smoke_rows() -> list[list[str]]:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[0].startswith("GPU readiness --smoke on CPU")
    return _table(proc.stdout)


def test_smoke_table_has_every_row_in_order(smoke_rows):
    expected = APP_ROWS + OFFICIAL_ROWS + EVAL_ROWS + TABLE_IV_ROWS
    assert len(expected) == 5 + 12 + 2 + 10
    assert all(len(row) == 5 for row in smoke_rows), smoke_rows
    assert [(row[0], row[2]) for row in smoke_rows] == expected


def test_smoke_values_are_measured(smoke_rows):
    for name, value, unit, setting, _paper in smoke_rows:
        if unit == "MiB":
            assert value == "n/a (CPU)", name  # the CPU has no allocator peak to report
        elif name == "evaluation, N ranks":
            assert value == "not run: --smoke runs 1 rank only"
        else:
            assert float(value) > 0, (name, value)
        if name.startswith("official GALD-Net") or name.startswith("Table IV"):
            # bf16 autocast is CUDA autocast, off on the CPU, and the setting says what was computed.
            assert setting.endswith("conv float32"), (name, setting)
        if name.startswith("official GALD-Net sliding"):
            assert "tiles 104 stride 69" in setting  # 832/555 scaled by 128/1024, rounded
        if name.startswith("app "):
            assert setting.startswith("aspp") and "small, 128x256" in setting
    rates = {row[0]: float(row[1]) for row in smoke_rows if row[2] in ("s", "ms", "ms/image")}
    # Plausibility at these sizes on any CPU: an affinity look-up indexes arrays, no network runs.
    assert rates["app click: affinity_at look-up"] < rates["app click: Local distribution view (local_view)"]
    assert rates["app click: affinity_at look-up"] < 50


def test_smoke_table_iv_rows_carry_the_published_ms(smoke_rows):
    papers = {row[0]: row[4] for row in smoke_rows if row[0].startswith("Table IV")}
    for method, ms in TABLE_IV_MS.items():
        for variant in ("fp32", "bf16 AMP"):
            assert papers[f"Table IV {method}, {variant}"] == f"{ms} ms (V100)"
    others = [row[4] for row in smoke_rows if not row[0].startswith("Table IV")]
    assert set(others) == {"-"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_without_cuda_nothing_is_measured():
    proc = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "no CUDA device: nothing measured\n"
    sys.path.insert(0, str(ROOT))
    from benchmarks import gpu

    # python -m benchmarks calls run(): one row in its convention, skipped.
    assert gpu.run(quick=True) == [
        {"name": "no CUDA device: nothing measured", "value": "skipped", "unit": "", "goal": "", "met": None}
    ]


def test_a_failed_evaluation_run_is_a_reason_not_a_crash():
    """What a torchrun evaluation that fails reports (the row then reads "not run: <reason>")."""
    sys.path.insert(0, str(ROOT))
    from benchmarks import gpu

    cfg = gpu.config(smoke=True, quick=False)
    with tempfile.TemporaryDirectory() as tmp:
        missing = Path(tmp) / "missing.safetensors"
        reason = gpu.evaluate_seconds(cfg, missing, 1, 1, Path(tmp) / "db.sqlite")
    assert reason == f"exit 1: error: checkpoint {str(missing)!r}: no such file"
