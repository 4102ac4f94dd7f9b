"""A search checks its meta-dataset and the places it writes to before the teacher and Ray start."""

from __future__ import annotations

import time

import pytest

from autodistiller import ConfigError
from autodistiller import meta_dataset as md
from autodistiller.searcher import search, space_from_dict
from autodistiller.searcher._preflight import check_meta_dataset, check_writable

SPACE = {"parameters": {"loss.kind": "kl", "student.layers": 1, "training.epochs": 1}}


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if the search got as far as the teacher or Ray."""
    import autodistiller.searcher._tuner as tuner

    def reached(*args, **kwargs):
        raise AssertionError("the search reached the teacher or Ray before the check")

    monkeypatch.setattr(tuner, "fine_tune_teacher", reached)
    monkeypatch.setattr(tuner, "init_ray", reached)


def test_writable_locations_pass_and_leave_nothing_behind(tmp_path):
    check_writable(str(tmp_path / "new" / "runs"), "--storage")
    assert list(tmp_path.iterdir()) == []  # the directories it made to probe are gone again
    (tmp_path / "runs").mkdir()
    check_writable(str(tmp_path / "runs"), "--storage")
    check_writable(f"file://{tmp_path}/uri", "--meta-dataset")
    assert list((tmp_path / "runs").iterdir()) == [] and list((tmp_path / "uri").iterdir()) == []


def test_unwritable_locations_are_clear_errors(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=rf"--storage {blocker}/runs is not writable \(.*choose another --storage"):
        check_writable(str(blocker / "runs"), "--storage")
    with pytest.raises(ConfigError, match=r"--meta-dataset file://.*/a-file/rows is not writable"):
        check_writable(f"file://{blocker}/rows", "--meta-dataset")


def test_a_corrupt_meta_dataset_file_is_named_with_how_to_move_it_aside(tmp_path):
    root = tmp_path / "rows"
    (root / "task=trec6").mkdir(parents=True)
    bad = root / "task=trec6" / "old__t1.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(md.MetaDatasetError, match=rf"{bad}: not a readable Parquet file(.|\n)*"
                                                  rf"mkdir -p {root}/_unreadable && mv {bad}"):
        check_meta_dataset(str(root))
    check_meta_dataset(str(tmp_path / "nothing-yet"))  # an empty meta-dataset is fine


@pytest.mark.parametrize("fault", ["corrupt rows", "unwritable storage", "unwritable meta-dataset"])
def test_search_checks_before_the_teacher_and_ray(tmp_path, tiny_task, no_compute, fault):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    storage, rows = tmp_path / "runs", tmp_path / "rows"
    if fault == "corrupt rows":
        (rows / "task=tiny").mkdir(parents=True)
        (rows / "task=tiny" / "x__y.parquet").write_bytes(b"garbage")
        expected, error = "x__y.parquet: not a readable Parquet file", md.MetaDatasetError
    elif fault == "unwritable storage":
        storage, expected, error = blocker / "runs", "--storage .* is not writable", ConfigError
    else:
        rows, expected, error = blocker / "rows", "--meta-dataset .* is not writable", ConfigError
    started = time.time()
    with pytest.raises(error, match=expected):
        search(tiny_task, space_from_dict(SPACE), trials=1, storage=str(storage), meta_dataset_path=str(rows),
               log=lambda _: None)  # no teacher given: it would be fine-tuned next
    assert time.time() - started < 10


def test_a_regression_task_gets_the_space_and_portfolio_it_can_run_before_the_teacher(tmp_path, no_compute):
    from autodistiller.testing import tiny_task

    task = tiny_task(tmp_path, rows=60, seed=2, regression=True, name="scores")
    with pytest.raises(ConfigError, match="fixed to 'kl', which a regression task cannot use"):
        search(task, space_from_dict(SPACE), trials=1, storage=str(tmp_path / "runs"), log=lambda _: None)
    space = space_from_dict({"parameters": {"loss.kind": {"choices": ["kl", "annealing"]}, "student.layers": 1}})
    with pytest.raises(ConfigError, match="loss.kind='mse' lies outside the space"):  # kl's counterpart
        search(task, space, trials=1, points_to_evaluate=[{"loss.kind": "kl"}], storage=str(tmp_path / "runs"),
               log=lambda _: None)
    lines: list[str] = []
    space = space_from_dict({"parameters": {"loss.kind": {"choices": ["kl", "mse"]}, "student.layers": 1}})
    with pytest.raises(AssertionError, match="reached the teacher"):
        search(task, space, trials=2, points_to_evaluate=[{"loss.kind": "kl"}, {"loss.kind": "mse"}],
               storage=str(tmp_path / "runs"), log=lines.append)
    assert "search: task scores: loss.kind: ['kl'] left out (a regression task cannot use them)" in lines
    assert "search: task scores: pipeline 1: loss.kind kl -> mse" in lines
    assert "search: task scores: pipeline 2 left out: it repeats pipeline 1 as adapted" in lines
