"""Silent traps said out loud: text columns the task does not read, scores at the majority class."""

import random

import pandas as pd

from autodistiller import TaskSpec
from autodistiller.tasks import majority_note, unused_text_columns

_WORDS = ["river", "stone", "light", "cloud", "paper", "glass", "music", "field", "winter", "garden", "window",
          "silver", "forest", "market", "engine", "letter"]


def _nli_file(path, rows=80, seed=0):
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        premise = " ".join(rng.sample(_WORDS, 6)) + f" {i}"
        records.append({"premise": premise, "hypothesis": " ".join(rng.sample(_WORDS, 4)),
                        "genre": rng.choice(["fiction", "news", "travel"]), "id": f"pair-{i}", "year": 2000 + i % 9,
                        "label": rng.choice(["entailment", "neutral", "contradiction"])})
    pd.DataFrame(records).to_csv(path, index=False)


def test_a_forgotten_pair_column_is_named_with_its_flag(tmp_path):
    _nli_file(tmp_path / "nli.csv")
    task = TaskSpec(str(tmp_path / "nli.csv"), text_column="premise").load()
    assert len(task.notes) == 1
    note = task.notes[0]
    assert "nli.csv has text columns this task does not read: 'hypothesis' (median 4 words)" in note
    assert "--text-pair-column COL" in note
    for short_or_numeric in ("genre", "'id'", "year"):  # categories, ids and numbers are not texts
        assert short_or_numeric not in note
    paired = TaskSpec(str(tmp_path / "nli.csv"), text_column="premise", text_pair_column="hypothesis").load()
    assert paired.notes == ()
    frame = pd.read_csv(tmp_path / "nli.csv")
    assert unused_text_columns(frame, ["premise", "label"]) == [("hypothesis", 4.0)]


def test_scores_at_the_majority_class_are_said(tmp_path):
    rows = [{"text": f"{random.Random(i).choice(_WORDS)} {i}", "label": int(i % 4 == 0)} for i in range(80)]
    pd.DataFrame(rows).to_csv(tmp_path / "skewed.csv", index=False)
    task = TaskSpec(str(tmp_path / "skewed.csv")).load()
    majority = float((task.labels("validation") == 0).mean())  # class 0 is the majority in train
    note = majority_note(task, student_dev_score=majority, teacher_dev_score=majority)
    assert f"teacher ({majority:.4f}) and student ({majority:.4f}) both sit at the majority-class dev accuracy" in note
    assert "--text-pair-column" in note
    assert "the student" in majority_note(task, student_dev_score=majority, teacher_dev_score=None)
    assert majority_note(task, student_dev_score=majority, teacher_dev_score=1.0) is None  # the teacher learned
    assert majority_note(task, student_dev_score=1.0, teacher_dev_score=majority) is None
