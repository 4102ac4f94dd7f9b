"""Tokenization marks the examples it cut to max_length, and a run says how many of its training rows were cut."""

from __future__ import annotations

import pandas as pd

from autodistiller import PipelineConfig, TaskSpec, distill
from autodistiller.tasks import encode_splits
from autodistiller.testing import one_torch_thread


def _task(tmp_path):
    words = ["the", "movie", "was", "really", "quite", "good", "and", "the", "acting", "was", "great"]
    texts = [" ".join(words[: 10 if i % 4 == 0 else 3]) for i in range(80)]
    path = tmp_path / "lengths.csv"
    pd.DataFrame({"text": texts, "label": [i % 2 for i in range(80)]}).to_csv(path, index=False)
    return TaskSpec(str(path), name="tiny").load(), texts  # the tiny teacher's task name: a run accepts it


def test_examples_longer_than_max_length_are_marked(tmp_path, tiny_teacher):
    task, _ = _task(tmp_path)
    splits = encode_splits(task, tiny_teacher.tokenizer, 8)  # [CLS] + 6 words + [SEP]: 10 words are cut
    for name, split in splits.items():
        words = task.splits[name].to_pandas()["text"].str.split().map(len)
        assert split.truncated.tolist() == (words > 6).tolist()
        assert split.truncated_count == int((words > 6).sum())
    train = splits["train"]
    keep = train.truncated.nonzero()[0][:3]
    assert train.subset(keep).truncated_count == 3
    assert encode_splits(task, tiny_teacher.tokenizer, 16)["train"].truncated_count == 0  # exactly fits: not cut


def test_a_run_says_how_many_training_examples_were_cut(tmp_path, tiny_teacher):
    task, _ = _task(tmp_path)
    cut = encode_splits(task, tiny_teacher.tokenizer, 8)["train"].truncated_count
    lines: list[str] = []
    config = PipelineConfig.from_flat({"student.layers": 1, "training.epochs": 1, "training.max_length": 8})
    with one_torch_thread():
        distill(config, task, tiny_teacher, cache_dir=tmp_path / "cache", log=lines.append)
    line = next(line for line in lines if line.startswith("student: "))
    assert f"{len(task.splits['train'])} train examples; {cut} of them ({cut / len(task.splits['train']):.1%}) " \
           "longer than max_length=8 tokens and cut" in line


def test_teacher_fine_tuning_says_how_many_examples_were_cut(tmp_path, tiny_teacher):
    from autodistiller import TrainingConfig, fine_tune_teacher

    task, _ = _task(tmp_path)
    cut = encode_splits(task, tiny_teacher.tokenizer, 8)["train"].truncated_count
    lines: list[str] = []
    with one_torch_thread():
        fine_tune_teacher(task, backbone=tiny_teacher.backbone, training=TrainingConfig(epochs=1, max_length=8),
                          cache_dir=tmp_path / "cache", log=lines.append)
    assert any(line.startswith("teacher: fine-tuning") and f"; {cut} of them (" in line
               and "longer than max_length=8 tokens and cut" in line for line in lines)
