"""Meta-features on tiny hand-made datasets equal hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from autodistiller.recommend import teacher_meta_features, tokenizer_meta_features
from autodistiller.tasks import TaskSpec, encode_splits
from autodistiller.testing import one_torch_thread


def _task(tmp_path, rows, name="hand"):
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return TaskSpec(str(path)).load()


def test_tokenizer_fragmentation_is_counted_by_hand(tmp_path, tiny_teacher):
    # the tiny tokenizer has one piece per known word; "zzz" and "qqq" are not in its vocabulary
    rows = [{"text": "good movie zzz", "label": 1}, {"text": "bad plot", "label": 0},
            {"text": "great qqq film zzz", "label": 1}, {"text": "dull story", "label": 0}] * 5
    task = _task(tmp_path, rows)
    features = tokenizer_meta_features(task, tiny_teacher.tokenizer, sample=10**6)
    train = [str(t) for t in task.splits["train"]["text"]]
    words = sum(len(t.split()) for t in train)
    unknown = sum(t.split().count("zzz") + t.split().count("qqq") for t in train)
    assert features["mf.pieces_per_word"] == pytest.approx(1.0)  # word-level: a piece per word
    assert features["mf.unknown_piece_rate"] == pytest.approx(unknown / words)


def test_teacher_confidence_entropy_and_disagreement_by_hand(tiny_task, tiny_teacher):
    with one_torch_thread():
        features = teacher_meta_features(tiny_task, tiny_teacher, sample=10**6)
        splits = encode_splits(tiny_task, tiny_teacher.tokenizer, tiny_teacher.training.max_length)
        model = tiny_teacher.model.eval()

        def probabilities(split):
            with torch.no_grad():
                rows = [split.collate([i]) for i in range(len(split))]
                return torch.cat([model(input_ids=r["input_ids"], attention_mask=r["attention_mask"],
                                        token_type_ids=r.get("token_type_ids")).logits.softmax(-1) for r in rows])

        dev, train = probabilities(splits["validation"]), probabilities(splits["train"])
    confidence = dev.max(-1).values.mean().item()
    entropy = (-(dev * dev.clamp_min(1e-12).log()).sum(-1) / math.log(2)).mean().item()
    disagreement = (train.argmax(-1).numpy() != splits["train"].labels).mean()
    assert features["mf.teacher_confidence"] == pytest.approx(confidence, abs=1e-5)
    assert features["mf.teacher_entropy"] == pytest.approx(entropy, abs=1e-5)
    assert features["mf.teacher_train_disagreement"] == pytest.approx(disagreement)
    assert 0.5 <= features["mf.teacher_confidence"] <= 1.0 and 0 <= features["mf.teacher_entropy"] <= 1
