"""The code base stays lint-clean and formatted (ruff settings in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_is_clean():
    proc = ruff("check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean():
    proc = ruff("format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_gald_viz_ui_imports_streamlit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "gald_viz").rglob("*.py")
        if "ui" not in path.relative_to(ROOT / "gald_viz").parts[:1]
        and any(
            line.lstrip().startswith(("import streamlit", "from streamlit"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert offenders == []
