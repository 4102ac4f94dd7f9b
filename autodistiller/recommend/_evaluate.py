"""Leave-one-family-out evaluation of the recommenders on logged trials (the protocol that picks the shipped
method and meta-features; the README's headline numbers come from running the picks, benchmarks/)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from autodistiller.recommend._encode import pipeline_key, pipeline_of
from autodistiller.recommend._recommender import (
    METHODS,
    MF_GROUPS,
    Constraints,
    Recommender,
    keeps_teacher_depth,
)

__all__ = ["feature_group_ablation", "leave_one_family_out", "summarize"]


def _task_outcomes(table: pd.DataFrame, task: str) -> pd.DataFrame:
    """One row per pipeline logged on ``task``: its mean dev and test score over seeds."""
    rows = table[table["task"] == task]
    out = rows.groupby("pipeline_key").agg(dev=("student_dev_score", "mean"), test=("student_test_score", "mean"))
    out["percentile"] = out["dev"].rank(pct=True, method="average")  # whatever target the model learned
    return out


def leave_one_family_out(table: pd.DataFrame, *, methods: Sequence[str] = METHODS,
                         features: Sequence[str] | None = None, random_state: int = 0,
                         compress: bool = True, weighting: str = "none") -> pd.DataFrame:
    """For each family, fit every method on the other families' rows; on each held-out task, each method picks
    the pipeline it ranks first among those the task's searches ran, and the pick is scored by what was logged.
    ``compress`` (the recommender's default constraint): picks and the search's choice alike are among the
    pipelines whose student is smaller than the teacher (no Born-Again). ``weighting``: the recommenders'
    (see :class:`Recommender`).

    Columns: ``task``, ``family``, ``method``, ``pick_test`` (the pick's mean test score), ``search_test`` (the
    test score of the search's own choice: the best dev pipeline), ``regret`` (``search_test - pick_test``),
    ``normalized_regret`` (regret over the task's range of test scores), ``pick_percentile`` (the pick's
    percentile among the task's pipelines by mean dev score, 1 = best).
    """
    out = []
    for family in sorted(table["task_family"].unique()):
        train = table[table["task_family"] != family]
        if train["task"].nunique() < 2:
            continue
        fitted = {m: Recommender(m, features=features, random_state=random_state, weighting=weighting).fit(train)
                  for m in methods}
        for task in sorted(table.loc[table["task_family"] == family, "task"].unique()):
            outcomes = _task_outcomes(table, task)
            rows = table[table["task"] == task].drop_duplicates("pipeline_key").set_index("pipeline_key")
            candidates = [pipeline_of(rows.loc[key]) for key in outcomes.index]
            if compress:
                kept = [not keeps_teacher_depth(p) for p in candidates]
                outcomes = outcomes[kept]
                candidates = [p for p, keep in zip(candidates, kept, strict=True) if keep]
            features_of_task = rows.iloc[0].to_dict()
            search_test = outcomes.sort_values("dev", ascending=False).iloc[0]["test"]
            spread = outcomes["test"].max() - outcomes["test"].min()
            for method, recommender in fitted.items():
                ranked = recommender.recommend(features_of_task, top_k=1, candidates=candidates,
                                               constraints=Constraints(compress=compress))
                if ranked.empty:
                    continue
                key = _key_of(ranked["pipeline"].iloc[0], outcomes.index)
                pick = outcomes.loc[key]
                out.append({"task": task, "family": family, "method": method, "pick_test": pick["test"],
                            "search_test": search_test, "regret": search_test - pick["test"],
                            "normalized_regret": (search_test - pick["test"]) / spread if spread > 0 else 0.0,
                            "pick_percentile": pick["percentile"]})
    return pd.DataFrame(out)


def _key_of(pipeline: dict, keys: pd.Index) -> str:
    key = pipeline_key(pipeline)
    if key not in keys:
        raise KeyError(f"recommended pipeline {key} is not among the task's logged pipelines")
    return key


def feature_group_ablation(table: pd.DataFrame, *, method: str = "surrogate", random_state: int = 0) -> pd.DataFrame:
    """Mean leave-one-family-out normalised regret with every meta-feature group, and without each one in turn
    (lower is better: a group helps when dropping it raises the regret)."""
    every = [f for group in MF_GROUPS.values() for f in group]
    results = []
    for dropped in [None, *MF_GROUPS]:
        features = [f for f in every if dropped is None or f not in MF_GROUPS[dropped]]
        frame = leave_one_family_out(table, methods=[method], features=features, random_state=random_state)
        results.append({"without": dropped or "(none: all groups)", "mean_normalized_regret":
                        float(frame["normalized_regret"].mean()), "mean_pick_percentile":
                        float(frame["pick_percentile"].mean()), "tasks": len(frame)})
    out = pd.DataFrame(results)
    out["change_vs_all"] = out["mean_normalized_regret"] - out["mean_normalized_regret"].iloc[0]
    return out


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean normalised regret, mean pick percentile, and how often it matched the search's choice."""
    return frame.groupby("method").agg(mean_normalized_regret=("normalized_regret", "mean"),
                                       mean_regret=("regret", "mean"),
                                       mean_pick_percentile=("pick_percentile", "mean"),
                                       tasks=("task", "count")).sort_values("mean_normalized_regret")

