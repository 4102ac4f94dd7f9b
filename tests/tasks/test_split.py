"""Splits of one local file: grouped (no group crosses splits), recorded as source row ids, and reproducible from
``split.json``."""

import json
import random

import numpy as np
import pandas as pd
import pytest

from autodistiller import TaskError, TaskSpec
from autodistiller.baseline import tfidf_baseline
from autodistiller.tasks import SPLIT_FILE, TaskSplit

_SUBJECTS = ["the cat", "a dog", "my neighbour", "the old man", "a child", "the teacher", "our team", "the bird"]
_VERBS = ["sat on", "looked at", "ran past", "painted", "found", "lost", "carried", "watched"]
_OBJECTS = ["the mat", "a red car", "the river", "a small box", "the garden", "an apple", "the door", "a kite"]
_EXPLAIN = ["because it was tired", "since the sun was out", "for no reason", "as it always does",
            "which surprised everyone", "while it rained", "after lunch", "before the storm", "to win a bet",
            "out of habit", "by accident", "on purpose"]


def _pair_file(path, *, sentences=60, seed=0):
    """A pair dataset whose card says "split by sentence": each sentence comes with 4-12 candidate
    explanations, labelled plausible (1), implausible (0) or unclear (2)."""
    rng = random.Random(seed)
    rows = []
    for i in range(sentences):
        sentence = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} on day {i}"
        for explanation in rng.sample(_EXPLAIN, rng.randint(4, 12)):
            rows.append({"sentence": sentence, "explanation": explanation, "label": rng.choice([0, 0, 1, 1, 2])})
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    return frame


def _spec(path, **kwargs):
    return TaskSpec(str(path), text_column="sentence", text_pair_column="explanation", **kwargs)


def test_a_grouped_split_never_leaks_a_group(tmp_path):
    frame = _pair_file(tmp_path / "pairs.csv")
    plain = _spec(tmp_path / "pairs.csv").load()
    seen = [set(plain.splits[s]["text"]) for s in ("train", "validation", "test")]
    assert seen[0] & seen[1] and seen[0] & seen[2]  # the trap: every dev sentence is also in train

    task = _spec(tmp_path / "pairs.csv", group_column="sentence").load()
    train, dev, test = (set(task.splits[s]["text"]) for s in ("train", "validation", "test"))
    assert not (train & dev) and not (train & test) and not (dev & test)
    assert len(train | dev | test) == frame["sentence"].nunique()
    rows = task.card.rows
    assert sum(rows.values()) == len(frame)
    assert 0.05 < rows["validation"] / len(frame) < 0.16 and 0.05 < rows["test"] / len(frame) < 0.16
    for split in ("train", "validation", "test"):  # stratified where the groups allow: every class everywhere
        assert set(task.labels(split)) == {0, 1, 2}
    assert task.split.method == "grouped_stratified" and task.split.seed == 13
    assert "grouped by column 'sentence'" in task.split.description and "seed 13" in task.split.description
    # the recorded row ids are the rows of the file, in the split's order
    for split in ("train", "validation", "test"):
        source = frame.iloc[task.split.source_rows[split]]
        assert source["sentence"].tolist() == task.splits[split]["text"]
        assert source["explanation"].tolist() == task.splits[split]["text_pair"]
    again = _spec(tmp_path / "pairs.csv", group_column="sentence").load()
    assert again.fingerprint() == task.fingerprint()


def test_grouped_split_of_a_regression_file_and_errors(tmp_path):
    frame = _pair_file(tmp_path / "pairs.csv")
    frame["score"] = np.linspace(0, 1, len(frame))
    frame.to_csv(tmp_path / "scores.csv", index=False)
    task = _spec(tmp_path / "scores.csv", label_column="score", task_type="regression", group_column="sentence").load()
    assert not set(task.splits["train"]["text"]) & set(task.splits["test"]["text"])
    with pytest.raises(TaskError, match=r"group column 'author' is missing.*--group-column"):
        _spec(tmp_path / "pairs.csv", group_column="author").load()
    few = frame[frame["sentence"].isin(frame["sentence"].unique()[:5])]
    few.to_csv(tmp_path / "few.csv", index=False)
    with pytest.raises(TaskError, match=r"has 5 distinct groups: too few .*at least 10 needed"):
        _spec(tmp_path / "few.csv", group_column="sentence").load()


def test_a_saved_split_reproduces_the_scores(tmp_path):
    """A user re-creates train / dev / test from the file and split.json alone, and scores the TF-IDF baseline on
    them: the same numbers."""
    _pair_file(tmp_path / "pairs.csv")
    task = _spec(tmp_path / "pairs.csv", group_column="sentence").load()
    path = task.split.save(tmp_path / "out")
    assert path.endswith(SPLIT_FILE)
    saved = json.loads((tmp_path / "out" / SPLIT_FILE).read_text())
    assert saved["method"] == "grouped_stratified" and saved["seed"] == 13 and saved["group_column"] == "sentence"

    recreated = tmp_path / "recreated"
    recreated.mkdir()
    for split, entry in saved["splits"].items():
        rows = pd.read_csv(entry["file"]).iloc[entry["source_rows"]]
        assert len(rows) == entry["rows"]
        rows.to_csv(recreated / f"{split}.csv", index=False)
    again = _spec(recreated).load()
    assert again.split.method == "given"
    for split in ("train", "validation", "test"):
        assert again.splits[split]["text"] == task.splits[split]["text"]
    before, after = tfidf_baseline(task, seed=0), tfidf_baseline(again, seed=0)
    assert (after.dev_score, after.test_score) == (before.dev_score, before.test_score)
    loaded = TaskSplit.load(tmp_path / "out")
    assert {s: r.tolist() for s, r in loaded.source_rows.items()} == \
        {s: np.asarray(r).tolist() for s, r in task.split.source_rows.items()}
    # beyond the id budget, only the count and hash of each split are written
    small = task.split.to_dict(max_ids=10)["splits"]["test"]
    assert "source_rows" not in small and small["ids_sha256"] == saved["splits"]["test"]["ids_sha256"]


def test_given_split_files_are_recorded_and_shared_groups_are_said(tmp_path):
    frame = _pair_file(tmp_path / "pairs.csv").sample(frac=1.0, random_state=0)  # a random split by hand
    data = tmp_path / "data"
    data.mkdir()
    frame.iloc[:300].to_csv(data / "train.csv", index=False)
    frame.iloc[300:].to_csv(data / "dev.csv", index=False)  # no test file: dev is halved
    task = _spec(data, group_column="sentence").load()
    assert task.split.method == "given" and task.split.files["test"].endswith("dev.csv")
    assert "no test split: the validation rows split 50/50 validation/test" in task.split.description
    assert sorted([*task.split.source_rows["validation"], *task.split.source_rows["test"]]) == \
        list(range(len(frame) - 300))
    assert any("groups of column 'sentence' are in more than one of the given split files" in n for n in task.notes)
