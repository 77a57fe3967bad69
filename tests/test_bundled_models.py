"""The bundled SynthCity models: each loads by name, fits the size cap and segments unseen scenes far above
chance."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from gald_viz.checkpoints import load_model
from gald_viz.data.synthcity import generate
from gald_viz.model_evidence import EVIDENCE_DATA

BUNDLED = ("fcn", "aspp", "aspp_ldv1", "aspp_ldv2", "cgnl_ldv1")
UNSEEN_SEED = int(EVIDENCE_DATA.rsplit("seed=", 1)[1])  # seed 4242: no training or validation uses it


@lru_cache(maxsize=2)
def unseen(index: int):
    return generate(index, split="val", seed=UNSEEN_SEED)  # 1024×2048, the size the models work at


def literal_miou(preds: list[np.ndarray], labels: list[np.ndarray], num_classes: int = 19) -> float:
    """Mean over the classes present (in GT or prediction) of pooled intersection / union, counted pixel by
    pixel class by class, ignore label 255 left out."""
    ious = []
    for c in range(num_classes):
        inter = union = 0
        for pred, label in zip(preds, labels, strict=True):
            valid = label != 255
            inter += int(np.count_nonzero((pred == c) & (label == c) & valid))
            union += int(np.count_nonzero(((pred == c) | (label == c)) & valid))
        if union:
            ious.append(inter / union)
    return float(np.mean(ious))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_loads_by_name_fits_the_cap_and_segments_unseen_scenes(name):
    from gald_viz.inference import predict

    model = load_model(f"synthcity/{name}")
    assert Path(model.checkpoint_info["path"]).stat().st_size <= 8 * 2**20, "bundled models are <= 8 MB"
    assert model.options.get("probes"), "bundled models carry probe heads"
    samples = [unseen(0), unseen(1)]
    preds = [predict(model, s.image, device="cpu") for s in samples]
    labels = [s.label for s in samples]
    # chance: answering each scene's majority class (road) everywhere
    majority = [np.full_like(lab, np.bincount(lab[lab != 255]).argmax()) for lab in labels]
    chance = literal_miou(majority, labels)
    assert chance < 0.05
    assert literal_miou(preds, labels) > 0.30
    assert all(np.unique(p).size >= 10 for p in preds)
