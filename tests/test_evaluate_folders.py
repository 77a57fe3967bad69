"""`python -m gald_viz.evaluate folders`: the contract-4 JSON, the table, per-image CSV, and clear errors."""

import csv
import json
import math
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gald_viz
from gald_viz import evaluate, folder_scores
from gald_viz.data.labels import CLASS_NAMES
from gald_viz.metrics.boundary import DEFAULT_THRESHOLDS, boundary_prf, radii_px
from gald_viz.metrics.confusion import confusion_matrix, iou_per_class, mean_iou
from gald_viz.pipeline import PipelineOptions

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"classes", "thresholds", "radius_px", "n_images", "boundary_f", "iou"}


def _pair(rng, h, w):
    coarse = rng.integers(0, 12, size=(h // 8 + 1, w // 8 + 1))  # classes 12..18 never occur
    gt = np.kron(coarse, np.ones((8, 8), np.int64))[:h, :w].astype(np.uint8)
    gt[: h // 5, : w // 4] = 255
    pred = np.roll(gt, 2, axis=1)
    pred[rng.random((h, w)) < 0.03] = 3
    return pred, gt


def _write(folder: Path, name: str, array: np.ndarray) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(folder / name)


@pytest.fixture()
def folders(tmp_path):
    rng = np.random.default_rng(0)
    pairs = {
        "a.png": _pair(rng, 40, 64),
        "b.png": _pair(rng, 40, 64),
        "city/c.png": _pair(rng, 30, 50),  # a second image size, in a subfolder
    }
    for name, (pred, gt) in pairs.items():
        _write(tmp_path / "pred", name, pred)
        _write(tmp_path / "gt", name, gt)
    return tmp_path / "pred", tmp_path / "gt", pairs


def test_cli_writes_contract_json(folders, tmp_path):
    pred_dir, gt_dir, pairs = folders
    out, per_image = tmp_path / "out" / "res.json", tmp_path / "per_image.csv"
    cmd = [sys.executable, "-m", "gald_viz.evaluate", "folders", "--pred", str(pred_dir), "--gt", str(gt_dir)]
    proc = subprocess.run(
        [*cmd, "--json", str(out), "--per-image", str(per_image)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert set(data) == KEYS
    assert data["classes"] == list(CLASS_NAMES)
    assert data["thresholds"] == list(DEFAULT_THRESHOLDS)
    assert data["radius_px"] == [
        list(radii_px(DEFAULT_THRESHOLDS, 40, 64)),
        list(radii_px(DEFAULT_THRESHOLDS, 30, 50)),
    ]
    assert data["n_images"] == 3
    assert set(data["boundary_f"]) == {"per_class", "mean"} and set(data["iou"]) == {"per_class", "mean"}

    # the same numbers in process: mean of per-image F, IoU of the summed confusion matrix
    f_sum, cm = 0.0, 0
    for name in sorted(pairs):
        pred, gt = pairs[name]
        f_sum = f_sum + boundary_prf(pred, gt).f
        cm = cm + confusion_matrix(pred, gt)
    per_class = f_sum / len(pairs)
    np.testing.assert_allclose(data["boundary_f"]["per_class"], per_class, rtol=0, atol=1e-15)
    np.testing.assert_allclose(data["boundary_f"]["mean"], per_class.mean(axis=1), rtol=0, atol=1e-15)
    assert np.array(data["boundary_f"]["per_class"]).shape == (4, 19)
    iou = iou_per_class(cm)
    assert [v is None for v in data["iou"]["per_class"]] == [bool(math.isnan(v)) for v in iou]
    assert data["iou"]["per_class"][12:] == [None] * 7  # absent classes: NaN -> null
    np.testing.assert_allclose([v for v in data["iou"]["per_class"] if v is not None], iou[:12], atol=1e-15)
    assert data["iou"]["mean"] == pytest.approx(mean_iou(cm), abs=1e-15)

    # tiny images: every default threshold is 1 px, and the table says so
    assert "Table V layout" in proc.stdout and "1 px (0.00088 diag)" in proc.stdout
    assert "40×64: 1/1/1/1 px" in proc.stdout and "30×50: 1/1/1/1 px" in proc.stdout
    iou_row = next(line for line in proc.stdout.splitlines() if line.startswith("IoU "))
    assert iou_row.split()[-8:] == ["-"] * 7 + [f"{100 * mean_iou(cm):.1f}"]
    with per_image.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 19 * 4
    assert list(rows[0]) == list(folder_scores.PER_IMAGE_COLUMNS)
    row = next(
        r for r in rows if r["image"] == "city/c.png" and r["class"] == "road" and r["threshold"] == "0.005"
    )
    prf_c = boundary_prf(*pairs["city/c.png"])
    assert float(row["f"]) == pytest.approx(prf_c.f[3, 0], abs=1e-6)
    assert int(row["radius_px"]) == prf_c.radii[3]


def test_pixel_thresholds_and_workers(folders):
    pred_dir, gt_dir, _ = folders
    one = evaluate.evaluate_folders(pred_dir, gt_dir, thresholds=(3, 0.05))
    two = evaluate.evaluate_folders(pred_dir, gt_dir, thresholds=(3, 0.05), workers=2)
    assert one.to_json() == two.to_json()
    assert one.to_json()["thresholds"] == [3, 0.05]
    assert one.to_json()["radius_px"] == [[3, 4], [3, 3]]


def _run(argv, capsys):
    code = evaluate.main(argv)
    return code, capsys.readouterr()


def test_missing_counterpart_is_named(folders, capsys):
    pred_dir, gt_dir, _ = folders
    (gt_dir / "b.png").unlink()
    code, out = _run(["folders", "--pred", str(pred_dir), "--gt", str(gt_dir)], capsys)
    assert code == 2 and "b.png" in out.err and "--pred" in out.err
    (pred_dir / "b.png").unlink()
    (pred_dir / "a.png").unlink()
    code, out = _run(["folders", "--pred", str(pred_dir), "--gt", str(gt_dir)], capsys)
    assert code == 2 and "a.png" in out.err and "no counterpart" in out.err


def test_size_mismatch_and_multichannel_are_named(folders, capsys):
    pred_dir, gt_dir, _ = folders
    _write(pred_dir, "a.png", np.zeros((20, 30), np.uint8))
    code, out = _run(["folders", "--pred", str(pred_dir), "--gt", str(gt_dir)], capsys)
    assert code == 2 and str(pred_dir / "a.png") in out.err and "20x30" in out.err and "40x64" in out.err
    _write(pred_dir, "a.png", np.zeros((40, 64, 3), np.uint8))
    code, out = _run(["folders", "--pred", str(pred_dir), "--gt", str(gt_dir)], capsys)
    assert code == 2 and str(pred_dir / "a.png") in out.err and "3 channels" in out.err


def test_bad_folder_and_threshold(folders, tmp_path, capsys):
    pred_dir, gt_dir, _ = folders
    code, out = _run(["folders", "--pred", str(tmp_path / "nope"), "--gt", str(gt_dir)], capsys)
    assert code == 2 and "nope" in out.err
    code, out = _run(["folders", "--pred", str(pred_dir), "--gt", str(gt_dir), "--thresholds", "2.5"], capsys)
    assert code == 2 and "--thresholds" in out.err


def test_model_subcommand_calls_jobs(monkeypatch, capsys):
    calls = {}

    def run_job(**kwargs):
        calls.update(kwargs)
        return "run-1"

    fake = types.SimpleNamespace(
        DEFAULT_DB=Path("results/gald_viz.sqlite"),
        run_job=run_job,
        summary_text=lambda run_id, db: f"summary of {run_id} in {db}",
    )
    monkeypatch.setitem(sys.modules, "gald_viz.jobs", fake)
    monkeypatch.setattr(gald_viz, "jobs", fake, raising=False)
    code, out = _run(
        ["model", "--model", "synthcity/aspp", "--data", "synthcity:val", "--limit", "2"], capsys
    )
    assert code == 0
    assert calls == {
        "model": "synthcity/aspp",
        "data": "synthcity:val",
        "limit": 2,
        "device": "auto",
        "db": Path("results/gald_viz.sqlite"),
        "thresholds": DEFAULT_THRESHOLDS,
        "progress": True,
        "shard": None,
        "options": PipelineOptions(),  # --workers min(2, cores), --batch 1, no --amp
    }
    assert "summary of run-1" in out.out
    argv = ["model", "--model", "m", "--data", "d", "--db", "x.sqlite", "--thresholds", "3", "0.01"]
    assert _run(argv, capsys)[0] == 0
    assert calls["db"] == Path("x.sqlite") and calls["thresholds"] == (3, 0.01)
