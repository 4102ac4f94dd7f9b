"""Best pipelines per task, and the teacher / best student / TF-IDF baseline table."""

import pandas as pd
import pytest

from autodistiller import ConfigError
from autodistiller import analysis as an
from autodistiller.baseline import BaselineResult


def test_best_pipelines_per_task(meta_frame):
    best = an.best_pipelines(meta_frame, top=3)
    done = meta_frame[meta_frame["status"] == "completed"]
    assert list(best.groupby("task")["rank"].apply(list)) == [[1, 2, 3], [1, 2, 3]]
    for task, group in best.groupby("task"):
        expected = done[done["task"] == task]["student_dev_score"].sort_values(ascending=False).head(3)
        assert list(group["student_dev_score"]) == pytest.approx(list(expected))
    assert {"loss.kind", "intermediate.objective", "training.learning_rate"} <= set(best.columns)
    assert "student.hidden_size" not in best.columns  # fixed in every trial
    assert an.best_pipelines(meta_frame, task="tiny_regression")["task"].tolist() == ["tiny_regression"]
    with pytest.raises(ConfigError, match="top=0 must be >= 1"):
        an.best_pipelines(meta_frame, top=0)


def test_compare_models_puts_the_baseline_beside_teacher_and_student(meta_frame):
    baseline = BaselineResult(task="tiny", metric="accuracy", dev_score=0.95, test_score=0.9, fit_seconds=0.1,
                              size_bytes=2_000_000, latency_ms=0.3, model="tfidf+logreg", train_examples=128)
    table = an.compare_models(meta_frame, {"tiny": baseline})
    assert list(table["model"]) == ["teacher", "best student", "tfidf baseline", "teacher", "best student"]
    tiny = table[table["task"] == "tiny"].set_index("model")
    best_row = meta_frame.loc[meta_frame[meta_frame["status"] == "completed"]
                              .query("task == 'tiny'")["student_dev_score"].idxmax()]
    assert tiny.loc["best student", "dev_score"] == best_row["student_dev_score"]
    assert tiny.loc["best student", "size_mb"] == pytest.approx(best_row["student_params"] * 4 / 1e6)
    assert tiny.loc["teacher", "params"] == best_row["teacher_params"]
    assert tiny.loc["teacher", "latency_ms"] == best_row["teacher_latency_ms"]
    assert tiny.loc["tfidf baseline", "size_mb"] == 2.0 and tiny.loc["tfidf baseline", "test_score"] == 0.9
    assert pd.isna(tiny.loc["tfidf baseline", "params"])
    assert set(table["metric"]) == {"accuracy", "pearson"}
