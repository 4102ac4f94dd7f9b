from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny")


@pytest.fixture(scope="session")
def tiny_task(tiny_dir: Path):
    from autodistiller.testing import tiny_task

    return tiny_task(tiny_dir, rows=160)


@pytest.fixture(scope="session")
def tiny_teacher(tiny_dir: Path, tiny_task):
    from autodistiller.testing import tiny_teacher

    return tiny_teacher(tiny_dir, tiny_task)
