"""Row selection and the normalised scores."""

import numpy as np
import pandas as pd
import pytest

from autodistiller import ConfigError
from autodistiller import analysis as an


def test_select_filters_and_never_mutates(meta_frame):
    before = meta_frame.copy(deep=True)
    tiny = an.select(meta_frame, task="tiny", status=["completed", "early_stopped"])
    assert set(tiny["task"]) == {"tiny"} and set(tiny["status"]) == {"completed", "early_stopped"}
    assert len(tiny) == 13  # 12 distillations + the early-stopped trial
    assert len(an.select(meta_frame, family=["tiny_regression"])) == 12
    assert len(an.select(meta_frame, experiment="tiny-search2")) == 6
    pd.testing.assert_frame_equal(meta_frame, before)
    with pytest.raises(ConfigError, match="expected a pandas DataFrame"):
        an.select([1, 2])


def test_with_scores_adds_documented_columns(meta_frame):
    scored = an.with_scores(meta_frame)
    assert "score_percentile" not in meta_frame.columns  # a copy
    done = scored[scored["status"] == "completed"]
    expected = done["student_dev_score"] / done["teacher_dev_score"]
    np.testing.assert_allclose(done["score_retained"], expected)
    # within-task percentile: in (0, 1], rising with the score, ties share it
    for _, group in scored[scored["student_dev_score"].notna()].groupby("task"):
        ordered = group.sort_values("student_dev_score")["score_percentile"].to_numpy()
        assert (np.diff(ordered) >= 0).all() and ordered[0] > 0 and ordered[-1] <= 1
    # effective training-set size: max_train_examples when > 0, else mf.train_size
    capped = scored["training.max_train_examples"] > 0
    assert (scored.loc[capped, "train_size"] == 64).all()
    assert (scored.loc[~capped, "train_size"] == scored.loc[~capped, "mf.train_size"]).all()


def test_with_scores_fills_a_missing_ratio_and_caps_the_size():
    frame = pd.DataFrame({"task": ["x", "x"], "student_dev_score": [0.4, 0.8], "teacher_dev_score": [0.8, 0.0],
                          "score_retained": [None, None], "mf.train_size": [100, 100],
                          "training.max_train_examples": [500, 50]})
    scored = an.with_scores(frame)
    assert scored["score_retained"].iloc[0] == 0.5 and np.isnan(scored["score_retained"].iloc[1])  # no /0
    assert list(scored["train_size"]) == [100.0, 50.0]
    assert list(scored["score_percentile"]) == [0.5, 1.0]


def test_searched_params_are_the_varying_pipeline_keys(meta_frame, null_frame):
    searched = an.searched_params(meta_frame[meta_frame["status"] == "completed"])
    assert set(searched) == {"loss.kind", "intermediate.objective", "augment.pipeline", "training.learning_rate",
                             "training.max_train_examples"}
    # NULL is not a value: a parameter that is constant where it applies is not searched
    assert "loss.temperature" not in an.searched_params(null_frame)
    assert an.searched_params(meta_frame, ["loss.kind", "not.a.key"]) == ["loss.kind"]
