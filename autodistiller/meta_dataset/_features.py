"""Task meta-features: cheap, placeholder-free descriptions of a dataset (the recommender's inputs)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodistiller.tasks import Task

__all__ = ["task_meta_features"]

_SAMPLE = 2000  # rows to tokenize for length statistics: enough for stable means, cheap on large tasks


def task_meta_features(task: Task, *, tokenizer: Any = None, max_length: int = 128,
                       teacher_dev_score: float | None = None, seed: int = 0) -> dict[str, Any]:
    """``mf.*`` columns of a trial row, computed from the training split (and the teacher's tokenizer)."""
    train = task.splits["train"]
    labels = np.asarray(train["label"])
    n = len(train)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, _SAMPLE), replace=False))
    texts = [train[int(i)]["text"] for i in sample]
    if task.card.has_pair:
        texts = [f"{t} {train[int(i)]['text_pair']}" for t, i in zip(texts, sample, strict=True)]
    words = [t.split() for t in texts]
    counts = np.array([len(w) for w in words], dtype=float)
    vocabulary = {w.lower() for ws in words for w in ws}
    out: dict[str, Any] = {
        "mf.train_size": int(n),
        "mf.num_classes": int(task.card.num_classes),
        "mf.is_pair": bool(task.card.has_pair),
        "mf.is_regression": bool(task.card.is_regression),
        "mf.mean_words": float(counts.mean()),
        "mf.std_words": float(counts.std()),
        "mf.type_token_ratio": float(len(vocabulary) / max(1.0, counts.sum())),
        "mf.teacher_dev_score": teacher_dev_score,
    }
    if tokenizer is not None:
        pair = [train[int(i)]["text_pair"] for i in sample] if task.card.has_pair else None
        source = [train[int(i)]["text"] for i in sample]
        lengths = np.array([len(ids) for ids in tokenizer(source, pair, truncation=False)["input_ids"]], dtype=float)
        out["mf.mean_tokens"] = float(lengths.mean())
        out["mf.truncated_fraction"] = float((lengths > max_length).mean())
    if task.card.is_regression:
        out["mf.class_entropy"] = None
        out["mf.majority_fraction"] = None
    else:
        freq = np.bincount(labels.astype(np.int64), minlength=task.card.num_classes) / n
        nonzero = freq[freq > 0]
        entropy = float(-(nonzero * np.log(nonzero)).sum())
        out["mf.class_entropy"] = entropy / math.log(task.card.num_classes)
        out["mf.majority_fraction"] = float(freq.max())
    return out
