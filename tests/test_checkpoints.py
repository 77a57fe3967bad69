"""Project checkpoints round-trip; bundled names resolve; every bad file is refused with a clear message."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn

from gald_viz import checkpoints
from gald_viz.checkpoints import CheckpointError, list_bundled, load_model, save_model
from gald_viz.models import build_model

INPUT_SHAPE = (1, 3, 64, 80)


def _calibrated(name: str, num_classes: int = 19, **options) -> nn.Module:
    """A small zoo model with non-default BatchNorm statistics (so a lost buffer would show)."""
    torch.manual_seed(0)
    model = build_model(name, num_classes=num_classes, **options)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = None
    with torch.no_grad():
        model.train()(torch.randn(2, *INPUT_SHAPE[1:]))
    return model.eval()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A saved small ``cgnl_ldv1`` model and its file."""
    model = _calibrated("cgnl_ldv1")
    path = save_model(model, tmp_path_factory.mktemp("ckpt") / "cgnl_ldv1.safetensors", iters=3, data="x")
    return model, path


def _rewrite(src, dst, *, tensors=None, metadata=None):
    """Copy a safetensors file with some tensors or metadata entries replaced."""
    loaded = safetensors.torch.load_file(str(src))
    with open(src, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    safetensors.torch.save_file(
        loaded | (tensors or {}), str(dst), metadata=header["__metadata__"] | (metadata or {})
    )
    return dst


@pytest.mark.parametrize("name", ["cgnl_ldv1", "aspp_ldv2", "fcn"])
def test_project_round_trip_gives_identical_outputs(name, tmp_path):
    model = _calibrated(name, head_channels=32) if name != "cgnl_ldv1" else _calibrated(name)
    path = save_model(model, tmp_path / f"{name}.safetensors", iters=3, data="synthcity:train", note=None)
    loaded = load_model(path)
    assert type(loaded) is type(model) and not loaded.training
    assert (loaded.arch, loaded.options, loaded.num_classes) == (model.arch, model.options, model.num_classes)
    x = torch.randn(*INPUT_SHAPE)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    info = loaded.checkpoint_info
    assert info["format"] == "project" and info["name"] == path.name
    assert info["path"] == str(path.resolve())
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    meta = info["metadata"]
    assert meta["gald_viz.format"] == "project" and meta["gald_viz.arch"] == name
    assert json.loads(meta["gald_viz.options"]) == model.options
    assert (meta["iters"], meta["data"], meta["note"]) == ("3", "synthcity:train", "null")


def test_save_refuses_reserved_metadata(small, tmp_path):
    with pytest.raises(CheckpointError, match="reserved"):
        save_model(small[0], tmp_path / "m.safetensors", **{"gald_viz.arch": "x"})


def test_bundled_names_resolve_and_unknown_names_list_them(small, tmp_path, monkeypatch):
    (tmp_path / "synthcity").mkdir()
    (tmp_path / "synthcity" / "demo.safetensors").write_bytes(small[1].read_bytes())
    monkeypatch.setattr(checkpoints, "BUNDLED_DIR", tmp_path)
    assert list_bundled() == ["synthcity/demo"]
    model = load_model("synthcity/demo")
    assert model.checkpoint_info["name"] == "synthcity/demo"
    with pytest.raises(CheckpointError, match=r"unknown bundled model 'synthcity/nope'.*synthcity/demo"):
        load_model("synthcity/nope")


def test_bundled_folder_is_package_data_where_the_names_point():
    """The source tree reads the package folder a wheel installs (tests/test_packaging.py installs one)."""
    package = Path(checkpoints.__file__).parent
    assert package / "bundled" == checkpoints.BUNDLED_DIR
    names = ("aspp", "aspp_ldv1", "aspp_ldv2", "cgnl_ldv1", "fcn")
    assert list_bundled() == [f"synthcity/{n}" for n in names]
    for name in list_bundled():
        # Real weights, not Git LFS pointers: a safetensors header starts at byte 8.
        assert (checkpoints.BUNDLED_DIR / f"{name}.safetensors").read_bytes()[8:9] == b"{"
    assert "## " in (checkpoints.BUNDLED_DIR / "README.md").read_text(encoding="utf-8")  # the model cards
    pointer = (package.parent / "checkpoints" / "README.md").read_text(encoding="utf-8")
    assert "gald_viz/bundled/README.md" in pointer


class _RunsACommand:
    """Unpickling this runs ``touch MARKER`` (the classic malicious checkpoint)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch.save", "pickle2", "pickle5"])
def test_pickled_code_is_refused_and_never_runs(writer, tmp_path):
    marker = tmp_path / "PAYLOAD_RAN"
    path = tmp_path / "evil.pth"
    payload = {"conv1.0.weight": _RunsACommand(marker)}
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(writer[-1])))
    with pytest.raises(CheckpointError, match=r"evil\.pth.*refused") as err:
        load_model(path)
    # Protocols 4-5 are refused at their framing opcode, before the import is even read.
    assert writer == "pickle5" or "posix.system" in str(err.value)
    assert not marker.exists()


def test_bad_files_are_named_with_their_problem(small, tmp_path):
    good = small[1].read_bytes()
    torch.save({"w": torch.zeros(1000)}, tmp_path / "ok.pth")
    cases = {
        "empty.pth": (b"", "empty"),
        "random.bin": (np.random.default_rng(0).bytes(4096), "not a checkpoint"),
        "text.pth": (b"hello, I am not a checkpoint\n", "not a checkpoint"),
        "half.safetensors": (good[: len(good) // 2], "truncated safetensors"),
        "half.pth": ((tmp_path / "ok.pth").read_bytes()[:3000], "truncated torch checkpoint"),
    }
    for name, (data, problem) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=problem) as err:
            load_model(tmp_path / name)
        assert name in str(err.value)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(CheckpointError, match="nowhere.pth.*no such file"):
        load_model(tmp_path / "nowhere.pth")
    with pytest.raises(CheckpointError, match="not a file"):
        load_model(tmp_path)


def test_unrelated_state_dict_lists_missing_unexpected_and_shapes(tmp_path):
    path = tmp_path / "resnet_like.pth"
    torch.save({"conv1.0.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(1000, 2048)}, path)
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    msg = str(err.value)
    assert "resnet_like.pth" in msg and "official GALD-Net" in msg
    assert "unexpected keys (1): fc.weight" in msg
    assert re.search(r"missing keys \(\d+\): conv1\.1\.weight", msg)
    assert "conv1.0.weight: file (64, 3, 7, 7) vs model (64, 3, 3, 3)" in msg


def test_project_weights_that_do_not_fit_their_metadata(small, tmp_path):
    model, path = small
    key = "classifier.2.weight"
    assert key in model.state_dict()
    bad = _rewrite(path, tmp_path / "bad.safetensors", tensors={key: torch.zeros(5, 128, 1, 1)})
    with pytest.raises(CheckpointError, match=rf"bad\.safetensors.*{key}: file \(5, 128, 1, 1\)"):
        load_model(bad)
    unknown = _rewrite(path, tmp_path / "arch.safetensors", metadata={"gald_viz.arch": "nope"})
    with pytest.raises(CheckpointError, match=r"arch\.safetensors.*'nope'"):
        load_model(unknown)


def test_wrong_number_of_classes(tmp_path):
    path = save_model(_calibrated("psp", num_classes=7, head_channels=32), tmp_path / "k7.safetensors")
    with pytest.raises(CheckpointError, match=r"k7\.safetensors.*7 classes, expected 19"):
        load_model(path)
    assert load_model(path, num_classes=None).num_classes == 7


def test_official_tensors_in_a_safetensors_file_without_project_metadata(tmp_path):
    # Unrelated tensors without project metadata are judged as an official state dict.
    path = tmp_path / "plain.safetensors"
    safetensors.torch.save_file({"weight": torch.zeros(3)}, str(path))
    with pytest.raises(
        CheckpointError, match="plain.safetensors.*official GALD-Net.*unexpected keys \\(1\\): weight"
    ):
        load_model(path)
