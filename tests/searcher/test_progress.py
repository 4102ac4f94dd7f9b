"""The live table of a search: each trial's sampled parameters and dev score, and the best so far."""

from __future__ import annotations

from types import SimpleNamespace

from autodistiller.searcher._progress import SearchProgress, progress_table
from autodistiller.searcher._trainable import FINISHED_KEY

PARAMETERS = ["loss.kind", "loss.temperature", "student.layers"]


def _trial(trial_id, status, config, **result):
    return SimpleNamespace(trial_id=trial_id, status=status, config=config, last_result=result)


TRIALS = [
    _trial("t1", "TERMINATED", {"loss.kind": "kl", "loss.temperature": 2.5, "student.layers": 2},
           epoch=3, dev_score=0.81, best_dev_score=0.84, **{FINISHED_KEY: True}),
    _trial("t2", "RUNNING", {"loss.kind": "mse", "student.layers": 1}, epoch=1, dev_score=0.42, best_dev_score=0.42),
    _trial("t3", "TERMINATED", {"loss.kind": "kl", "loss.temperature": 1.2, "student.layers": 1},
           epoch=1, dev_score=0.3, best_dev_score=0.3),
    _trial("t4", "ERROR", {"loss.kind": "mse", "student.layers": 8}),
    _trial("t5", "PENDING", {}),
]


def test_the_table_shows_parameters_scores_and_the_best_so_far():
    lines = progress_table(TRIALS, PARAMETERS).splitlines()
    assert lines[0] == "best so far: dev_score 0.8400 (trial t1): loss.kind=kl, loss.temperature=2.5, student.layers=2"
    assert lines[1] == "5 trials: 1 running, 1 completed, 1 stopped, 1 failed, 1 pending"
    assert lines[2].split() == ["trial", "state", "epoch", "dev", "best", "dev", *PARAMETERS]
    rows = [line.split() for line in lines[3:]]
    assert rows[0] == ["t2", "running", "1", "0.42", "0.42", "mse", "-", "1"]  # running first; inactive: -
    assert rows[1] == ["t1", "completed", "3", "0.81", "0.84", "kl", "2.5", "2"]
    assert rows[2][:2] == ["t3", "stopped"] and rows[3][:2] == ["t4", "failed"] and rows[4][:2] == ["t5", "pending"]
    assert progress_table(TRIALS, PARAMETERS, max_rows=2).splitlines()[-1] == "... and 3 more"


def test_the_callback_prints_trial_ends_and_a_table_at_most_every_interval():
    out: list[str] = []
    progress = SearchProgress(PARAMETERS, interval_s=3600, out=out.append)
    progress.on_step_end(0, TRIALS)  # nothing happened yet: no table
    assert out == []
    progress.on_trial_result(1, TRIALS, TRIALS[1], {})
    progress.on_step_end(1, TRIALS)  # the first table comes at once
    progress.on_trial_result(2, TRIALS, TRIALS[1], {})
    progress.on_step_end(2, TRIALS)  # then not before interval_s
    assert len(out) == 1 and out[0].startswith("best so far")
    progress.on_trial_complete(3, TRIALS, TRIALS[0])
    assert out[-1] == "trial t1 completed after 3 epochs: dev_score 0.84; best so far 0.8400 (trial t1)"
    progress.on_experiment_end(TRIALS)
    assert out[-1].startswith("best so far") and len(out) == 3


def test_the_first_table_comes_at_once_even_on_a_freshly_started_clock(monkeypatch):
    """time.monotonic() counts from an arbitrary point (the boot on Linux): a node up for less than interval_s
    must still print its first table."""
    monkeypatch.setattr("autodistiller.searcher._progress.time.monotonic", lambda: 5.0)
    out: list[str] = []
    progress = SearchProgress(PARAMETERS, interval_s=3600, out=out.append)
    progress.on_trial_result(1, TRIALS, TRIALS[1], {})
    progress.on_step_end(1, TRIALS)
    assert len(out) == 1 and out[0].startswith("best so far")
