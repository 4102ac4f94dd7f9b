"""Task metrics with the GLUE conventions (accuracy, F1, Matthews corr., Pearson / Spearman)."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn import metrics as skm

__all__ = ["METRICS", "compute_metrics", "majority_baseline"]

#: every metric a task card may name as its primary metric
METRICS = ("accuracy", "macro_f1", "f1", "mcc", "pearson", "spearman")


def compute_metrics(task_type: str, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """All metrics for the task type. ``predictions`` are logits (``[n, C]``, or ``[n, 1]`` / ``[n]`` for
    regression)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    labels = np.asarray(labels)
    if task_type == "regression":
        pred = predictions.reshape(len(predictions), -1)[:, 0]
        gold = labels.astype(np.float64)
        if np.std(pred) == 0 or np.std(gold) == 0:  # a constant prediction correlates with nothing
            pearson = spearman = 0.0
        else:
            pearson = float(stats.pearsonr(pred, gold).statistic)
            spearman = float(stats.spearmanr(pred, gold).statistic)
        return {"pearson": pearson, "spearman": spearman, "mse": float(np.mean((pred - gold) ** 2))}
    pred = predictions.argmax(axis=-1) if predictions.ndim == 2 else predictions.astype(np.int64)
    gold = labels.astype(np.int64)
    out = {
        "accuracy": float(skm.accuracy_score(gold, pred)),
        "macro_f1": float(skm.f1_score(gold, pred, average="macro", zero_division=0)),
        "mcc": float(skm.matthews_corrcoef(gold, pred)),
    }
    if predictions.ndim == 2 and predictions.shape[1] == 2:
        out["f1"] = float(skm.f1_score(gold, pred, average="binary", zero_division=0))
    return out


def majority_baseline(task_type: str, train_labels: np.ndarray, eval_labels: np.ndarray) -> dict[str, float]:
    """Metrics of always predicting the most frequent training class (the mean for regression)."""
    train_labels = np.asarray(train_labels)
    n = len(eval_labels)
    if task_type == "regression":
        return compute_metrics(task_type, np.full(n, float(np.mean(train_labels))), eval_labels)
    majority = int(np.bincount(train_labels.astype(np.int64)).argmax())
    num_classes = int(max(train_labels.max(), np.max(eval_labels)) + 1)
    logits = np.zeros((n, max(2, num_classes)))
    logits[:, majority] = 1.0
    return compute_metrics(task_type, logits, eval_labels)
