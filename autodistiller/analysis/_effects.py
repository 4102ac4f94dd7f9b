"""The marginal effect of each stage option: mean normalised score with bootstrap CIs, per task and pooled."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from autodistiller.analysis._frame import (
    POOLED,
    STAGE_OPTIONS,
    Filter,
    _require,
    select,
    stage_of,
    with_scores,
)
from autodistiller.analysis._stats import boot_means, check_level, check_n_boot, percentile_ci

__all__ = ["option_effects"]

EFFECT_COLUMNS = ["param", "stage", "option", "task", "n_trials", "n_tasks", "mean", "ci_low", "ci_high",
                  "effect", "effect_ci_low", "effect_ci_high", "n_tasks_effect"]


def option_label(value: object) -> str:
    """How an option value is written in the tables (``2``, ``kl``, ``True``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def option_effects(
    frame: pd.DataFrame,
    *,
    params: Sequence[str] = STAGE_OPTIONS,
    score: str = "score_retained",
    task: Filter = None,
    family: Filter = None,
    status: Filter = "completed",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """The marginal effect of each option of each parameter in ``params`` (default: the option of every
    stage), per task and pooled over tasks.

    Rows where the parameter is NULL (not applicable) are left out for that parameter, and so are rows without
    a finite ``score`` (default ``score_retained``; any numeric column works, e.g. ``score_percentile`` from
    :func:`with_scores`, or ``student_dev_score`` within one task).

    Returns one row per (param, option, task) plus one per (param, option) with ``task == "(pooled)"``:

    - ``param``, ``stage``, ``option`` (the value as text), ``task``;
    - ``n_trials``: rows with this option; ``n_tasks``: tasks where it occurs;
    - ``mean``, ``ci_low``, ``ci_high``: mean ``score`` of those rows and its bootstrap percentile CI at
      ``level`` (rows resampled within the task; NaN CI from a single row). Pooled: the mean of the per-task
      means (every task weighs the same), its CI from the same resamples;
    - ``effect``, ``effect_ci_low``, ``effect_ci_high``: mean score of this option minus the mean score of the
      task's rows with any other option of the parameter (NaN where the task tried only this option), with
      its CI; pooled over the ``n_tasks_effect`` tasks where it is defined.
    """
    check_n_boot(n_boot)
    check_level(level)
    rows = with_scores(select(frame, task=task, family=family, status=status))
    _require(rows, ["task", score], what="option_effects")
    rng = np.random.default_rng(seed)
    out: list[dict[str, object]] = []
    scores = pd.to_numeric(rows[score], errors="coerce").astype(float)
    for param in params:
        if param not in rows.columns:
            continue
        usable = rows[param].notna() & np.isfinite(scores)
        data = pd.DataFrame({"task": rows.loc[usable, "task"], "option": rows.loc[usable, param].map(option_label),
                             "score": scores[usable]})
        pooled: dict[str, dict[str, list]] = {}
        for task_name, group in data.groupby("task", sort=True):
            values = group["score"].to_numpy(float)
            options = group["option"].to_numpy()
            for option in sorted(set(options)):
                inside, rest = values[options == option], values[options != option]
                boot_in = boot_means(inside, n_boot, rng)
                mean_ci = percentile_ci(boot_in, level) if len(inside) > 1 else (np.nan, np.nan)
                if len(rest):
                    boot_effect = boot_in - boot_means(rest, n_boot, rng)
                    effect = float(inside.mean() - rest.mean())
                    effect_ci = (percentile_ci(boot_effect, level) if len(inside) > 1 and len(rest) > 1
                                 else (np.nan, np.nan))
                else:
                    boot_effect, effect, effect_ci = None, np.nan, (np.nan, np.nan)
                out.append({"param": param, "stage": stage_of(param), "option": option, "task": task_name,
                            "n_trials": len(inside), "n_tasks": 1, "mean": float(inside.mean()),
                            "ci_low": mean_ci[0], "ci_high": mean_ci[1], "effect": effect,
                            "effect_ci_low": effect_ci[0], "effect_ci_high": effect_ci[1],
                            "n_tasks_effect": int(boot_effect is not None)})
                acc = pooled.setdefault(option, {"n": [], "mean": [], "boot": [], "effect": [], "boot_effect": [],
                                                 "spread": [], "spread_effect": []})
                acc["n"].append(len(inside))
                acc["mean"].append(float(inside.mean()))
                acc["boot"].append(boot_in)
                acc["spread"].append(len(inside) > 1)
                if boot_effect is not None:
                    acc["effect"].append(effect)
                    acc["boot_effect"].append(boot_effect)
                    acc["spread_effect"].append(len(inside) > 1 and len(rest) > 1)
        for option, acc in sorted(pooled.items()):
            mean_ci = (percentile_ci(np.mean(acc["boot"], axis=0), level) if any(acc["spread"])
                       else (np.nan, np.nan))
            if acc["effect"]:
                effect = float(np.mean(acc["effect"]))
                effect_ci = (percentile_ci(np.mean(acc["boot_effect"], axis=0), level) if any(acc["spread_effect"])
                             else (np.nan, np.nan))
            else:
                effect, effect_ci = np.nan, (np.nan, np.nan)
            out.append({"param": param, "stage": stage_of(param), "option": option, "task": POOLED,
                        "n_trials": int(np.sum(acc["n"])), "n_tasks": len(acc["n"]),
                        "mean": float(np.mean(acc["mean"])), "ci_low": mean_ci[0], "ci_high": mean_ci[1],
                        "effect": effect, "effect_ci_low": effect_ci[0], "effect_ci_high": effect_ci[1],
                        "n_tasks_effect": len(acc["effect"])})
    result = pd.DataFrame(out, columns=EFFECT_COLUMNS)
    for column in ("n_trials", "n_tasks", "n_tasks_effect"):
        result[column] = result[column].astype("int64")
    for column in ("mean", "ci_low", "ci_high", "effect", "effect_ci_low", "effect_ci_high"):
        result[column] = result[column].astype(float)
    return result
