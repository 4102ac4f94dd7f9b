"""The best pipelines per task, and the teacher / best student / TF-IDF baseline side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from autodistiller.analysis._frame import Filter, _require, searched_params, select, with_scores
from autodistiller.errors import ConfigError

__all__ = ["best_pipelines", "compare_models"]

BEST_COLUMNS = ["task", "rank", "experiment_id", "trial_id", "status", "metric", "student_dev_score",
                "student_test_score", "teacher_dev_score", "teacher_test_score", "score_retained", "student_params",
                "latency_ms", "train_seconds"]
COMPARE_COLUMNS = ["task", "model", "metric", "dev_score", "test_score", "params", "size_mb", "latency_ms",
                   "train_seconds", "experiment_id", "trial_id"]
#: bytes per parameter used for the teacher's and the students' size (fp32 weights)
BYTES_PER_PARAM = 4


def best_pipelines(
    frame: pd.DataFrame,
    *,
    top: int = 1,
    score: str = "student_dev_score",
    task: Filter = None,
    family: Filter = None,
    status: Filter = "completed",
) -> pd.DataFrame:
    """The ``top`` trials of each task by ``score`` (dev score by default: the test score is not used to
    choose), best first.

    Returns one row per chosen trial: ``task``, ``rank`` (1 = best), ``experiment_id``, ``trial_id``,
    ``status``, ``metric``, the student's and teacher's dev / test scores, ``score_retained``,
    ``student_params``, ``latency_ms``, ``train_seconds`` (those present in the input), then the pipeline
    parameters that vary among the selected rows (NULL where not applicable).
    """
    rows, chosen = _best_rows(frame, top=top, score=score, task=task, family=family, status=status)
    columns = [c for c in BEST_COLUMNS if c in chosen.columns] + searched_params(rows)
    return chosen[columns].reset_index(drop=True)


def _best_rows(frame: pd.DataFrame, *, top: int, score: str, task: Filter, family: Filter,
               status: Filter) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the selected rows with a finite score, the ``top`` of each task with every column and a ``rank``)."""
    if top < 1:
        raise ConfigError(f"top={top} must be >= 1.")
    rows = with_scores(select(frame, task=task, family=family, status=status))
    _require(rows, ["task", score], what="best_pipelines")
    rows = rows[np.isfinite(pd.to_numeric(rows[score], errors="coerce").astype(float))]
    ranked = rows.sort_values(["task", score], ascending=[True, False], kind="stable")
    chosen = ranked.groupby("task", sort=True).head(top).copy()
    chosen["rank"] = chosen.groupby("task").cumcount() + 1
    return rows, chosen


def _first(row: pd.Series, column: str) -> Any:
    value = row.get(column, np.nan)
    return np.nan if value is None else value


def compare_models(
    frame: pd.DataFrame,
    baselines: Mapping[str, Any] | None = None,
    *,
    task: Filter = None,
    family: Filter = None,
    status: Filter = "completed",
) -> pd.DataFrame:
    """The teacher, the best student (by dev score) and the TF-IDF baseline of each task, side by side.

    ``baselines`` maps a task name to its :class:`autodistiller.baseline.BaselineResult` (tasks without one
    get no baseline row). The teacher's figures come from the best student's row (the teacher it was
    distilled from).

    Returns three rows per task (``model``: ``teacher``, ``best student``, ``tfidf baseline``) with ``task``,
    ``metric``, ``dev_score``, ``test_score``, ``params`` (parameter count; NaN for the baseline),
    ``size_mb`` (fp32 weights for the networks, the pickled pipeline for the baseline), ``latency_ms``
    (median per example at batch size 1), ``train_seconds`` (the student's distillation, the baseline's fit;
    NaN for the teacher) and the best student's ``experiment_id`` / ``trial_id``.
    """
    from autodistiller.baseline import BASELINE_NAME

    _, best = _best_rows(frame, top=1, score="student_dev_score", task=task, family=family, status=status)
    baselines = dict(baselines or {})
    out = []
    for _, row in best.iterrows():
        name = row["task"]
        baseline = baselines.get(name)
        metric = _first(row, "metric")
        if pd.isna(metric) and baseline is not None:
            metric = baseline.metric
        ids = {"experiment_id": row.get("experiment_id"), "trial_id": row.get("trial_id")}
        teacher_params = pd.to_numeric(_first(row, "teacher_params"), errors="coerce")
        student_params = pd.to_numeric(_first(row, "student_params"), errors="coerce")
        out.append({"task": name, "model": "teacher", "metric": metric,
                    "dev_score": _first(row, "teacher_dev_score"), "test_score": _first(row, "teacher_test_score"),
                    "params": teacher_params, "size_mb": teacher_params * BYTES_PER_PARAM / 1e6,
                    "latency_ms": _first(row, "teacher_latency_ms"), "train_seconds": np.nan, **ids})
        out.append({"task": name, "model": "best student", "metric": metric,
                    "dev_score": row["student_dev_score"], "test_score": _first(row, "student_test_score"),
                    "params": student_params, "size_mb": student_params * BYTES_PER_PARAM / 1e6,
                    "latency_ms": _first(row, "latency_ms"), "train_seconds": _first(row, "train_seconds"), **ids})
        if baseline is not None:
            out.append({"task": name, "model": BASELINE_NAME, "metric": baseline.metric,
                        "dev_score": baseline.dev_score, "test_score": baseline.test_score, "params": np.nan,
                        "size_mb": baseline.size_bytes / 1e6, "latency_ms": baseline.latency_ms,
                        "train_seconds": baseline.fit_seconds, "experiment_id": None, "trial_id": None})
    result = pd.DataFrame(out, columns=COMPARE_COLUMNS)
    for column in ("dev_score", "test_score", "params", "size_mb", "latency_ms", "train_seconds"):
        result[column] = pd.to_numeric(result[column], errors="coerce").astype(float)
    return result
