"""The Pareto front: a hand-made table with a known answer, and the real tiny meta-dataset."""

import numpy as np
import pandas as pd
import pytest

from autodistiller import ConfigError
from autodistiller import analysis as an

# (trial, task, dev score, parameters, latency ms)
POINTS = [
    ("A", "x", 0.9, 10, 5.0),   # front: best score
    ("B", "x", 0.8, 5, 5.0),    # front: fewer parameters than A
    ("C", "x", 0.8, 10, 5.0),   # dominated by A (better score, same costs)
    ("D", "x", 0.7, 5, 1.0),    # front: fastest
    ("E", "x", 0.7, 5, 2.0),    # dominated by D (same score and size, slower)
    ("F", "x", 0.9, 10, 5.0),   # a copy of A: neither dominates the other, both stay
    ("G", "x", 0.99, 1, None),  # no latency: left out
    ("H", "y", 0.1, 100, 100.0),  # alone in its task: on that task's front
    ("I", "x", 0.95, 1, 0.5),   # failed: not a completed trial
]


def _table():
    return pd.DataFrame([{"trial_id": t, "task": task, "student_dev_score": s, "student_params": p, "latency_ms": lat,
                          "status": "failed" if t == "I" else "completed", "experiment_id": "e"}
                         for t, task, s, p, lat in POINTS])


def test_front_of_a_hand_made_table():
    table = _table()
    before = table.copy()
    front = an.pareto_front(table)
    assert sorted(front["trial_id"]) == ["A", "B", "D", "F", "H"]
    assert list(front["task"]) == ["x", "x", "x", "x", "y"]  # sorted by task, then by parameters
    pd.testing.assert_frame_equal(table, before)
    # across tasks, H is dominated by A
    assert sorted(an.pareto_front(table, per_task=False)["trial_id"]) == ["A", "B", "D", "F"]
    # one cost: parameters only -> G (no latency, but the smallest and best) dominates task x
    assert sorted(an.pareto_front(table, costs=["student_params"])["trial_id"]) == ["G", "H"]
    # every status: the failed trial I dominates everything in task x
    assert sorted(an.pareto_front(table, status=None)["trial_id"]) == ["H", "I"]


def test_pareto_mask_directly():
    scores = np.array([1.0, 2.0, 2.0, 0.5])
    costs = np.array([[1.0], [1.0], [3.0], [0.5]])
    assert list(an.pareto_mask(scores, costs)) == [False, True, False, True]
    with pytest.raises(ConfigError, match="costs=\\(\\) is empty"):
        an.pareto_front(_table(), costs=())


def test_front_of_the_real_meta_dataset(meta_frame):
    front = an.pareto_front(meta_frame)
    done = meta_frame[meta_frame["status"] == "completed"]
    assert set(front["task"]) == set(done["task"])
    assert set(front["status"]) == {"completed"}
    for task, group in done.groupby("task"):
        on = front[front["task"] == task]
        values = group[["student_dev_score", "student_params", "latency_ms"]].to_numpy(float)
        for row in on[["student_dev_score", "student_params", "latency_ms"]].to_numpy(float):
            dominated = ((values[:, 0] >= row[0]) & (values[:, 1:] <= row[1:]).all(axis=1)
                         & ((values[:, 0] > row[0]) | (values[:, 1:] < row[1:]).any(axis=1)))
            assert not dominated.any()
        # every trial off the front is dominated by one on it
        front_values = on[["student_dev_score", "student_params", "latency_ms"]].to_numpy(float)
        for trial, row in zip(group["trial_id"], values, strict=True):
            if trial in set(on["trial_id"]):
                continue
            assert ((front_values[:, 0] >= row[0]) & (front_values[:, 1:] <= row[1:]).all(axis=1)).any()
