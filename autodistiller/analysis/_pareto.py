"""The Pareto front of score against cost (student size, latency)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from autodistiller.analysis._frame import Filter, _require, select, with_scores
from autodistiller.errors import ConfigError

__all__ = ["pareto_front", "pareto_mask"]


def pareto_mask(scores: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Which points are non-dominated, maximising ``scores`` (shape ``[n]``) and minimising every column of
    ``costs`` (shape ``[n, k]``). A point is dominated when another is at least as good on every objective and
    strictly better on one; identical points do not dominate each other (both stay)."""
    scores = np.asarray(scores, dtype=float)
    costs = np.asarray(costs, dtype=float).reshape(len(scores), -1)
    # as "smaller is better" on every column
    points = np.column_stack([-scores, costs])
    keep = np.ones(len(points), dtype=bool)
    for i in range(len(points)):
        no_worse = np.all(points <= points[i], axis=1)
        better = np.any(points < points[i], axis=1)
        if np.any(no_worse & better):
            keep[i] = False
    return keep


def pareto_front(
    frame: pd.DataFrame,
    *,
    score: str = "student_dev_score",
    costs: Sequence[str] = ("student_params", "latency_ms"),
    per_task: bool = True,
    task: Filter = None,
    family: Filter = None,
    status: Filter = "completed",
) -> pd.DataFrame:
    """The trials on the Pareto front of ``score`` (maximised) against ``costs`` (each minimised; default the
    student's parameter count and its latency).

    The front is taken within each task (``per_task=True``: raw scores are comparable only there); with
    ``per_task=False`` over all rows at once (then use a normalised ``score`` such as ``score_retained``).
    Rows missing the score or a cost are left out. Returns the front's rows with every input column (plus the
    normalised-score columns of :func:`with_scores`), sorted by task, then by the costs in order.
    """
    if not costs:
        raise ConfigError("costs=() is empty; name at least one column to minimise, e.g. ('student_params',).")
    rows = with_scores(select(frame, task=task, family=family, status=status))
    _require(rows, ["task", score, *costs], what="pareto_front")
    values = rows[[score, *costs]].apply(pd.to_numeric, errors="coerce").astype(float)
    usable = np.isfinite(values.to_numpy()).all(axis=1)
    rows, values = rows[usable], values[usable]
    keep = np.zeros(len(rows), dtype=bool)
    groups = rows.groupby("task", sort=True).indices.values() if per_task else [np.arange(len(rows))]
    for index in groups:
        index = np.asarray(index)
        keep[index] = pareto_mask(values[score].to_numpy()[index], values[list(costs)].to_numpy()[index])
    front = rows[keep]
    order = (["task"] if per_task else []) + list(costs)
    return front.sort_values(order, kind="stable").reset_index(drop=True)
