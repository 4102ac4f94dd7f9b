"""Hyper-parameter importance with Optuna's evaluators (fANOVA and PED-ANOVA) over trial rows."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from autodistiller.analysis._frame import (
    POOLED,
    Filter,
    _require,
    searched_params,
    select,
    stage_of,
    with_scores,
)
from autodistiller.analysis._study import quiet_optuna, rows_to_study
from autodistiller.errors import ConfigError

__all__ = ["EVALUATORS", "param_importance", "stage_importance"]

#: the evaluator names ``param_importance`` accepts
EVALUATORS = ("fanova", "ped_anova")
IMPORTANCE_COLUMNS = ["evaluator", "task", "param", "stage", "importance", "rank", "n_trials"]
STAGE_IMPORTANCE_COLUMNS = ["evaluator", "task", "stage", "importance", "rank", "n_params", "n_trials"]


def _evaluator(name: str, n_trials: int, seed: int, quantile: float):
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator

    if name == "fanova":
        return FanovaImportanceEvaluator(seed=seed)
    # PED-ANOVA compares the top `target_quantile` of the trials with all of them: keep >= 2 trials on top
    return PedAnovaImportanceEvaluator(target_quantile=min(0.5, max(quantile, 2.0 / n_trials)))


def _importances(rows: pd.DataFrame, params: Sequence[str], score: str, evaluator: str, seed: int,
                 quantile: float) -> dict:
    import optuna

    study = rows_to_study(rows, score=score, params=params)
    with quiet_optuna(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PED-ANOVA's "importances will be equal" notes on tiny studies
        return optuna.importance.get_param_importances(
            study, evaluator=_evaluator(evaluator, len(rows), seed, quantile))


def param_importance(
    frame: pd.DataFrame,
    *,
    params: Sequence[str] | None = None,
    score: str = "score_retained",
    evaluators: Sequence[str] = EVALUATORS,
    task: Filter = None,
    family: Filter = None,
    status: Filter = "completed",
    per_task: bool = True,
    pooled: bool = True,
    min_trials: int = 5,
    ped_anova_quantile: float = 0.3,
    seed: int = 0,
) -> pd.DataFrame:
    """Hyper-parameter importance of the pipeline parameters, from Optuna's importance evaluators.

    The selected rows with a finite ``score`` become an Optuna study (:func:`rows_to_study`, the score as the
    value to maximise) per task, and one over all tasks for the pooled row (``task == "(pooled)"``; pool a
    normalised score such as the default ``score_retained``). The parameters are ``params``, default every
    pipeline key that takes more than one non-null value in those rows. Evaluators:

    - ``fanova``: :class:`optuna.importance.FanovaImportanceEvaluator` (``seed``); it rates only the
      parameters present in every trial, so conditional (NULL) parameters are left out;
    - ``ped_anova``: :class:`optuna.importance.PedAnovaImportanceEvaluator` with ``target_quantile =
      ped_anova_quantile`` (at least two trials in the top set), conditional parameters included. The default
      0.3 is not Optuna's 0.1: on studies of tens of trials (a task's share of a meta-dataset) the top 10% is
      a handful of trials, and on a controlled table where one option adds 0.3 to the score it ranked noise
      parameters first; the top 30% ranked the true driver first.

    A study with fewer than ``min_trials`` trials, or no parameter that varies, is skipped.

    Returns one row per (evaluator, task, param): ``evaluator``, ``task``, ``param``, ``stage`` (``loss`` for
    ``loss.kind``), ``importance`` (normalised: they sum to 1 within an evaluator and task), ``rank`` (1 =
    most important) and ``n_trials`` (trials in the study).
    """
    unknown = [e for e in evaluators if e not in EVALUATORS]
    if unknown:
        raise ConfigError(f"evaluators={list(evaluators)!r}: {unknown} unknown; choose from {list(EVALUATORS)}.")
    if not 0.0 < ped_anova_quantile < 1.0:
        raise ConfigError(f"ped_anova_quantile={ped_anova_quantile!r} must be in (0, 1), e.g. 0.3 (the top 30%).")
    if min_trials < 3:
        raise ConfigError(f"min_trials={min_trials} must be >= 3 (importance needs several trials to compare).")
    rows = with_scores(select(frame, task=task, family=family, status=status))
    _require(rows, ["task", score], what="param_importance")
    rows = rows[np.isfinite(pd.to_numeric(rows[score], errors="coerce").astype(float))]
    groups: list[tuple[str, pd.DataFrame]] = []
    if per_task:
        groups += [(str(name), group) for name, group in rows.groupby("task", sort=True)]
    if pooled and len(rows):
        groups.append((POOLED, rows))
    out = []
    for name, group in groups:
        keys = searched_params(group, params)
        if len(group) < min_trials or not keys:
            continue
        for evaluator in evaluators:
            importances = _importances(group, keys, score, evaluator, seed, ped_anova_quantile)
            ranked = sorted(importances.items(), key=lambda kv: -kv[1])
            for rank, (param, value) in enumerate(ranked, start=1):
                out.append({"evaluator": evaluator, "task": name, "param": param, "stage": stage_of(param),
                            "importance": float(value) if math.isfinite(value) else np.nan, "rank": rank,
                            "n_trials": len(group)})
    result = pd.DataFrame(out, columns=IMPORTANCE_COLUMNS)
    result["rank"] = result["rank"].astype("int64")
    result["n_trials"] = result["n_trials"].astype("int64")
    result["importance"] = result["importance"].astype(float)
    return result


def stage_importance(importance: pd.DataFrame, *, stages: Sequence[str] | None = None) -> pd.DataFrame:
    """Sum a :func:`param_importance` table over each stage's parameters (``loss.kind`` + ``loss.alpha`` + ...
    -> ``loss``), optionally only over ``stages`` (then re-normalised to sum to 1 among them).

    Returns one row per (evaluator, task, stage): ``importance``, ``rank`` (1 = most important),
    ``n_params`` (the stage's rated parameters) and ``n_trials``.
    """
    data = importance if stages is None else importance[importance["stage"].isin(stages)]
    grouped = (data.groupby(["evaluator", "task", "stage"], sort=True)
               .agg(importance=("importance", "sum"), n_params=("param", "size"), n_trials=("n_trials", "max"))
               .reset_index())
    if stages is not None and len(grouped):
        total = grouped.groupby(["evaluator", "task"])["importance"].transform("sum")
        grouped["importance"] = (grouped["importance"] / total.where(total > 0)).fillna(0.0)
    grouped["rank"] = (grouped.groupby(["evaluator", "task"])["importance"]
                       .rank(method="min", ascending=False).astype("int64"))
    return (grouped.sort_values(["evaluator", "task", "rank"], kind="stable").reset_index(drop=True)
            [STAGE_IMPORTANCE_COLUMNS])
