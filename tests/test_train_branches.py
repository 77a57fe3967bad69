"""Branch learning: distances from the initialisation, gradient shares, learning-rate multipliers."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from gald_viz.models import build_model
from gald_viz.train import TrainError, load_resume, resume_path, train
from gald_viz.train.branches import METADATA_KEY, branch_of
from tests.test_train import tiny_config


def report_of(path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()[METADATA_KEY])


def seed_init(config) -> dict[str, torch.Tensor]:
    """The run's initial weights, rebuilt the slow way: same seed, same constructor."""
    torch.manual_seed(config.seed)
    return {k: v.detach().clone() for k, v in build_model(config.arch, **config.options).named_parameters()}


def test_report_holds_each_branchs_literal_distance_from_init_and_gradient_shares(tmp_path):
    config = tiny_config(tmp_path, iters=3)
    model = train(config, progress=False)
    report = report_of(config.out)
    init = seed_init(config)
    rows = report["branches"]
    assert {"backbone", "ga", "ld.down", "classifier", "aux", "probe_backbone", "probe_ga"} == set(rows)
    for branch, row in rows.items():
        names = [n for n in init if branch_of(n) == branch]
        moved = math.sqrt(
            sum(float((model.state_dict()[n].double() - init[n].double()).pow(2).sum()) for n in names)
        )
        norm = math.sqrt(sum(float(init[n].double().pow(2).sum()) for n in names))
        assert row["params"] == sum(init[n].numel() for n in names)
        assert row["distance"] == pytest.approx(moved, rel=1e-9)
        assert row["relative_distance"] == pytest.approx(moved / norm, rel=1e-9)
        assert row["distance"] > 0, branch
    assert sum(r["grad_share"] for r in rows.values()) == pytest.approx(1.0)
    assert report["grad_steps"] == 3 and report["grad_since_iteration"] == 0


def test_resumed_run_reports_the_same_branch_learning_as_an_uninterrupted_one(tmp_path):
    config = tiny_config(tmp_path, iters=6, save_every=4)
    train(config, progress=False)
    meta, tensors = load_resume(resume_path(config.out))
    assert meta["branch_grad_steps"] == 4 and any(k.startswith("branch.init.") for k in tensors)
    other = replace(config, out=str(tmp_path / "r.safetensors"))
    train(other, resume=str(resume_path(config.out)), progress=False)
    full, resumed = report_of(config.out), report_of(other.out)
    assert resumed["grad_steps"] == 6
    for branch, row in full["branches"].items():
        for key, value in row.items():
            assert resumed["branches"][branch][key] == pytest.approx(value, rel=1e-9), (branch, key)


def test_lr_mult_scales_the_first_step_of_the_named_branch_only(tmp_path):
    base = tiny_config(tmp_path, iters=1, momentum=0.0, wd=0.0)
    plain = train(base, progress=False).state_dict()
    boosted_config = replace(base, out=str(tmp_path / "b.safetensors"), lr_mult={"ld.": 10.0})
    boosted = train(boosted_config, progress=False).state_dict()
    init = seed_init(base)
    norms = []
    for name, start in init.items():
        step, boosted_step = plain[name] - start, boosted[name] - start
        if name.startswith("ld."):
            # float32 weights: each difference carries rounding of about eps * |weight|
            rounding = 4 * torch.finfo(torch.float32).eps * float(start.abs().max())
            torch.testing.assert_close(boosted_step, 10.0 * step, rtol=1e-3, atol=rounding)
            norms.append((float(step.norm()), float(boosted_step.norm())))
        else:
            torch.testing.assert_close(boosted_step, step, rtol=0, atol=0)
    plain_norm, boosted_norm = (math.sqrt(sum(n[i] ** 2 for n in norms)) for i in (0, 1))
    assert plain_norm > 0 and boosted_norm / plain_norm == pytest.approx(10.0, rel=0.02)
    with pytest.raises(TrainError, match="--lr-mult nothing."):
        train(replace(boosted_config, lr_mult={"nothing.": 2.0}), progress=False)


def test_branch_learning_of_reads_the_record_or_rebuilds_the_seed_init(tmp_path):
    import subprocess
    import sys

    from safetensors.torch import load_file, save_file

    from gald_viz.checkpoints import load_model
    from gald_viz.train.branches import branch_learning_of

    config = tiny_config(tmp_path, iters=2)
    train(config, progress=False)
    recorded, source = branch_learning_of(load_model(config.out))
    assert source == "recorded by the trainer" and recorded == report_of(config.out)
    with safe_open(config.out, framework="pt") as f:
        meta = {k: v for k, v in f.metadata().items() if k != METADATA_KEY}
    bare = tmp_path / "bare.safetensors"
    save_file(load_file(config.out), str(bare), metadata=meta)
    rebuilt, source = branch_learning_of(load_model(bare))
    assert "rebuilt initialisation of seed 3" in source
    for branch, row in recorded["branches"].items():
        assert rebuilt["branches"][branch]["distance"] == pytest.approx(row["distance"], rel=1e-9)
        assert rebuilt["branches"][branch]["grad_share"] is None
    printed = subprocess.run(
        [sys.executable, "scripts/branch_learning.py", config.out], capture_output=True, text=True, check=True
    ).stdout
    assert (
        "ld.down" in printed
        and "LDv1 mask W_d" in printed
        and "gradients summed over 2 iterations" in printed
    )


