"""Rows as Optuna studies: in memory for the evaluators, and exported to SQLite for optuna-dashboard."""

import math

import optuna
import pytest

from autodistiller import ConfigError
from autodistiller import analysis as an


def test_rows_become_trials_with_their_state_value_and_history(meta_frame):
    tiny = an.select(meta_frame, task="tiny")
    study = an.rows_to_study(tiny)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == len(tiny) == 14
    states = [t.state.name for t in trials]
    assert states.count("COMPLETE") == 12 and states.count("PRUNED") == 1 and states.count("FAIL") == 1
    by_id = {t.user_attrs["trial_id"]: t for t in trials}
    assert by_id["t91"].value is None and "student.layers=8" in by_id["t91"].user_attrs["error"]
    assert by_id["t90"].value == 0.5
    for row in tiny[tiny["status"] == "completed"].to_dict("records"):
        trial = by_id[row["trial_id"]]
        assert trial.value == pytest.approx(row["student_dev_score"])
        assert trial.params["loss.kind"] == row["loss.kind"]
        assert list(trial.intermediate_values.values()) == pytest.approx(list(row["dev_score_history"]))
    assert study.best_value == pytest.approx(tiny.loc[tiny["status"] == "completed", "student_dev_score"].max())
    # only the searched parameters, with distributions spanning the values seen
    assert set(trials[0].distributions) == set(an.searched_params(tiny))
    lr = trials[0].distributions["training.learning_rate"]
    assert (lr.low, lr.high) == (tiny["training.learning_rate"].min(), 2e-2) and lr.log  # spans 100x


def test_null_parameters_stay_out_of_a_trial(make_table):
    table = make_table(lambda row, rng: 0.5, n=10, tasks=("a",),
                       choices={"loss.kind": ["kl", "mse"], "loss.temperature": [1.0, 4.0]})
    table.loc[table["loss.kind"] != "kl", "loss.temperature"] = None
    study = an.rows_to_study(table)
    for trial, row in zip(study.trials, table.sort_values("ended_at").to_dict("records"), strict=True):
        assert ("loss.temperature" in trial.params) == (row["loss.kind"] == "kl")
    dists = an.param_distributions(table, ["loss.temperature", "training.learning_rate", "student.layers"])
    assert type(dists["student.layers"]).__name__ == "IntDistribution"
    assert dists["training.learning_rate"].log  # 1e-5 .. 1e-3: log scale


def test_export_opens_with_load_study(tmp_path, meta_frame):
    out = tmp_path / "study.db"
    written = an.export_optuna(meta_frame, out)
    assert written == {"tiny-search1": 8, "tiny-search2": 6, "tiny_regression-search1": 12}
    storage = f"sqlite:///{out}"
    names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    assert names == set(written)
    study = optuna.load_study(study_name="tiny_regression-search1", storage=storage)
    rows = meta_frame[meta_frame["experiment_id"] == "tiny_regression-search1"]
    assert len(study.trials) == 12 and study.direction.name == "MAXIMIZE"
    assert study.best_value == pytest.approx(rows["student_dev_score"].max())
    assert study.user_attrs["task"] == "tiny_regression" and study.user_attrs["metric"] == "pearson"
    assert study.user_attrs["fixed.student.hidden_size"] == 16
    best = study.best_trial
    assert math.isfinite(best.user_attrs["latency_ms"]) and best.datetime_complete > best.datetime_start
    with pytest.raises(ConfigError, match="already exists.*--overwrite"):
        an.export_optuna(meta_frame, out)
    assert an.export_optuna(meta_frame, out, experiment="tiny-search2", overwrite=True) == {"tiny-search2": 6}
    assert len(optuna.load_study(study_name="tiny-search2", storage=storage).trials) == 6
    with pytest.raises(ConfigError, match="no trial rows"):
        an.export_optuna(meta_frame, out, task="nope")
