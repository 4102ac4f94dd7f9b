"""The TF-IDF baseline on hand-made tasks whose scores can be worked out by hand."""

import math
import pickle

import pandas as pd
import pytest

from autodistiller import ConfigError, TaskSpec
from autodistiller.baseline import BaselineResult, baseline_note, cached_tfidf_baseline, tfidf_baseline

FILLER = ["the", "movie", "plot", "was", "really", "quite", "a", "story", "and", "acting"]


def _rows(n, *, offset=0, flip=()):
    """``n`` examples: 'superb' -> 1, 'awful' -> 0 (the only informative words); labels of ``flip`` inverted."""
    rows = []
    for i in range(n):
        label = i % 2
        words = [FILLER[(i + offset + k) % len(FILLER)] for k in range(4)] + ["superb" if label else "awful"]
        rows.append({"text": " ".join(words), "label": 1 - label if i in flip else label})
    return pd.DataFrame(rows)


def _task(directory, splits, **spec):
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in splits.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return TaskSpec(str(directory), **spec).load()


def test_keyword_task_scores_match_the_hand_count(tmp_path):
    # dev: every keyword agrees with its label -> accuracy 1; test: 3 of 8 labels flipped -> accuracy 5/8
    task = _task(tmp_path / "kw", {"train": _rows(60), "validation": _rows(10, offset=3),
                                   "test": _rows(8, offset=5, flip={0, 3, 6})})
    result = tfidf_baseline(task)
    assert isinstance(result, BaselineResult)
    assert result.metric == "accuracy" and result.model == "tfidf+logreg"
    assert result.dev_score == 1.0
    assert result.test_score == pytest.approx(5 / 8)
    assert result.train_examples == 60 and result.task == task.name
    assert result.fit_seconds > 0 and result.latency_ms > 0 and result.size_bytes > 1000
    again = tfidf_baseline(task)  # deterministic
    assert (again.dev_score, again.test_score, again.size_bytes) == (result.dev_score, result.test_score,
                                                                     result.size_bytes)


def test_max_train_examples_fits_the_students_seeded_subset(tmp_path):
    from autodistiller.engine import subset_indices

    train, dev, test = _rows(60), _rows(10, offset=3), _rows(8)
    task = _task(tmp_path / "kw", {"train": train, "validation": dev, "test": test})
    result = tfidf_baseline(task, max_train_examples=10, seed=3)
    assert result.train_examples == 10 and result.seed == 3
    # the same as fitting on a task whose training split is exactly the subset a student would see
    keep = subset_indices(train["label"].to_numpy(), 10, seed=3, classification=True)
    assert sorted(train["label"].iloc[keep]) == [0] * 5 + [1] * 5  # stratified
    subset = _task(tmp_path / "subset", {"train": train.iloc[keep], "validation": dev, "test": test})
    direct = tfidf_baseline(subset, seed=3)
    assert (direct.dev_score, direct.test_score, direct.train_examples) == (result.dev_score, result.test_score, 10)
    with pytest.raises(ConfigError, match="max_train_examples=-1 must be >= 0"):
        tfidf_baseline(task, max_train_examples=-1)


def test_pair_task_reads_the_second_text(tmp_path):
    # the label is in text_pair only: a model that ignored it would be at chance (0.5)
    def pairs(n, offset):
        frame = _rows(n, offset=offset)
        return pd.DataFrame({"text": [" ".join(FILLER[(i + offset) % 10: (i + offset) % 10 + 3]) for i in range(n)],
                             "text_pair": frame["text"], "label": frame["label"]})

    task = _task(tmp_path / "pair", {"train": pairs(60, 0), "validation": pairs(10, 2), "test": pairs(10, 4)},
                 text_pair_column="text_pair")
    assert task.card.has_pair
    result = tfidf_baseline(task)
    assert result.dev_score == 1.0 and result.test_score == 1.0


def test_regression_uses_ridge_and_the_task_metric(tmp_path):
    def scores(n, offset):
        frame = _rows(n, offset=offset)
        return frame.assign(label=frame["label"] * 2.0 - 1.0 + 0.01 * (pd.Series(range(n)) % 3))

    task = _task(tmp_path / "reg", {"train": scores(60, 0), "validation": scores(10, 1), "test": scores(10, 2)},
                 task_type="regression")
    result = tfidf_baseline(task)
    assert result.metric == "pearson" and result.model == "tfidf+ridge"
    assert result.dev_score > 0.9 and result.test_score > 0.9  # the keyword explains most of the variance


def test_macro_f1_task_and_the_cache(tmp_path):
    # three classes, macro-F1: dev all right -> 1.0
    def three(n, offset):
        words = ["awful", "meh", "superb"]
        return pd.DataFrame({"text": [f"{FILLER[(i + offset) % 10]} {words[i % 3]}" for i in range(n)],
                             "label": [i % 3 for i in range(n)]})

    task = _task(tmp_path / "three", {"train": three(60, 0), "validation": three(9, 1), "test": three(9, 2)})
    assert task.card.metric == "macro_f1"
    first = cached_tfidf_baseline(task, cache_dir=tmp_path / "cache")
    assert first.dev_score == 1.0 and first.test_score == 1.0
    stored = list((tmp_path / "cache" / "baselines").glob("*.json"))
    assert len(stored) == 1
    again = cached_tfidf_baseline(task, cache_dir=tmp_path / "cache")
    assert again == first  # read back, not refitted (fit_seconds would differ)
    other = cached_tfidf_baseline(task, cache_dir=tmp_path / "cache", max_train_examples=30)
    assert other.train_examples == 30 and len(list((tmp_path / "cache" / "baselines").glob("*.json"))) == 2


def test_size_is_the_pickled_pipeline(tmp_path, monkeypatch):
    task = _task(tmp_path / "kw", {"train": _rows(40), "validation": _rows(6), "test": _rows(6)})
    captured = {}
    real_dumps = pickle.dumps

    def spy(obj, *args, **kwargs):
        data = real_dumps(obj, *args, **kwargs)
        captured["size"] = len(data)
        captured["type"] = type(obj).__name__
        return data

    monkeypatch.setattr(pickle, "dumps", spy)
    result = tfidf_baseline(task)
    assert captured["type"] == "Pipeline" and result.size_bytes == captured["size"]
    assert math.isfinite(result.latency_ms)


def test_the_note_says_when_the_baseline_beats_the_teacher(tmp_path):
    task = _task(tmp_path / "kw", {"train": _rows(60), "validation": _rows(10, offset=3), "test": _rows(8)})
    baseline = tfidf_baseline(task)  # dev accuracy 1.0
    note = baseline_note(baseline, teacher_dev_score=0.9, student_dev_score=0.8)
    assert note == ("a TF-IDF + logistic regression reaches 1.0000 on dev, above the teacher's 0.9000: distillation "
                    "may not be worth it here.")
    assert "at least the student's 0.9000" in baseline_note(baseline, teacher_dev_score=1.0, student_dev_score=0.9)
    assert baseline_note(baseline, teacher_dev_score=1.0, student_dev_score=1.0) is not None  # a tie still costs
    worse = BaselineResult(**{**baseline.to_dict(), "dev_score": 0.5})
    assert baseline_note(worse, teacher_dev_score=0.9, student_dev_score=0.8) is None
