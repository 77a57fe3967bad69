"""Validation curves during training and early stopping when the trained heads stop rising."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from safetensors import safe_open

from gald_viz.analysis import analyse
from gald_viz.data.synthcity import SynthCity
from gald_viz.train import load_resume, resume_path, train
from gald_viz.train.validate import VAL_SEED
from tests.test_train import TINY_OPTIONS, tiny_config


def metadata(path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


def literal_miou(preds, labels) -> float:
    """Mean over classes with a non-empty union of TP / (TP + FP + FN), pixel by pixel sets."""
    ious = []
    for c in range(19):
        tp = fp = fn = 0
        for pred, label in zip(preds, labels, strict=True):
            valid = label != 255
            tp += int(((pred == c) & (label == c)).sum())
            fp += int(((pred == c) & (label != c) & valid).sum())
            fn += int(((pred != c) & (label == c)).sum())
        if tp + fp + fn:
            ious.append(tp / (tp + fp + fn))
    return float(np.mean(ious))


def test_curve_points_are_the_mious_of_the_heads_on_unseen_val_scenes(tmp_path):
    config = tiny_config(tmp_path, iters=4, val_every=2, val_images=2, save_every=2)
    model = train(config, progress=False)
    curve = json.loads(metadata(config.out)["val_curve"])
    assert [p["iteration"] for p in curve] == [2, 4]
    assert set(curve[-1]["scores"]) == {"out", "probe.backbone", "probe.ga"}
    samples = list(SynthCity("val", 2, VAL_SEED, *config.data_size))
    analyses = [analyse(model, s.image, device="cpu") for s in samples]
    labels = [s.label for s in samples]
    for head in ("out", "probe.backbone", "probe.ga"):
        preds = [a.pred if head == "out" else a.probe_preds[head] for a in analyses]
        assert curve[-1]["scores"][head] == pytest.approx(literal_miou(preds, labels), abs=1e-12)
    meta, _ = load_resume(resume_path(config.out))
    assert [p["iteration"] for p in meta["val_curve"]] == [2]  # the sidecar carries the curve so far


def test_probe_run_stops_when_its_validation_miou_stops_rising(tmp_path):
    base = tiny_config(tmp_path, iters=2, options={**TINY_OPTIONS, "probes": False})
    train(base, progress=False)
    probes = replace(
        base,
        out=str(tmp_path / "p.safetensors"),
        probes=True,
        init=base.out,
        options={},
        iters=20,
        lr=1e-12,  # the probes cannot move: their scores stay flat, so one validation of patience ends it
        val_every=2,
        val_images=1,
        patience=1,
    )
    train(probes, progress=False)
    meta = metadata(probes.out)
    assert json.loads(meta["iterations_run"]) == 4
    assert [p["iteration"] for p in json.loads(meta["val_curve"])] == [2, 4]
    assert "stopping at iteration 4" in (tmp_path / "p.log").read_text()
    from gald_viz.model_cards import _iters, _stage_line  # the card counts the iterations it ran

    assert _stage_line(2, meta).startswith("  2. 4 iterations (of 20 planned: validation stopped rising),")
    assert _iters([metadata(base.out), meta]) == "2 + 4"
    assert _stage_line(1, metadata(base.out)).startswith("  1. 2 iterations, batch")


def test_model_card_shows_each_stages_branch_learning_and_validation_curve(tmp_path):
    from gald_viz.model_cards import Card, _learning_lines

    config = tiny_config(tmp_path, iters=4, val_every=2, val_images=1)
    train(config, progress=False)
    meta = metadata(config.out)
    card = Card("x", meta, [meta], 1, 0.1, "0" * 64, 0.5, [0.1] * 4, [3, 5, 9, 12], 1, "cpu")
    text = "\n".join(_learning_lines(card))
    report = json.loads(meta["branch_learning"])
    assert f"{report['branches']['ld.down']['distance']:9.3f}" in text and "LDv1 mask W_d" in text
    curve = json.loads(meta["val_curve"])
    assert "| iteration | out | probe.backbone | probe.ga |" in text
    assert f"| 4 | {100 * curve[1]['scores']['out']:.1f} |" in text


def test_model_cards_list_every_class_iou_and_say_which_floor_a_model_misses():
    from gald_viz.model_cards import Card, _class_table

    def card(name, arch, miou, ious, n=100):
        meta = {"gald_viz.arch": arch}
        return Card(name, meta, [meta], 1, 0.1, "0" * 64, miou, [0.1] * 4, [3, 5, 9, 12], n, "cpu", ious)

    cards = [
        card("fcn", "fcn", 0.5, {"road": 0.9, "pole": 0.1}),
        card("aspp", "aspp", 0.7, {"road": 0.95, "pole": 0.25}),
        card("aspp_ldv1", "aspp_ldv1", 0.66, {"road": 0.97, "pole": 0.15}),
        card("cgnl_ldv1", "cgnl_ldv1", 0.64, {"road": 0.97, "pole": 0.3}, n=50),
    ]
    text = "\n".join(_class_table(cards))
    assert "| pole | 10.0 | 25.0 | 15.0 | 30.0 |" in text
    assert "| **lowest** | pole 10.0 | pole 25.0 | pole 15.0 | pole 30.0 |" in text
    assert "`synthcity/fcn`" not in text.split("Floors")[1]  # no GA or GALD head: no floor
    assert "- `synthcity/aspp`: met." in text
    assert "- `synthcity/aspp_ldv1`: **not met**: below the floor, pole 15.0." in text
    assert "- `synthcity/cgnl_ldv1`: **not met**: below the floor, mIoU 64.0 %; only 50 images." in text