def test_a_run_in_progress_reports_its_branch_learning_from_the_sidecar(tmp_path):
    import subprocess
    import sys

    from safetensors.torch import load_file

    config = tiny_config(tmp_path, iters=6, save_every=4)
    train(config, progress=False)
    sidecar = resume_path(config.out)
    meta, _ = load_resume(sidecar)
    assert meta["iteration"] == 4
    weights = {
        k.removeprefix("model."): v for k, v in load_file(str(sidecar)).items() if k.startswith("model.")
    }
    init = seed_init(config)
    from gald_viz.train.branches import sidecar_branch_learning

    report, source, arch = sidecar_branch_learning(sidecar)
    assert arch == config.arch and "iteration 4 of 6" in source
    for branch, row in report["branches"].items():
        names = [n for n in init if branch_of(n) == branch]
        moved = math.sqrt(sum(float((weights[n].double() - init[n].double()).pow(2).sum()) for n in names))
        assert row["distance"] == pytest.approx(moved, rel=1e-9), branch
    assert report["grad_steps"] == 4 and sum(
        r["grad_share"] for r in report["branches"].values()
    ) == pytest.approx(1)
    printed = subprocess.run(
        [sys.executable, "scripts/branch_learning.py", str(sidecar)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "iteration 4 of 6" in printed and "gradients summed over 4 iterations" in printed
    bad = tmp_path / "x.resume.safetensors"
    bad.write_bytes(b"not a sidecar")
    done = subprocess.run(
        [sys.executable, "scripts/branch_learning.py", str(bad)], capture_output=True, text=True
    )
    assert done.returncode == 1 and str(bad) in done.stderr and "not a safetensors resume file" in done.stderr


def literal_percentile(values, q: float) -> float:
    """numpy's default (linear) percentile, by hand: sort, then interpolate at q/100·(n−1)."""
    ordered = sorted(float(v) for v in values)
    at = q / 100 * (len(ordered) - 1)
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def test_branch_learning_measures_the_ldv1_mask_spread_on_unseen_scenes(tmp_path):
    import re
    import subprocess
    import sys

    import numpy as np

    from gald_viz.analysis import analyse
    from gald_viz.data.synthcity import generate
    from gald_viz.train.branches import sidecar_model

    config = tiny_config(tmp_path, iters=6, save_every=4)
    train(config, progress=False)
    sidecar = resume_path(config.out)
    printed = subprocess.run(
        [sys.executable, "scripts/branch_learning.py", str(sidecar), "--mask-spread", "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(
        r"scene 0: channel mean (\d\.\d{3})-(\d\.\d{3}) \(spread (\d\.\d{3}), (flat|varies) against 0\.05\);"
        r" median channel spread (\d\.\d{3})",
        printed,
    )
    assert found, printed
    mask = analyse(sidecar_model(sidecar)[0], generate(0, "val", seed=4242).image, device="cpu").ldv1_mask
    mask = mask.astype(np.float32)
    cells = mask.reshape(mask.shape[0], -1)
    mean = [sum(float(c) for c in column) / len(column) for column in cells.T.astype(np.float64)]
    p05, p95 = literal_percentile(mean, 5), literal_percentile(mean, 95)
    spreads = sorted(literal_percentile(ch, 95) - literal_percentile(ch, 5) for ch in cells)
    middle = len(spreads) // 2
    median = spreads[middle] if len(spreads) % 2 else (spreads[middle - 1] + spreads[middle]) / 2
    assert [float(found[i]) for i in (1, 2, 3, 5)] == pytest.approx([p05, p95, p95 - p05, median], abs=1.5e-3)
    assert found[4] == ("flat" if p95 - p05 < 0.05 else "varies")


def test_a_probe_stage_is_followed_to_the_stage_that_trained_the_network(tmp_path):
    """The bundled models' last stage trains only their probe heads, so their own record shows every other
    branch at 0; the script then prints the record of the checkpoint that stage started from."""
    import subprocess
    import sys

    base = tiny_config(tmp_path, iters=2)
    train(base, progress=False)
    probes = replace(base, out=str(tmp_path / "p.safetensors"), probes=True, init=base.out, options={})
    train(probes, progress=False)
    assert report_of(probes.out)["branches"]["classifier"]["distance"] == 0.0  # frozen in the probe stage

    def script() -> str:
        run = [sys.executable, "scripts/branch_learning.py", probes.out]
        return subprocess.run(run, capture_output=True, text=True, check=True).stdout

    printed = script()
    assert "This stage trained only the probe heads" in printed and f"--init {base.out}" in printed
    earlier = printed.split(f"== {base.out}: recorded by the trainer\n", 1)[1]
    moved = report_of(base.out)["branches"]["classifier"]["relative_distance"]
    row = next(line for line in earlier.splitlines() if line.startswith("classifier"))
    assert moved > 0 and f"{moved:.4f}" in row
    Path(base.out).rename(tmp_path / "elsewhere.safetensors")
    assert f"({base.out} is not here" in script()
