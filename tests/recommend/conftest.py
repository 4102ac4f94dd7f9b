from __future__ import annotations

from pathlib import Path

import pytest

from autodistiller import meta_dataset
from autodistiller.testing import one_torch_thread, tiny_meta_dataset


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory, tiny_task, tiny_teacher):
    """Three tiny tasks of three families (two classification, one regression) with their teachers."""
    from autodistiller.testing import tiny_task as make_task
    from autodistiller.testing import tiny_teacher as make_teacher

    runs = [(tiny_task, tiny_teacher)]
    with one_torch_thread():
        for name, rows, regression in (("tiny_b", 240, False), ("tiny_reg", 240, True)):
            directory = tmp_path_factory.mktemp(name)
            task = make_task(directory, rows=rows, seed=7, regression=regression, name=name)
            runs.append((task, make_teacher(directory, task)))
    return runs


@pytest.fixture(scope="session")
def tiny_meta(tmp_path_factory, tiny_runs) -> Path:
    """A small real meta-dataset: 8 pipelines distilled on each of the three tiny tasks."""
    root = tmp_path_factory.mktemp("recommend") / "meta_dataset"
    return tiny_meta_dataset(root, tiny_runs, cache_dir=tmp_path_factory.mktemp("recommend_cache"))


@pytest.fixture(scope="session")
def tiny_rows(tiny_meta):
    return meta_dataset.load(tiny_meta)
