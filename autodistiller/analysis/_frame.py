"""Row selection and the normalised scores every analysis shares.

Conventions of the analysis API:

- functions take a meta-dataset DataFrame (``autodistiller.meta_dataset.load``), select rows with the same
  ``task`` / ``family`` / ``status`` filters, and return a new DataFrame: the input is never modified;
- a NULL pipeline value means "not applicable in this trial" (e.g. ``loss.temperature`` with
  ``loss.kind=mse``): it is skipped, never counted as an option of its own;
- per-task scores are normalised before they are compared or pooled across tasks (:func:`with_scores`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from autodistiller.errors import ConfigError

__all__ = [
    "KD_STAGES",
    "POOLED",
    "STAGE_OPTIONS",
    "STAGES",
    "pipeline_keys",
    "searched_params",
    "select",
    "stage_of",
    "with_scores",
]

#: the ``task`` value of rows pooled over tasks (task names are path-safe, so they never contain brackets)
POOLED = "(pooled)"
#: pipeline stages, the first part of a flat key (``loss.kind`` -> ``loss``)
STAGES = ("student", "loss", "intermediate", "augment", "procedure", "training")
#: the stages of the distillation recipe itself (what the Distiller study compares)
KD_STAGES = ("augment", "intermediate", "loss", "procedure")
#: the parameter that chooses each stage's option
STAGE_OPTIONS = ("loss.kind", "intermediate.objective", "augment.pipeline", "augment.policy", "procedure.kind")

Filter = str | Sequence[str] | None


def pipeline_keys() -> list[str]:
    """Every flat pipeline key (``PipelineConfig().to_flat()``), in config order."""
    from autodistiller.config import PipelineConfig

    return list(PipelineConfig().to_flat())


def stage_of(param: str) -> str:
    """``"intermediate.beta"`` -> ``"intermediate"``."""
    return param.split(".", 1)[0]


def _as_tuple(value: Filter) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _require(frame: pd.DataFrame, columns: Iterable[str], *, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"{what} needs the column(s) {missing}; the frame has: {', '.join(map(str, frame.columns))}. "
                          "Pass a frame from autodistiller.meta_dataset.load().")


def select(frame: pd.DataFrame, *, task: Filter = None, family: Filter = None, status: Filter = None,
           experiment: Filter = None) -> pd.DataFrame:
    """The rows whose ``task`` / ``task_family`` / ``status`` / ``experiment_id`` is one of the given values
    (``None``: no filter on that column). Returns a new frame with a fresh index."""
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"expected a pandas DataFrame of trial rows, got {type(frame).__name__}.")
    keep = np.ones(len(frame), dtype=bool)
    for column, wanted in (("task", task), ("task_family", family), ("status", status),
                           ("experiment_id", experiment)):
        values = _as_tuple(wanted)
        if values is None:
            continue
        _require(frame, [column], what=f"filtering on {column}")
        keep &= frame[column].isin(values).to_numpy(dtype=bool)
    return frame.loc[keep].copy().reset_index(drop=True)


def with_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with the normalised-score columns the analyses use:

    - ``score_retained``: ``student_dev_score / teacher_dev_score``, the share of the teacher's dev score the
      student keeps (the Distiller study's ratio; kept as logged, computed where it is missing); NaN without a
      teacher score;
    - ``score_percentile``: the trial's within-task percentile of ``student_dev_score`` among the rows passed
      in (average rank / count, in (0, 1]; ties share a rank): scale-free and needs no teacher, but relative
      to the rows selected;
    - ``train_size``: the effective training-set size, ``training.max_train_examples`` when it is > 0
      (capped at ``mf.train_size``), else ``mf.train_size``.
    """
    out = frame.copy()

    def numeric(column: str) -> pd.Series:
        if column not in out.columns:
            return pd.Series(np.nan, index=out.index, dtype=float)
        return pd.to_numeric(out[column], errors="coerce").astype(float)

    student, teacher = numeric("student_dev_score"), numeric("teacher_dev_score")
    ratio = student / teacher.where(teacher != 0)
    logged = numeric("score_retained")
    out["score_retained"] = logged.where(logged.notna(), ratio)
    out["student_dev_score"] = student
    if "task" in out.columns and len(out):
        out["score_percentile"] = student.groupby(out["task"]).rank(method="average", pct=True).astype(float)
    else:
        out["score_percentile"] = pd.Series(np.nan, index=out.index, dtype=float)
    cap = numeric("training.max_train_examples")
    # fmin: the smaller of the two, or the one that is known
    out["train_size"] = np.fmin(cap.where(cap > 0), numeric("mf.train_size"))
    return out


def searched_params(frame: pd.DataFrame, params: Sequence[str] | None = None) -> list[str]:
    """Pipeline keys present in ``frame`` that take more than one non-null value (the searched ones), in
    config order; ``params`` restricts the candidates."""
    candidates = list(params) if params is not None else pipeline_keys()
    out = []
    for key in candidates:
        if key in frame.columns and frame[key].dropna().nunique() > 1:
            out.append(key)
    return out


def python_value(value: Any) -> Any:
    """A numpy / pandas scalar as the plain Python value (Optuna and JSON want those)."""
    if isinstance(value, np.generic):
        return value.item()
    return value
