"""After a non-editable ``pip install``, ``load_model("synthcity/aspp")`` works from any folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from gald_viz.checkpoints import default_pair

REPO = Path(__file__).resolve().parent.parent


def _run(args: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.timeout(300)
def test_installed_package_loads_a_bundled_model(tmp_path: Path) -> None:
    # Build from a copy, so the build (build/, *.egg-info) never touches the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(REPO / "gald_viz", source / "gald_viz", ignore=junk)
    # The system packages (torch, safetensors…) serve the venv; its pip is the system pip, so no
    # ensurepip and nothing is downloaded.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation"]
    _run([*pip, str(source)], cwd=tmp_path)
    shutil.rmtree(source)  # the installed copy must not lean on the source

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import gald_viz; from gald_viz.checkpoints import BUNDLED_DIR, list_bundled, load_model; "
        "m = load_model('synthcity/aspp'); "
        "print(gald_viz.__file__); print(m.arch, len(list_bundled())); "
        "print((BUNDLED_DIR / 'README.md').is_file()); "
        "from gald_viz.checkpoints import default_pair; print(default_pair()[2])"
    )
    where, model, cards, reason = _run([str(python), "-c", probe], cwd=elsewhere).splitlines()
    installed = Path(where).resolve()
    assert env_dir.resolve() in installed.parents and REPO not in installed.parents
    assert model == "aspp 5" and cards == "True"
    # the evidence's default pair ships too (without it the app falls back to a pair with no reason)
    assert reason == default_pair()[2] and "unseen scenes" in reason
