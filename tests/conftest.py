from __future__ import annotations

import os
from pathlib import Path

import pytest

from autodistiller.testing import one_torch_thread

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

    with one_torch_thread():
        return tiny_teacher(tiny_dir, tiny_task)


TREC_TEACHER_TRAINING = {"epochs": 2, "max_length": 64, "max_train_examples": 2000, "learning_rate": 1e-4}


@pytest.fixture(scope="session")
def trec():
    """The real TREC-6 suite task (built into the shared offline cache on first use)."""
    from autodistiller import TaskSpec

    return TaskSpec("suite:trec6").load()


@pytest.fixture(scope="session")
def trec_teacher(trec):
    """MiniLM fine-tuned on 2,000 TREC-6 questions for 2 epochs: about a minute on 2 CPU cores, cached on disk."""
    from autodistiller import TrainingConfig, fine_tune_teacher

    return fine_tune_teacher(trec, training=TrainingConfig(**TREC_TEACHER_TRAINING), log=lambda _: None)
