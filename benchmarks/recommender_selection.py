"""Which recommender, and which meta-features: leave-one-family-out on the logged trials of a meta-dataset.

For each family held out, each method is fitted on the other families and picks, for each held-out task, the
pipeline it ranks first among those the task's searches ran; the pick is scored by its logged test score
(no new runs: that is benchmarks/recommender_lofo.py). Prints, per method, the mean normalised regret against the
search's own choice (0 = as good, 1 = as bad as the task's worst pipeline) and the pick's mean within-task
percentile, for each target (the within-task percentile, and the score retained: student / teacher), and the
surrogate with each task's rows weighed by its reliability; then the surrogate without each meta-feature group.

    python benchmarks/recommender_selection.py [--meta-dataset meta_dataset] [--target percentile|retained]
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meta-dataset", default="meta_dataset")
    parser.add_argument("--target", default="percentile", choices=("percentile", "retained"),
                        help="the target of the meta-feature ablation (the methods run with both)")
    args = parser.parse_args(argv)
    from autodistiller import meta_dataset
    from autodistiller.recommend import (
        feature_group_ablation,
        leave_one_family_out,
        load_task_features,
        summarize,
        training_table,
    )

    rows, features = meta_dataset.load(args.meta_dataset), load_task_features(args.meta_dataset)
    tables = {target: training_table(rows, features, target=target) for target in ("percentile", "retained")}
    table = tables[args.target]
    print(f"{len(table)} completed trials, {table['task'].nunique()} tasks, {table['task_family'].nunique()} families")
    methods = pd.concat({target: summarize(leave_one_family_out(t)) for target, t in tables.items()},
                        names=["target"])
    weighted = pd.concat({target: summarize(leave_one_family_out(t, methods=["surrogate"], weighting="reliability"))
                          for target, t in tables.items()}, names=["target"]).rename(
        index={"surrogate": "surrogate+reliability"})
    methods = pd.concat([methods, weighted]).sort_index(level=0, sort_remaining=False)
    print("task reliability (share of dev-score variance that is not seed noise): "
          + ", ".join(f"{task} {value:.2f}" for task, value in table.groupby("task")["task_reliability"].first().items()))
    print("\nmethods x targets (leave-one-family-out, picks among each task's logged pipelines):")
    print(methods.round(4).to_string())
    print(f"\nmeta-feature groups (surrogate, target {args.target}, without each; change_vs_all > 0: the group "
          "helps):")
    print(feature_group_ablation(table).round(4).to_string(index=False))
    print(f"command: python benchmarks/recommender_selection.py {' '.join(sys.argv[1:])}".rstrip())
    target, method = methods["mean_normalized_regret"].idxmin()  # over both targets, not the first one's best
    print(f"winner: {method} (target {target})")


if __name__ == "__main__":
    main()
