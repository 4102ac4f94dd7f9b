"""Which recommender, and which meta-features: leave-one-family-out on the logged trials of a meta-dataset.

For each family held out, each method is fitted on the other families and picks, for each held-out task, the
pipeline it ranks first among those the task's searches ran; the pick is scored by its logged test score
(no new runs: that is benchmarks/recommender_lofo.py). Prints, per method, the mean normalised regret against the
search's own choice (0 = as good, 1 = as bad as the task's worst pipeline) and the pick's mean within-task
percentile; then the same for the surrogate without each meta-feature group.

    python benchmarks/recommender_selection.py [--meta-dataset meta_dataset] [--target percentile|retained]
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meta-dataset", default="meta_dataset")
    parser.add_argument("--target", default="percentile", choices=("percentile", "retained"))
    args = parser.parse_args(argv)
    from autodistiller import meta_dataset
    from autodistiller.recommend import (
        feature_group_ablation,
        leave_one_family_out,
        load_task_features,
        summarize,
        training_table,
    )

    table = training_table(meta_dataset.load(args.meta_dataset), load_task_features(args.meta_dataset),
                           target=args.target)
    print(f"{len(table)} completed trials, {table['task'].nunique()} tasks, {table['task_family'].nunique()} families")
    methods = summarize(leave_one_family_out(table))
    print("\nmethods (leave-one-family-out, picks among each task's logged pipelines):")
    print(methods.round(4).to_string())
    print("\nmeta-feature groups (surrogate without each; change_vs_all > 0: the group helps):")
    print(feature_group_ablation(table).round(4).to_string(index=False))
    print(f"command: python benchmarks/recommender_selection.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"winner: {methods.index[0]}")


if __name__ == "__main__":
    main()
