"""Task meta-features that need the teacher or its tokenizer: what the recommender knows about a new task.

The cheap, text-only ones (size, classes, lengths, class balance) come from
:func:`autodistiller.meta_dataset.task_meta_features`; this module adds
- ``mf.teacher_confidence`` / ``mf.teacher_entropy``: the teacher's mean max-probability and mean normalised
  entropy on dev (how sure, and how much dark knowledge its soft targets carry);
- ``mf.teacher_train_disagreement``: the share of training examples where the teacher's prediction differs from
  the gold label (a label-noise proxy; for regression, the teacher's squared error over the labels' variance);
- ``mf.pieces_per_word`` / ``mf.unknown_piece_rate``: how hard the tokenizer fragments the text;
- ``mf.landmark_tfidf_dev_score`` / ``mf.teacher_margin_over_landmark``: a TF-IDF + linear model's dev score
  (:mod:`autodistiller.baseline`) and the teacher's margin over it.
:func:`task_features` computes all of them once per (task data, teacher) and caches them on disk.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from typing import Any

import numpy as np
import torch

from autodistiller._paths import cache_root
from autodistiller.baseline import cached_tfidf_baseline
from autodistiller.engine import predict_logits, select_device
from autodistiller.meta_dataset import task_meta_features
from autodistiller.models import Teacher
from autodistiller.tasks import EncodedSplit, Task, encode_splits

__all__ = ["FEATURES_VERSION", "TEACHER_FEATURES", "task_features", "teacher_meta_features",
           "tokenizer_meta_features"]

#: bump when a feature's definition changes: cached features of another version are recomputed
FEATURES_VERSION = 1
TEACHER_FEATURES = ("mf.teacher_confidence", "mf.teacher_entropy", "mf.teacher_train_disagreement",
                    "mf.pieces_per_word", "mf.unknown_piece_rate", "mf.landmark_tfidf_dev_score",
                    "mf.teacher_margin_over_landmark")
_SAMPLE = 2000  # rows per split the teacher reads: stable means, a few seconds on a CPU


def _sample(split: EncodedSplit, size: int, seed: int) -> EncodedSplit:
    if len(split) <= size:
        return split
    return split.subset(np.sort(np.random.default_rng(seed).choice(len(split), size=size, replace=False)))


def teacher_meta_features(task: Task, teacher: Teacher, *, sample: int = _SAMPLE, seed: int = 0,
                          device: str | torch.device | None = None) -> dict[str, float | None]:
    """Confidence and entropy of the teacher on dev, and its disagreement with the training labels."""
    splits = encode_splits(task, teacher.tokenizer, teacher.training.max_length)
    device = select_device(device)
    dev, train = _sample(splits["validation"], sample, seed), _sample(splits["train"], sample, seed)
    dev_logits = predict_logits(teacher.model, dev, device)
    train_logits = predict_logits(teacher.model, train, device)
    teacher.model.to("cpu")
    if task.card.is_regression:
        labels = train.labels.astype(float)
        error = float(np.mean((train_logits[:, 0] - labels) ** 2) / max(np.var(labels), 1e-12))
        return {"mf.teacher_confidence": None, "mf.teacher_entropy": None, "mf.teacher_train_disagreement": error}
    probs = torch.from_numpy(dev_logits).softmax(-1).numpy()
    entropy = -(probs * np.log(np.clip(probs, 1e-12, None))).sum(-1) / math.log(probs.shape[1])
    return {
        "mf.teacher_confidence": float(probs.max(-1).mean()),
        "mf.teacher_entropy": float(entropy.mean()),
        "mf.teacher_train_disagreement": float((train_logits.argmax(-1) != train.labels).mean()),
    }


def tokenizer_meta_features(task: Task, tokenizer: Any, *, sample: int = _SAMPLE, seed: int = 0
                            ) -> dict[str, float]:
    """Word pieces per whitespace word, and the share of pieces that are the unknown token (special tokens
    excluded), over up to ``sample`` training texts (both sides of a pair)."""
    train = task.splits["train"]
    rows = np.random.default_rng(seed).permutation(len(train))[:sample]
    texts = [str(train[int(i)]["text"]) for i in rows]
    if task.card.has_pair:
        texts += [str(train[int(i)]["text_pair"]) for i in rows]
    pieces = tokenizer(texts, add_special_tokens=False)["input_ids"]
    words = sum(len(t.split()) for t in texts)
    count = sum(len(p) for p in pieces)
    unknown = tokenizer.unk_token_id
    unknowns = sum(sum(1 for i in p if i == unknown) for p in pieces) if unknown is not None else 0
    return {"mf.pieces_per_word": count / max(1, words), "mf.unknown_piece_rate": unknowns / max(1, count)}


def _key(task: Task, teacher: Teacher) -> str:
    payload = json.dumps({"task": task.fingerprint(), "teacher": teacher.key or teacher.backbone,
                          "max_length": teacher.training.max_length, "version": FEATURES_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def task_features(task: Task, teacher: Teacher, *, cache_dir: str | os.PathLike[str] | None = None,
                  log: Any = None) -> dict[str, Any]:
    """Every ``mf.*`` meta-feature of ``task`` for ``teacher`` (cached on disk after the first call)."""
    path = cache_root(cache_dir) / "task_features" / f"{task.name}-{_key(task, teacher)}.json"
    if path.is_file():
        return json.loads(path.read_text())
    started = time.perf_counter()
    features: dict[str, Any] = dict(task_meta_features(task, tokenizer=teacher.tokenizer,
                                                       max_length=teacher.training.max_length,
                                                       teacher_dev_score=teacher.dev_score))
    features.update(teacher_meta_features(task, teacher))
    features.update(tokenizer_meta_features(task, teacher.tokenizer))
    landmark = cached_tfidf_baseline(task, cache_dir=cache_dir).dev_score
    features["mf.landmark_tfidf_dev_score"] = landmark
    features["mf.teacher_margin_over_landmark"] = teacher.dev_score - landmark
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(features, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    if log is not None:
        log(f"meta-features of {task.name}: {time.perf_counter() - started:.1f}s (cached in {path})")
    return features
