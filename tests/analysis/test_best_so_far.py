"""Best-so-far against trial number, per search."""

import datetime as dt

import numpy as np
import pandas as pd

from autodistiller import analysis as an


def test_hand_made_search_in_the_order_trials_ended():
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    scores = [0.5, None, 0.4, 0.7, 0.6]
    table = pd.DataFrame({"task": "t", "experiment_id": "e", "trial_id": [f"t{i}" for i in range(5)],
                          "status": ["completed", "failed", "early_stopped", "completed", "completed"],
                          "student_dev_score": scores,
                          "ended_at": [start + dt.timedelta(minutes=i) for i in range(5)]})
    shuffled = table.sample(frac=1.0, random_state=3)
    progress = an.best_so_far(shuffled)
    assert list(progress["trial_id"]) == ["t0", "t1", "t2", "t3", "t4"]
    assert list(progress["trial_number"]) == [1, 2, 3, 4, 5]
    assert list(progress["best_so_far"]) == [0.5, 0.5, 0.5, 0.7, 0.7]
    assert list(progress["improved"]) == [True, False, False, True, False]
    only_done = an.best_so_far(table, status="completed")
    assert list(only_done["best_so_far"]) == [0.5, 0.7, 0.7]


def test_real_searches(meta_frame):
    progress = an.best_so_far(meta_frame)
    assert len(progress) == len(meta_frame)
    searches = progress.groupby(["task", "experiment_id"])
    assert searches.ngroups == 3
    for (_, experiment), group in searches:
        best = group["best_so_far"].to_numpy()
        assert (np.diff(best) >= 0).all()
        rows = meta_frame[meta_frame["experiment_id"] == experiment]
        assert best[-1] == rows["student_dev_score"].max()
        assert list(group["trial_number"]) == list(range(1, len(group) + 1))
    failed = progress[progress["status"] == "failed"]
    assert failed["score"].isna().all() and not failed["improved"].any()
