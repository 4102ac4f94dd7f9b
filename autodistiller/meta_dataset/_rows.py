"""Build one meta-dataset row from what a trial recorded about itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from autodistiller.meta_dataset._provenance import git_commit, package_version
from autodistiller.meta_dataset._schema import STATUSES, meta_dataset_schema

__all__ = ["trial_row", "STATIC_REPORT_KEYS"]

#: keys every report of a trial carries (set once at its start)
STATIC_REPORT_KEYS = ("started_at", "hostname", "cpu_model", "cpu_count", "gpu_model", "gpu_count")


def _utc(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(float(seconds), tz=dt.timezone.utc)


def trial_row(
    *,
    experiment_id: str,
    trial_id: str,
    status: str,
    columns: Mapping[str, Any],
    context: Mapping[str, Any],
    ended_at: float,
    error: str | None = None,
    attempts: int | None = None,
) -> dict[str, Any]:
    """One row: the experiment-wide ``context`` (task, meta-features, resources), the trial's own ``columns``
    (the pipeline it ran and its metrics, as the trial reported them; ``started_at`` in epoch seconds), and
    the trial's identity, outcome and provenance. ``attempts``: how many times the trial ran (> 1: retried
    after a failure such as a lost node); None when unknown.
    """
    if status not in STATUSES:
        raise ValueError(f"status={status!r} must be one of {STATUSES}")
    names = set(meta_dataset_schema().names)
    row: dict[str, Any] = {**{k: v for k, v in context.items() if k in names}, **columns}
    started = columns.get("started_at")
    row.update(
        experiment_id=experiment_id,
        trial_id=trial_id,
        status=status,
        error=error,
        started_at=_utc(started),
        ended_at=_utc(ended_at),
        wall_seconds=(ended_at - started) if started else None,
        attempts=attempts,
        autodistiller_version=package_version(),
        git_commit=git_commit(),
    )
    if row.get("teacher_dev_score") is None and row.get("mf.teacher_dev_score") is not None:
        row["teacher_dev_score"] = row["mf.teacher_dev_score"]  # stopped before the final report
    if row.get("score_retained") is None and row.get("student_dev_score") is not None and row.get("teacher_dev_score"):
        row["score_retained"] = row["student_dev_score"] / row["teacher_dev_score"]
    return row
