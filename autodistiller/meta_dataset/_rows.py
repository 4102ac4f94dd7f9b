"""Build one meta-dataset row from what a trial reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from autodistiller.config import PipelineConfig
from autodistiller.meta_dataset._provenance import git_commit, package_version
from autodistiller.meta_dataset._schema import meta_dataset_schema

__all__ = ["trial_row", "METRIC_COLUMNS", "STATIC_REPORT_KEYS"]

#: columns copied from a trial's last reported result when present
METRIC_COLUMNS = (
    "student_dev_score", "student_test_score", "teacher_dev_score", "teacher_test_score", "score_retained",
    "student_params", "teacher_params", "latency_ms", "teacher_latency_ms", "train_seconds", "epochs_run",
    "best_epoch", "train_examples", "augment_seconds",
    "assistant_dev_score", "assistant_test_score", "ensemble_dev_score", "ensemble_test_score",
    "hostname", "cpu_model", "cpu_count", "gpu_model", "gpu_count",
)
#: keys every report of a trial carries (set once at its start)
STATIC_REPORT_KEYS = ("started_at", "hostname", "cpu_model", "cpu_count", "gpu_model", "gpu_count")


def _utc(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(float(seconds), tz=dt.timezone.utc)


def trial_row(
    *,
    experiment_id: str,
    trial_id: str,
    config: Mapping[str, Any],
    last_result: Mapping[str, Any] | None,
    error: str | None,
    context: Mapping[str, Any],
    ended_at: float,
    history: list[float] | None = None,
    attempts: int | None = None,
) -> dict[str, Any]:
    """One row. Status: ``failed`` with an error; ``completed`` when the trial's last report says it
    finished; otherwise ``early_stopped`` (stopped by the scheduler or the time budget).

    ``config`` holds the sampled flat pipeline keys (inactive ones take the config defaults). ``context``
    carries the experiment-wide columns (task, meta-features, teacher, resources). ``attempts``: how many
    times the trial ran (> 1: retried after a failure such as a lost node); None when unknown.
    """
    last = dict(last_result or {})
    status = "failed" if error else ("completed" if last.get("finished") else "early_stopped")
    columns = set(meta_dataset_schema().names)
    pipeline: dict[str, Any] = PipelineConfig().to_flat()
    for key, value in config.items():
        if key in pipeline:
            pipeline[key] = value
    started = last.get("started_at")
    row: dict[str, Any] = {
        **{k: v for k, v in context.items() if k in columns},
        **pipeline,
        "experiment_id": experiment_id,
        "trial_id": trial_id,
        "status": status,
        "error": error,
        "started_at": _utc(started),
        "ended_at": _utc(ended_at),
        "wall_seconds": (ended_at - started) if started else None,
        "attempts": attempts,
        "autodistiller_version": package_version(),
        "git_commit": git_commit(),
    }
    for key in METRIC_COLUMNS:
        if last.get(key) is not None:
            row[key] = last[key]
    if "student_dev_score" not in row and last.get("best_dev_score") is not None:
        row["student_dev_score"] = last["best_dev_score"]  # stopped early: the best epoch so far
    if "epochs_run" not in row and last.get("epoch") is not None:
        row["epochs_run"] = last["epoch"]
    if history is not None:
        row["dev_score_history"] = [float(x) for x in history]
    if row.get("teacher_dev_score") is None and row.get("mf.teacher_dev_score") is not None:
        row["teacher_dev_score"] = row["mf.teacher_dev_score"]  # stopped early: the final report never came
    if row.get("student_dev_score") is not None and row.get("teacher_dev_score"):
        row["score_retained"] = row["student_dev_score"] / row["teacher_dev_score"]
    return row
