"""The four findings of the Distiller study (He et al. 2021), re-tested on a meta-dataset.

1. KD beats training the student on the labels alone;
2. the intermediate-layer stage is the most important;
3. data augmentation helps most on small training sets;
4. the MI-alpha objective is the best intermediate objective.

Each finding gets an effect size with a bootstrap CI, per task and pooled over tasks (every task weighs the
same), the number of tasks it rests on, and a plain verdict on the pooled effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from autodistiller.analysis._frame import KD_STAGES, POOLED, Filter, _require, select, with_scores
from autodistiller.analysis._importance import EVALUATORS, param_importance, stage_importance
from autodistiller.analysis._stats import boot_means, check_level, check_n_boot, percentile_ci
from autodistiller.errors import ConfigError

__all__ = ["CLAIMS", "INCONCLUSIVE", "NOT_SUPPORTED", "SUPPORTED", "distiller_findings", "verdict"]

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive at this fidelity"
CLAIMS = {
    1: "KD beats training the student on the labels alone",
    2: "the intermediate-layer stage is the most important",
    3: "data augmentation helps most on small training sets",
    4: "the MI-alpha objective is the best intermediate objective",
}
FINDING_COLUMNS = ["finding", "claim", "task", "train_size", "comparison", "n_a", "n_b", "effect", "ci_low",
                   "ci_high", "n_tasks", "verdict", "detail"]
_TEACHER_FREE = ("teacher_free", "self_distill")


def verdict(effect: float, ci_low: float, ci_high: float, n_tasks: int, *, margin: float,
            min_tasks: int) -> tuple[str, str]:
    """The verdict on a pooled effect (positive = the claim holds) and why:

    - ``inconclusive at this fidelity``: no task could test it, fewer than ``min_tasks`` tasks, no CI, or a
      CI that includes 0 without ruling out an effect larger than ``margin``;
    - ``supported``: the whole CI is above 0;
    - ``not supported``: the whole CI is below 0 (the opposite holds), or inside [-margin, margin] (no
      difference that matters).
    """
    if n_tasks == 0 or not math.isfinite(effect):
        return INCONCLUSIVE, "no task has the trials this comparison needs"
    if n_tasks < min_tasks:
        return INCONCLUSIVE, f"only {n_tasks} task(s) can test it; at least {min_tasks} needed"
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return INCONCLUSIVE, "too few trials for a confidence interval"
    interval = f"CI [{ci_low:+.4f}, {ci_high:+.4f}]"
    if ci_low > 0:
        return SUPPORTED, f"{interval} is above 0"
    if ci_high < 0:
        return NOT_SUPPORTED, f"{interval} is below 0: the opposite holds"
    if -margin <= ci_low and ci_high <= margin:
        return NOT_SUPPORTED, f"{interval} lies within ±{margin:g}: no difference that matters"
    return INCONCLUSIVE, f"{interval} includes 0"


def _column(rows: pd.DataFrame, name: str) -> pd.Series:
    return rows[name] if name in rows.columns else pd.Series(pd.NA, index=rows.index, dtype=object)


def _is(series: pd.Series, *values: str) -> pd.Series:
    return series.notna() & series.isin(values)


def _is_not(series: pd.Series, *values: str) -> pd.Series:
    return series.notna() & ~series.isin(values)


class _Builder:
    """Collects per-group rows and their bootstrap samples, then adds the pooled row with its verdict."""

    def __init__(self, finding: int, comparison: str, *, level: float, margin: float, min_tasks: int) -> None:
        self.finding, self.comparison = finding, comparison
        self.level, self.margin, self.min_tasks = level, margin, min_tasks
        self.rows: list[dict[str, object]] = []
        self.boots: list[np.ndarray] = []
        self.spread: list[bool] = []

    def add(self, task: str, effect: float, boot: np.ndarray | None, *, n_a: int, n_b: int, spread: bool,
            train_size: float = np.nan, comparison: str | None = None, detail: str = "") -> None:
        ci = percentile_ci(boot, self.level) if boot is not None and spread else (np.nan, np.nan)
        self.rows.append({"finding": self.finding, "claim": CLAIMS[self.finding], "task": task,
                          "train_size": train_size, "comparison": comparison or self.comparison, "n_a": n_a,
                          "n_b": n_b, "effect": effect, "ci_low": ci[0], "ci_high": ci[1], "n_tasks": 1,
                          "verdict": None, "detail": detail})
        if boot is not None:
            self.boots.append(boot)
            self.spread.append(spread)

    def pooled(self, effect: float, ci: tuple[float, float], *, n_tasks: int, n_a: int, n_b: int,
               extra: str = "") -> list[dict[str, object]]:
        word, why = verdict(effect, ci[0], ci[1], n_tasks, margin=self.margin, min_tasks=self.min_tasks)
        self.rows.append({"finding": self.finding, "claim": CLAIMS[self.finding], "task": POOLED,
                          "train_size": np.nan, "comparison": self.comparison, "n_a": n_a, "n_b": n_b,
                          "effect": effect, "ci_low": ci[0], "ci_high": ci[1], "n_tasks": n_tasks,
                          "verdict": word, "detail": "; ".join(x for x in (why, extra) if x)})
        return self.rows

    def pool_tasks(self, extra: str = "") -> list[dict[str, object]]:
        """Pooled = mean of the per-task effects; CI from the averaged per-task bootstrap samples."""
        effects = [r["effect"] for r in self.rows]
        tasks = len({r["task"] for r in self.rows})
        effect = float(np.mean(effects)) if effects else float("nan")
        ci = (percentile_ci(np.mean(self.boots, axis=0), self.level)
              if self.boots and any(self.spread) else (np.nan, np.nan))
        return self.pooled(effect, ci, n_tasks=tasks, n_a=int(sum(r["n_a"] for r in self.rows)),
                           n_b=int(sum(r["n_b"] for r in self.rows)), extra=extra)


def _finding_1(rows: pd.DataFrame, score: str, make: Callable[..., _Builder], rng: np.random.Generator,
               n_boot: int) -> list[dict[str, object]]:
    loss, inter, proc = (_column(rows, k) for k in ("loss.kind", "intermediate.objective", "procedure.kind"))
    # labels only: no prediction-layer KD, no intermediate objective, the standard procedure (no teacher at all)
    labels_only = _is(loss, "none") & (inter.isna() | _is(inter, "none")) & (proc.isna() | _is(proc, "standard"))
    # KD: a teacher signal at the prediction layer or the intermediate layers (teacher-free procedures excluded)
    kd = (_is_not(loss, "none") | _is_not(inter, "none")) & ~_is(proc, *_TEACHER_FREE)
    build = make(1, "mean score: KD (loss.kind kl/mse/annealing or an intermediate objective) − labels only "
                    "(loss.kind none, no intermediate objective)")
    for task, group in rows.groupby("task", sort=True):
        a = group.loc[kd.loc[group.index], score].to_numpy(float)
        b = group.loc[labels_only.loc[group.index], score].to_numpy(float)
        if len(a) and len(b):
            boot = boot_means(a, n_boot, rng) - boot_means(b, n_boot, rng)
            build.add(task, float(a.mean() - b.mean()), boot, n_a=len(a), n_b=len(b),
                      spread=len(a) > 1 and len(b) > 1)
    return build.pool_tasks()


def _finding_2(rows: pd.DataFrame, score: str, make: Callable[..., _Builder], rng: np.random.Generator,
               n_boot: int, evaluator: str, min_trials: int, seed: int,
               importance: pd.DataFrame | None) -> list[dict[str, object]]:
    build = make(2, f"{evaluator} importance: intermediate stage − the most important other KD stage "
                    f"({', '.join(s for s in KD_STAGES if s != 'intermediate')})")
    if importance is None:
        importance = param_importance(rows, score=score, evaluators=[evaluator], status=None, pooled=False,
                                      min_trials=min_trials, seed=seed)
    importance = importance[(importance["evaluator"] == evaluator) & (importance["task"] != POOLED)]
    stages = stage_importance(importance, stages=KD_STAGES)
    n_a = 0
    for task, group in stages.groupby("task", sort=True):
        by_stage = dict(zip(group["stage"], group["importance"], strict=True))
        others = {s: v for s, v in by_stage.items() if s != "intermediate"}
        if "intermediate" not in by_stage or not others:
            continue  # the task did not search the intermediate stage and another KD stage
        rival = max(others, key=others.get)
        trials = int(group["n_trials"].max())
        n_a += trials
        build.add(task, float(by_stage["intermediate"] - others[rival]), None, n_a=trials, n_b=trials,
                  spread=False, detail=f"most important other KD stage: {rival} ({others[rival]:.3f}); "
                                       f"intermediate {by_stage['intermediate']:.3f}")
    effects = np.array([r["effect"] for r in build.rows], dtype=float)
    effect = float(effects.mean()) if len(effects) else float("nan")
    if len(effects) > 1:  # tasks resampled: the spread of the effect across tasks
        boot = effects[rng.integers(0, len(effects), size=(n_boot, len(effects)))].mean(axis=1)
        ci = percentile_ci(boot, build.level)
    else:
        ci = (np.nan, np.nan)
    return build.pooled(effect, ci, n_tasks=len(effects), n_a=n_a, n_b=n_a,
                        extra="CI from resampling tasks; per-task importances have no CI")


def _finding_3(rows: pd.DataFrame, score: str, make: Callable[..., _Builder], rng: np.random.Generator,
               n_boot: int, small_train_size: float | None) -> list[dict[str, object]]:
    pipe, policy = _column(rows, "augment.pipeline"), _column(rows, "augment.policy")
    augmented = _is_not(pipe, "none") | _is_not(policy, "none")
    plain = _is(pipe, "none") & (policy.isna() | _is(policy, "none"))  # NULL policy: none applies
    build = make(3, "augmentation gain (mean augmented − mean not augmented) on small training sets − the gain "
                    "on large ones")
    cells = []
    sized = rows[np.isfinite(rows["train_size"].to_numpy(float))]
    for (task, size), group in sized.groupby(["task", "train_size"], sort=True):
        a = group.loc[augmented.loc[group.index], score].to_numpy(float)
        b = group.loc[plain.loc[group.index], score].to_numpy(float)
        if len(a) and len(b):
            cells.append((task, float(size), a, b))
    sizes = sorted({size for _, size, _, _ in cells})
    threshold = float(small_train_size) if small_train_size is not None else (
        float(np.median(sizes)) if sizes else float("nan"))
    small = [c for c in cells if c[1] <= threshold]
    large = [c for c in cells if c[1] > threshold]
    boots: dict[str, list[np.ndarray]] = {"small": [], "large": []}
    spread = False
    for label, group_cells in (("small", small), ("large", large)):
        for task, size, a, b in group_cells:
            boot = boot_means(a, n_boot, rng) - boot_means(b, n_boot, rng)
            cell_spread = len(a) > 1 and len(b) > 1
            spread |= cell_spread
            boots[label].append(boot)
            build.add(task, float(a.mean() - b.mean()), boot, n_a=len(a), n_b=len(b), spread=cell_spread,
                      train_size=size, comparison=f"augmentation gain, {label} training set "
                                                  f"({'≤' if label == 'small' else '>'} {threshold:g} examples)")
    gains = {label: [r["effect"] for r in build.rows if r["comparison"].startswith(f"augmentation gain, {label}")]
             for label in ("small", "large")}
    tasks = len({c[0] for c in cells})
    if small and large:
        effect = float(np.mean(gains["small"]) - np.mean(gains["large"]))
        boot = np.mean(boots["small"], axis=0) - np.mean(boots["large"], axis=0)
        ci = percentile_ci(boot, build.level) if spread else (np.nan, np.nan)
        extra = (f"gain {np.mean(gains['small']):+.4f} on {len(small)} small (≤ {threshold:g}) vs "
                 f"{np.mean(gains['large']):+.4f} on {len(large)} large training set(s)")
    else:
        effect, ci = float("nan"), (np.nan, np.nan)
        extra = "needs augmented and plain trials at two or more training-set sizes"
    n_a = int(sum(len(c[2]) for c in cells))
    n_b = int(sum(len(c[3]) for c in cells))
    return build.pooled(effect, ci, n_tasks=tasks if small and large else 0, n_a=n_a, n_b=n_b, extra=extra)


def _finding_4(rows: pd.DataFrame, score: str, make: Callable[..., _Builder], rng: np.random.Generator,
               n_boot: int) -> list[dict[str, object]]:
    inter = _column(rows, "intermediate.objective")
    build = make(4, "mean score: mi_alpha − the best other intermediate objective of the task (by mean)")
    usable = _is_not(inter, "none")
    for task, group in rows[usable].groupby("task", sort=True):
        objectives = group["intermediate.objective"]
        mi = group.loc[objectives == "mi_alpha", score].to_numpy(float)
        others = {o: g[score].to_numpy(float) for o, g in group[objectives != "mi_alpha"].groupby(
            "intermediate.objective", sort=True)}
        if not len(mi) or not others:
            continue
        rival = max(others, key=lambda o: others[o].mean())
        rival_boot = np.max([boot_means(v, n_boot, rng) for v in others.values()], axis=0)
        boot = boot_means(mi, n_boot, rng) - rival_boot
        n_b = int(sum(len(v) for v in others.values()))
        build.add(task, float(mi.mean() - others[rival].mean()), boot, n_a=len(mi), n_b=n_b,
                  spread=len(mi) > 1 and any(len(v) > 1 for v in others.values()),
                  detail=f"best other objective: {rival}")
    return build.pool_tasks()


def distiller_findings(
    frame: pd.DataFrame,
    *,
    score: str = "score_retained",
    task: Filter = None,
    family: Filter = None,
    status: Filter = "completed",
    n_boot: int = 2000,
    level: float = 0.95,
    margin: float = 0.01,
    importance_margin: float = 0.05,
    min_tasks: int = 2,
    small_train_size: float | None = None,
    importance_evaluator: str = "fanova",
    min_trials: int = 5,
    importance: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Re-test the four Distiller findings on ``frame``'s trials (completed ones by default), comparing
    ``score`` (default ``score_retained``: student dev / teacher dev, comparable across tasks).

    How each effect is measured (positive = the claim holds):

    1. per task, mean score of KD trials (``loss.kind`` kl / mse / annealing, or an intermediate objective;
       teacher-free procedures excluded) minus that of labels-only trials (``loss.kind=none``, no intermediate
       objective, standard procedure);
    2. per task, the ``importance_evaluator`` (fANOVA, as in the paper) importance of the intermediate stage
       (its parameters summed) minus that of the most important other KD stage (augment, loss, procedure),
       among those four stages; tasks that did not search the intermediate stage and another are skipped.
       Its CI comes from resampling tasks (a per-task importance has none), so it needs two or more tasks;
    3. per (task, effective training-set size ``train_size``) cell, the augmentation gain (mean score of
       trials with an augmentation pipeline or policy minus trials with neither); the effect is the mean gain
       on small training sets minus the mean gain on large ones, small meaning ``train_size <=
       small_train_size`` (default: the median of the cells' sizes);
    4. per task, mean score of ``intermediate.objective=mi_alpha`` minus the best other objective's (not
       ``none``; the best is picked by mean, which favours the rivals).

    CIs are bootstrap percentile intervals at ``level`` (rows resampled within each group, ``n_boot`` times);
    the pooled effect averages the per-task (per-cell) effects. The verdict (see :func:`verdict`) uses
    ``margin`` (score units) for findings 1, 3, 4 and ``importance_margin`` for finding 2, and needs
    ``min_tasks`` tasks. ``importance``: a :func:`param_importance` table of the same rows and ``score`` to
    reuse for finding 2 (computed when not given).

    Returns one tidy table: per-task (finding 3: per-cell) rows and one ``task == "(pooled)"`` row per
    finding, with ``finding`` (1-4), ``claim``, ``task``, ``train_size`` (finding 3), ``comparison``,
    ``n_a`` / ``n_b`` (trials on each side), ``effect``, ``ci_low``, ``ci_high``, ``n_tasks``, ``verdict``
    (pooled rows: supported / not supported / inconclusive at this fidelity) and ``detail`` (why).
    """
    check_n_boot(n_boot)
    check_level(level)
    if importance_evaluator not in EVALUATORS:
        raise ConfigError(f"importance_evaluator={importance_evaluator!r} must be one of {list(EVALUATORS)}.")
    rows = with_scores(select(frame, task=task, family=family, status=status))
    _require(rows, ["task", score], what="distiller_findings")
    rows = rows[np.isfinite(pd.to_numeric(rows[score], errors="coerce").astype(float))].copy()
    rows[score] = rows[score].astype(float)
    rng = np.random.default_rng(seed)

    def make(finding: int, comparison: str) -> _Builder:
        return _Builder(finding, comparison, level=level, min_tasks=min_tasks,
                        margin=importance_margin if finding == 2 else margin)

    out = [
        *_finding_1(rows, score, make, rng, n_boot),
        *_finding_2(rows, score, make, rng, n_boot, importance_evaluator, min_trials, seed, importance),
        *_finding_3(rows, score, make, rng, n_boot, small_train_size),
        *_finding_4(rows, score, make, rng, n_boot),
    ]
    result = pd.DataFrame(out, columns=FINDING_COLUMNS)
    for column in ("n_a", "n_b", "n_tasks", "finding"):
        result[column] = result[column].astype("int64")
    for column in ("train_size", "effect", "ci_low", "ci_high"):
        result[column] = result[column].astype(float)
    return result
