from __future__ import annotations

import os
from pathlib import Path

import pytest

from autodistiller._paths import CACHE_ENV_VAR, cache_root
from autodistiller.testing import one_torch_thread

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: built offline assets the tests reuse from the user's cache: linked entry by entry into the test cache and never
#: written (a missing one is built into the test cache; MLM builds also go to ``models/``, there)
SHARED_ASSET_DIRS = ("models", "tasks", "resources", "pools")
#: fetched package archives: the test cache links the whole folder, so a package is downloaded once per machine
SHARED_DOWNLOADS = "packages"


@pytest.fixture(scope="session", autouse=True)
def test_cache(tmp_path_factory: pytest.TempPathFactory):
    """The whole run uses a temporary cache ($AUTODISTILLER_CACHE, inherited by subprocesses and Ray workers):
    teachers, teacher outputs, augmented copies, TAKD assistants, baselines and MLM builds land there, not in
    ``~/.cache/autodistiller``. The built offline assets of the real cache are reused read-only through symlinks
    (``SHARED_ASSET_DIRS``), so nothing is converted twice; the TREC teacher is fine-tuned once per run."""
    real = cache_root()
    temp = tmp_path_factory.mktemp("autodistiller-cache")
    for dirname in SHARED_ASSET_DIRS:
        (temp / dirname).mkdir()
        if (real / dirname).is_dir():
            for entry in sorted((real / dirname).iterdir()):
                if not entry.name.startswith("."):  # builds in progress, datasets' own cache
                    (temp / dirname / entry.name).symlink_to(entry)
    if not (real / SHARED_DOWNLOADS).is_dir():
        (real / SHARED_DOWNLOADS).mkdir(parents=True)
    (temp / SHARED_DOWNLOADS).symlink_to(real / SHARED_DOWNLOADS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV_VAR, str(temp))
        yield temp


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
    """The real TREC-6 suite task (linked from the shared offline cache, or built on first use)."""
    from autodistiller import TaskSpec

    return TaskSpec("suite:trec6").load()


@pytest.fixture(scope="session")
def trec_teacher(trec):
    """MiniLM fine-tuned on 2,000 TREC-6 questions for 2 epochs: about a minute on 2 CPU cores, once per test run
    (in the test cache)."""
    from autodistiller import TrainingConfig, fine_tune_teacher

    return fine_tune_teacher(trec, training=TrainingConfig(**TREC_TEACHER_TRAINING), log=lambda _: None)
