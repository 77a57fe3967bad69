"""Shared pytest settings: CPU only, few threads, slow tests behind GALD_VIZ_SLOW=1."""

import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("GALD_VIZ_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set GALD_VIZ_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP barriers cost ~50×."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
