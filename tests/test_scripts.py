"""The scripts in scripts/ run as plain scripts from a checkout (no install, any working directory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "scripts").glob("*.py")))
def test_every_script_starts_outside_the_checkout(name, tmp_path):
    done = run_script(name, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_the_label_set_examples_are_what_their_script_writes(tmp_path):
    done = run_script("make_label_set_examples.py", "--out", str(tmp_path / "ex"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "ex").iterdir())
    assert written == ["ade20k-150.json", "cityscapes-categories.json", "five-class.csv", "five-class.json"]
    for name in written:
        assert (tmp_path / "ex" / name).read_bytes() == (ROOT / "docs" / "examples" / name).read_bytes(), name


def test_train_bundled_with_resume_skips_a_finished_run(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "fcn.safetensors").write_bytes(b"finished")  # a run writes OUT only when it finishes
    env = {**os.environ, "RESUME": "1", "STAGES": "fcn"}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "train_bundled.sh"), str(runs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"finished already: {runs / 'fcn.safetensors'}" in done.stdout
    assert (runs / "fcn.safetensors").read_bytes() == b"finished"
    assert sorted(p.name for p in runs.iterdir()) == ["fcn.safetensors"]  # nothing trained, no log
