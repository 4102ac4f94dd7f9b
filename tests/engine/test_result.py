"""``DistillResult``: the summary puts the TF-IDF baseline beside the teacher and the student, and ``save``
writes the split, from which a user re-creates the test rows and gets the student's test score again."""

import json

import numpy as np
import pandas as pd
import torch

from autodistiller import PipelineConfig, distill
from autodistiller.baseline import BaselineResult, cached_tfidf_baseline
from autodistiller.tasks import compute_metrics

FAST = {"training.epochs": 2, "training.batch_size": 8, "training.learning_rate": 2e-3, "training.max_length": 32,
        "training.warmup_ratio": 0.0, "student.layers": 2}


def test_a_saved_split_reproduces_the_students_score(tiny_task, tiny_teacher, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    result = distill(PipelineConfig.from_flat(FAST), tiny_task, tiny_teacher, log=lambda _: None)
    result.save(tmp_path / "out")
    split = json.loads((tmp_path / "out" / "split.json").read_text())
    assert split["method"] == "stratified" and split["seed"] == 13
    assert json.loads((tmp_path / "out" / "result.json").read_text())["split"]["method"] == "stratified"

    test = split["splits"]["test"]
    rows = pd.read_csv(test["file"]).iloc[test["source_rows"]]  # the user's side: the file and the ids
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "out" / "student")
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out" / "student").eval()
    with torch.no_grad():
        logits = model(**tokenizer(rows["text"].tolist(), truncation=True, max_length=32, padding=True,
                                   return_tensors="pt")).logits.numpy()
    again = compute_metrics("single", logits, rows["label"].to_numpy())
    assert again["accuracy"] == result.test["accuracy"]
    assert np.array_equal(rows["label"].to_numpy(), tiny_task.labels("test"))


def test_the_summary_shows_the_baseline_and_its_note(tiny_task, tiny_teacher, tmp_path):
    result = distill(PipelineConfig.from_flat({**FAST, "training.epochs": 1}), tiny_task, tiny_teacher,
                     log=lambda _: None)
    result.baseline = cached_tfidf_baseline(tiny_task, cache_dir=tmp_path)
    text = result.summary()
    assert f"  TF-IDF baseline: {result.baseline.dev_score:.4f} / {result.baseline.test_score:.4f}" in text
    assert text.index("  student: ") < text.index("  TF-IDF baseline: ") < text.index("  retained ")
    result.baseline = BaselineResult(**{**result.baseline.to_dict(), "dev_score": result.teacher_dev_score + 0.01})
    assert "above the teacher's" in result.summary() and "distillation may not be worth it here" in result.summary()
    assert any("above the teacher's" in note for note in result.to_dict()["notes"])
