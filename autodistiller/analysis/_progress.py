"""Best-so-far score against trial number, per search."""

from __future__ import annotations

import numpy as np
import pandas as pd

from autodistiller.analysis._frame import Filter, _require, select

__all__ = ["best_so_far"]

PROGRESS_COLUMNS = ["task", "experiment_id", "trial_number", "trial_id", "status", "score", "best_so_far",
                    "improved"]


def best_so_far(
    frame: pd.DataFrame,
    *,
    score: str = "student_dev_score",
    task: Filter = None,
    family: Filter = None,
    status: Filter = None,
) -> pd.DataFrame:
    """The best score found so far against the number of trials finished, per search (task, experiment).

    Trials are numbered 1, 2, ... in the order their rows were written (``ended_at``), which is when the
    search learnt their score. Every status counts by default: an early-stopped trial brings its best dev
    score so far; a failed trial has none and keeps the best where it was.

    Returns one row per trial: ``task``, ``experiment_id``, ``trial_number``, ``trial_id``, ``status``,
    ``score`` (NaN without one), ``best_so_far`` (NaN until the first scored trial) and ``improved`` (this
    trial raised the best).
    """
    rows = select(frame, task=task, family=family, status=status)
    _require(rows, ["task", "experiment_id", "trial_id", "status", "ended_at", score], what="best_so_far")
    parts = []
    for _, group in rows.groupby(["task", "experiment_id"], sort=True):
        group = group.sort_values(["ended_at", "trial_id"], kind="stable")
        values = pd.to_numeric(group[score], errors="coerce").astype(float).to_numpy()
        best = np.fmax.accumulate(np.where(np.isfinite(values), values, np.nan))
        previous = np.concatenate([[np.nan], best[:-1]])
        improved = np.isfinite(values) & ((~np.isfinite(previous)) | (values > previous))
        parts.append(pd.DataFrame({
            "task": group["task"].to_numpy(), "experiment_id": group["experiment_id"].to_numpy(),
            "trial_number": np.arange(1, len(group) + 1), "trial_id": group["trial_id"].to_numpy(),
            "status": group["status"].to_numpy(), "score": values, "best_so_far": best, "improved": improved,
        }))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in PROGRESS_COLUMNS})
    return pd.concat(parts, ignore_index=True)[PROGRESS_COLUMNS]
