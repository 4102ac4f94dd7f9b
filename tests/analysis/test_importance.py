"""Hyper-parameter importance through Optuna's fANOVA and PED-ANOVA evaluators."""

import numpy as np
import pytest

from autodistiller import ConfigError
from autodistiller import analysis as an


@pytest.mark.parametrize(("driver", "score"), [
    ("intermediate.objective", lambda row, rng: 0.5 + 0.3 * (row["intermediate.objective"] == "mi_alpha")),
    ("training.learning_rate", lambda row, rng: 0.9 + 0.1 * np.log10(row["training.learning_rate"])),
])
def test_the_parameter_that_drives_the_score_ranks_first(make_table, driver, score):
    table = make_table(score, n=60, tasks=("a", "b"))
    importance = an.param_importance(table, seed=0)
    assert set(importance["evaluator"]) == {"fanova", "ped_anova"}
    assert set(importance["task"]) == {"a", "b", an.POOLED}
    first = importance[importance["rank"] == 1]
    assert len(first) == 6  # 2 evaluators x (2 tasks + pooled)
    assert (first["param"] == driver).all(), first[["evaluator", "task", "param", "importance"]]
    fanova = importance[(importance["evaluator"] == "fanova") & (importance["param"] == driver)]
    assert (fanova["importance"] > 0.5).all()


def test_importance_on_the_real_meta_dataset(meta_frame):
    before = meta_frame.copy(deep=True)
    importance = an.param_importance(meta_frame)
    assert meta_frame.equals(before)
    assert set(importance["task"]) == {"tiny", "tiny_regression", an.POOLED}
    sums = importance.groupby(["evaluator", "task"])["importance"].sum()
    np.testing.assert_allclose(sums, 1.0)
    done = meta_frame[meta_frame["status"] == "completed"]
    assert set(importance["param"]) <= set(an.searched_params(done))
    assert (importance.loc[importance["task"] == "tiny", "n_trials"] == 12).all()
    stages = an.stage_importance(importance)
    merged = stages.merge(importance.groupby(["evaluator", "task", "stage"])["importance"].sum().rename("sum"),
                          on=["evaluator", "task", "stage"])
    np.testing.assert_allclose(merged["importance"], merged["sum"])
    kd = an.stage_importance(importance, stages=an.KD_STAGES)
    assert set(kd["stage"]) <= set(an.KD_STAGES)
    np.testing.assert_allclose(kd.groupby(["evaluator", "task"])["importance"].sum(), 1.0)


def test_conditional_parameters_are_left_out_by_fanova_only(make_table):
    # loss.temperature applies to kl only (NULL elsewhere) and drives the score where it applies
    def score(row, rng):
        return 0.5 + (0.1 * row["loss.temperature"] if row["loss.kind"] == "kl" else 0.0)

    table = make_table(score, n=60, tasks=("a", "b"),
                       choices={"loss.kind": ["kl", "mse"], "loss.temperature": [1.0, 2.0, 3.0, 4.0]})
    table.loc[table["loss.kind"] != "kl", "loss.temperature"] = None
    importance = an.param_importance(table, per_task=False)
    fanova = set(importance.loc[importance["evaluator"] == "fanova", "param"])
    ped = importance[importance["evaluator"] == "ped_anova"].set_index("param")
    assert "loss.temperature" not in fanova and "loss.kind" in fanova
    assert "loss.temperature" in ped.index and ped.loc["loss.temperature", "rank"] <= 2


def test_small_studies_are_skipped_and_bad_arguments_rejected(meta_frame):
    assert an.param_importance(meta_frame, min_trials=50).empty
    with pytest.raises(ConfigError, match="choose from"):
        an.param_importance(meta_frame, evaluators=["shap"])
    with pytest.raises(ConfigError, match="min_trials=2 must be >= 3"):
        an.param_importance(meta_frame, min_trials=2)
