"""gald_viz.train: loss goes down, checkpoints round-trip, resume continues."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gald_viz.train import (
    TrainConfig,
    TrainError,
    batch_at,
    build_dataset,
    load_resume,
    ohem_cross_entropy,
    parse_args,
    poly_lr,
    resume_path,
    segmentation_loss,
    train,
)

TINY_OPTIONS = {"backbone": "small", "head_channels": 16, "probes": True, "aux": True, "input_scale": 1.0}


def tiny_config(tmp_path: Path, **changes) -> TrainConfig:
    """A run small enough for a unit test: 2 pool images at 128×256, 64×128 crops, batch 2."""
    config = TrainConfig(
        arch="aspp_ldv1",
        data="synthcity",
        out=str(tmp_path / "m.safetensors"),
        iters=12,
        batch=2,
        crop=(64, 128),
        scale=(0.75, 1.25),
        lr=0.02,
        seed=3,
        options=dict(TINY_OPTIONS),
        pool=2,
        data_size=(128, 256),
        save_every=4,
        log_every=2,
    )
    return replace(config, **changes)


def state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_poly_lr_decays_to_zero_with_power_0_9():
    assert poly_lr(0.1, 0, 10) == pytest.approx(0.1)
    assert poly_lr(0.1, 5, 10) == pytest.approx(0.1 * 0.5**0.9)
    assert poly_lr(0.1, 10, 10) == 0.0


def test_ohem_keeps_at_least_min_kept_hardest_pixels():
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 4, 5) * 4
    target = torch.randint(0, 3, (1, 4, 5))
    target[0, 0, :2] = 255
    per_pixel = F.cross_entropy(logits, target, ignore_index=255, reduction="none").flatten()
    valid = per_pixel[target.flatten() != 255]
    # thresh 0 keeps nothing by itself: exactly the min_kept hardest pixels remain.
    expected = valid.sort(descending=True).values[:7].mean()
    got = ohem_cross_entropy(logits, target, thresh=0.0, min_kept=7)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    # thresh above every probability keeps every valid pixel: plain cross-entropy.
    assert ohem_cross_entropy(logits, target, thresh=1.01, min_kept=1).item() == pytest.approx(
        valid.mean().item()
    )


def test_option_values_parse_as_json_and_resume_sidecar_sits_beside_out():
    config, _ = parse_args(
        [
            "--arch",
            "fcn",
            "--data",
            "synthcity",
            "--out",
            "x/m.safetensors",
            "--option",
            "probes=true",
            "--option",
            "backbone=small",
            "--option",
            "input_scale=0.5",
        ]
    )
    assert config.options == {"probes": True, "backbone": "small", "input_scale": 0.5}
    assert resume_path(config.out) == Path("x/m.resume.safetensors")


def test_cli_flags_and_defaults_come_from_the_config_fields():
    from dataclasses import fields

    from gald_viz.train.cli import build_parser

    flags = {a.dest: a for a in build_parser()._actions}
    for f in fields(TrainConfig):
        if f.name == "momentum":  # the paper's value; no flag
            assert f.name not in flags
            continue
        action = flags[f.name]
        assert action.help, f.name
        assert action.required == (f.name in ("arch", "data", "out")), f.name
    defaults, _ = parse_args(["--arch", "a", "--data", "d", "--out", "o"])
    assert defaults == TrainConfig(arch="a", data="d", out="o")
    argv = "--arch a --data d --out o --iters 7 --crop 3 4 --scale 1 2 --ohem --probes --init i"
    argv += " --init-only x. --init-only y. --freeze z. --option n=[1,2] --data-size 5 6 --ohem-min-kept 9"
    changed, _ = parse_args(argv.split())
    assert (changed.iters, changed.crop, changed.scale, changed.data_size) == (7, (3, 4), (1.0, 2.0), (5, 6))
    assert (changed.ohem, changed.probes, changed.init, changed.ohem_min_kept) == (True, True, "i", 9)
    assert (changed.init_only, changed.freeze, changed.options) == (["x.", "y."], ["z."], {"n": [1, 2]})


def test_resume_check_names_exactly_the_settings_a_resumed_run_must_repeat():
    from gald_viz.train.config import resume_mismatches

    saved = TrainConfig(arch="fcn", data="synthcity", out="a")
    changes = dict(arch="aspp", data="cityscapes", out="b", iters=2, batch=2, crop=(1, 1), scale=(1.0, 1.0))
    changes |= dict(lr=1.0, wd=1.0, momentum=0.5, seed=1, ohem=True, ohem_thresh=0.1, ohem_min_kept=1)
    changes |= dict(
        probes=True, init="x", init_only=["x"], freeze=["x"], lr_mult={"x": 2.0}, options={"x": 1}
    )
    changes |= dict(pool=1, val_every=5, val_images=3, patience=2)
    changes |= dict(data_size=(1, 1), save_every=1, log_every=1)
    must_repeat = [
        name for name, value in changes.items() if resume_mismatches(saved, replace(saved, **{name: value}))
    ]
    assert must_repeat == [
        *("arch", "data", "iters", "batch", "crop", "scale", "lr", "wd", "seed", "ohem", "probes", "freeze"),
        *("lr_mult", "options", "pool", "val_every", "val_images", "patience", "data_size"),
    ]


def test_training_batches_are_normalised_exactly_as_inference_preprocesses(tmp_path):
    from gald_viz.inference import PRESETS, normalise_batch, preprocess

    dataset, _ = build_dataset(tiny_config(tmp_path), 1.0, progress=False)
    images, _ = batch_at(dataset, 0, 2)
    for preset in PRESETS:
        one_by_one = torch.cat([preprocess(im.permute(1, 2, 0).numpy(), preset) for im in images])
        assert torch.equal(normalise_batch(images, preset), one_by_one), preset


def test_training_lowers_loss_and_checkpoint_rebuilds_identically(tmp_path):
    from gald_viz.checkpoints import load_model
    from gald_viz.models import build_model

    config = tiny_config(tmp_path)
    torch.manual_seed(config.seed)
    untrained = build_model(config.arch, **config.options)
    model = train(config, progress=False, command="test")

    loaded = load_model(config.out)
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    meta = loaded.checkpoint_info["metadata"]
    assert meta["iters"] == "12" and meta["seed"] == "3" and meta["command"] == "test"
    assert (meta["crop"], meta["probes_only"], meta["freeze"]) == ("[64, 128]", "false", "[]")
    assert meta["data"].startswith("synthcity:train seed=3 pool=2") and "out" not in meta
    assert meta["git_commit"] and meta["device"].startswith("cpu")
    assert (tmp_path / "m.log").read_text().count("iter ") == 6

    dataset, _ = build_dataset(config, untrained.input_scale)
    images, labels = batch_at(dataset, 0, 4)
    from gald_viz.inference import normalise_batch

    x = normalise_batch(images, untrained.preset)
    with torch.no_grad():
        before, _ = segmentation_loss(untrained.train().forward_train(x), labels, config)
        after, _ = segmentation_loss(model.train().forward_train(x), labels, config)
    assert after < 0.9 * before


def test_resume_continues_from_saved_iteration_and_matches_uninterrupted_run(tmp_path):
    config = tiny_config(tmp_path, iters=6, save_every=4)
    full = train(config, progress=False)
    sidecar = resume_path(config.out)
    meta, _ = load_resume(sidecar)
    assert meta["iteration"] == 4

    resumed = train(replace(config, out=str(tmp_path / "r.safetensors")), resume=str(sidecar), progress=False)
    assert "resumed from" in (tmp_path / "r.log").read_text()
    for key, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, msg=key)

    with pytest.raises(TrainError, match="batch"):
        train(replace(config, batch=3), resume=str(sidecar), progress=False)


def test_probes_only_run_changes_probe_heads_and_nothing_else(tmp_path):
    base = tiny_config(tmp_path, iters=2, options={**TINY_OPTIONS, "probes": False})
    frozen = state(train(base, progress=False))
    probed = train(
        replace(base, out=str(tmp_path / "p.safetensors"), probes=True, init=base.out, options={}, iters=3),
        progress=False,
    )
    after = probed.state_dict()
    assert any(k.startswith("probe") for k in after)
    for key, value in frozen.items():
        assert torch.equal(after[key], value), key


def test_freeze_keeps_backbone_and_its_bn_statistics_and_trains_the_rest(tmp_path):
    base = tiny_config(tmp_path, iters=2, arch="fcn")
    before = state(train(base, progress=False))
    cont = replace(base, out=str(tmp_path / "f.safetensors"), init=base.out, freeze=["backbone."], iters=3)
    after = train(cont, progress=False).state_dict()
    backbone = [k for k in before if k.startswith("backbone.")]
    assert any("running_mean" in k for k in backbone)
    for key in backbone:
        assert torch.equal(after[key], before[key]), key
    changed = [k for k in before if not k.startswith("backbone.") and not torch.equal(after[k], before[k])]
    assert any(k.startswith("classifier.") for k in changed), changed
    with pytest.raises(TrainError, match="no parameter"):
        train(replace(cont, freeze=["nothing."]), progress=False)


def test_loss_skips_outputs_of_frozen_parts_only(tmp_path):
    from gald_viz.models import build_model

    config = tiny_config(tmp_path, arch="fcn")
    model = build_model(config.arch, **config.options).train()
    for name, param in model.named_parameters():
        param.requires_grad_(not name.startswith(("backbone.", "aux.")))
    x, y = torch.randn(2, 3, 64, 128), torch.randint(0, 19, (2, 64, 128))
    _, parts = segmentation_loss(model.forward_train(x), y, config)
    assert set(parts) == {"out", "probe.backbone"}
    with torch.no_grad():  # measuring, not training: every output counts
        _, parts = segmentation_loss(model.forward_train(x), y, config)
    assert set(parts) == {"out", "probe.backbone", "aux"}


def test_model_cards_take_published_rows_of_the_same_arrangement_and_keep_notes(tmp_path):
    from gald_viz.model_cards import BEGIN, END, _published, update_readme

    miou, boundary = _published("aspp_ldv2")
    assert miou == 80.8 and len(boundary) == 4 and boundary[0] == 74.0  # Table I(d) and Table V, LDv2
    assert _published("aspp") == (77.2, None)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nold\n{END}\nnotes\n")
    update_readme(readme, f"{BEGIN}\nnew\n{END}")
    assert readme.read_text() == f"intro\n{BEGIN}\nnew\n{END}\nnotes\n"
