"""gald_viz.roots: the app opens paths only under its roots, and a refusal says nothing about the path."""

import os

import pytest

from gald_viz.checkpoints import BUNDLED_DIR
from gald_viz.roots import ROOTS_ENV, PathNotAllowedError, allowed_roots, confine


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Working folder tmp/work, one operator root tmp/extra, and tmp/outside outside every root."""
    for name in ("work", "extra", "outside"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv(ROOTS_ENV, str(tmp_path / "extra"))
    monkeypatch.delenv("CITYSCAPES_DATASET", raising=False)
    return tmp_path


def test_roots_are_the_working_folder_bundled_cityscapes_and_operator_folders(roots, monkeypatch):
    assert allowed_roots() == [roots / "work", BUNDLED_DIR.resolve(), roots / "extra"]
    monkeypatch.setenv("CITYSCAPES_DATASET", str(roots / "cs"))
    monkeypatch.setenv(ROOTS_ENV, os.pathsep.join([str(roots / "a"), "", str(roots / "b")]))
    assert allowed_roots() == [roots / "work", BUNDLED_DIR.resolve(), roots / "cs", roots / "a", roots / "b"]


def test_paths_inside_roots_are_resolved(roots):
    (roots / "work" / "results").mkdir()
    assert confine("results/gald_viz.sqlite", "Results database") == roots / "work/results/gald_viz.sqlite"
    assert confine(roots / "extra" / "x.png", "Image") == roots / "extra/x.png"
    assert confine("results/../results", "Folder") == roots / "work/results"
    assert confine(BUNDLED_DIR / "synthcity" / "aspp.safetensors", "GA model checkpoint").is_file()


@pytest.mark.parametrize(
    "path",
    ["/etc/shadow", "../../etc/passwd", "../outside", "results/../../outside/a.png", "~/.ssh/id_rsa", "/"],
)
def test_paths_outside_are_refused(roots, path):
    with pytest.raises(PathNotAllowedError, match=r"outside the folders this app may open") as err:
        confine(path, "Images folder")
    assert str(err.value).startswith(f"Images folder {path!r}:")
    assert isinstance(err.value, ValueError)


def test_a_symlink_out_of_a_root_is_refused(roots):
    (roots / "outside" / "secret.txt").write_text("top secret")
    (roots / "work" / "link").symlink_to(roots / "outside")
    with pytest.raises(PathNotAllowedError):
        confine("link/secret.txt", "Checkpoint")


def test_the_refusal_is_the_same_whether_the_path_exists_or_not(roots):
    (roots / "outside" / "real.png").write_bytes(b"\x89PNG secret bytes")
    messages = []
    for name in ("real.png", "absent.png"):
        with pytest.raises(PathNotAllowedError) as err:
            confine(str(roots / "outside" / name), "Image")
        messages.append(str(err.value).replace(name, "NAME"))
    assert messages[0] == messages[1]
    assert "secret" not in messages[0] and "PNG" not in messages[0]


@pytest.mark.parametrize(
    "path", ["", "   ", "a\x00b", "/" + "x" * 5000], ids=["empty", "blank", "nul", "long"]
)
def test_empty_and_invalid_paths_are_refused_cleanly(roots, path):
    with pytest.raises(PathNotAllowedError) as err:
        confine(path, "Labels folder")
    assert len(str(err.value)) < 600
