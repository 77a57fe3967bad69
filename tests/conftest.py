"""Shared pytest settings: CPU only, few threads."""

import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP barriers cost ~50×."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def tmp_is_an_app_root(tmp_path_factory, monkeypatch):
    """Pytest's temporary folders are roots the app may open (gald_viz.roots), as an operator would add.

    Tests of the confinement itself set ``GALD_VIZ_ROOTS`` themselves.
    """
    monkeypatch.setenv("GALD_VIZ_ROOTS", str(tmp_path_factory.getbasetemp()))
