from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    # The models and matrices here are tiny: a second intra-op thread only adds synchronisation, which turns
    # into a 10-100x slowdown when other processes share the 2 cores.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with _one_thread():
        yield


@pytest.fixture(scope="session")
def tiny_teacher(tiny_dir: Path, tiny_task):
    """The shared tiny teacher (same settings and disk cache as tests/conftest.py), built on one thread."""
    from autodistiller.testing import tiny_teacher

    with _one_thread():
        return tiny_teacher(tiny_dir, tiny_task)
