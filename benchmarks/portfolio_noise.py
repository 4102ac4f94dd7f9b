"""Is the meta-dataset signal or noise? Per task: the seed noise of the default pipeline against the spread of
the shared portfolio's scores.

The portfolio runs the default pipeline (kd_default) with several seeds (training.seed 42, 1, 2, 3: the seed
also draws the 500-example training subset) and every other pipeline once. A task's spread is "clearly larger
than the noise" when the portfolio's standard deviation is at least twice the default's seed standard
deviation. ``*_separable``: the share of the portfolio's pipeline pairs whose scores differ by more than two
standard deviations of a difference of two single runs (2 * sqrt(2) * seed std), i.e. the pairs a one-seed
trial can tell apart: what a recommender learning within-task ranks has to go on. Scores are dev scores (what
the searches optimise) and test scores.

    python benchmarks/portfolio_noise.py [--meta-dataset meta_dataset] [--markdown]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RATIO_BAR = 2.0  # portfolio std / seed std needed to call the spread clearly larger than the noise


def noise_vs_spread(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per task: seeds and seed std of the default pipeline, the portfolio's std and range (one score
    per pipeline: the seeds' mean for the default), their ratio, and the verdict."""
    from autodistiller.recommend import pipeline_key
    from autodistiller.searcher import load_points, load_space

    space = load_space(ROOT / "search_spaces" / "distiller_meta.yaml")
    defaults = {regression: pipeline_key(load_points_default(space, load_points, is_regression=regression))
                for regression in (False, True)}
    portfolio = frame[frame["experiment_id"].str.endswith("-portfolio") & (frame["status"] == "completed")].copy()
    portfolio["pipeline_key"] = [pipeline_key(r) for r in portfolio.to_dict("records")]
    out = []
    for task, rows in portfolio.groupby("task"):
        seeds = rows[rows["pipeline_key"] == defaults[bool(rows["task_type"].iloc[0] == "regression")]]
        per_pipeline = rows.groupby("pipeline_key")[["student_dev_score", "student_test_score"]].mean()
        record = {"task": task, "family": rows["task_family"].iloc[0], "metric": rows["metric"].iloc[0],
                  "seeds": len(seeds), "pipelines": len(per_pipeline)}
        for split, column in (("dev", "student_dev_score"), ("test", "student_test_score")):
            noise = seeds[column].std(ddof=1)
            spread = per_pipeline[column].std(ddof=1)
            record.update({f"{split}_seed_std": noise, f"{split}_portfolio_std": spread,
                           f"{split}_portfolio_range": per_pipeline[column].max() - per_pipeline[column].min(),
                           f"{split}_ratio": spread / noise if noise > 0 else float("inf"),
                           f"{split}_separable": separable_share(per_pipeline[column].to_numpy(), noise)})
        record["clearly_above_noise"] = bool(record["dev_ratio"] >= RATIO_BAR and record["test_ratio"] >= RATIO_BAR)
        out.append(record)
    return pd.DataFrame(out)


def separable_share(scores: np.ndarray, seed_std: float) -> float:
    """The share of pairs of ``scores`` farther apart than 2 * sqrt(2) * ``seed_std``."""
    i, j = np.triu_indices(len(scores), k=1)
    return float(np.mean(np.abs(scores[i] - scores[j]) > 2 * math.sqrt(2) * seed_std)) if len(i) else float("nan")


def load_points_default(space, load_points, *, is_regression: bool = False):
    """The completed default pipeline of the portfolio (its first entry), as the rows of a task record it (a
    regression task runs kl's counterpart, mse)."""
    from autodistiller.recommend import flat_rows

    point = space.complete_point(load_points(ROOT / "meta_dataset" / "portfolio.yaml")[0])
    point = space.adapt_points([point], is_regression=is_regression)[0][0]
    return flat_rows([point]).iloc[0].to_dict()


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meta-dataset", default="meta_dataset")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table (for the README)")
    args = parser.parse_args(argv)
    from autodistiller import meta_dataset

    table = noise_vs_spread(meta_dataset.load(args.meta_dataset))
    shown = table.round(4)
    if args.markdown:
        print("| " + " | ".join(shown.columns) + " |\n|" + "---|" * len(shown.columns))
        for row in shown.itertuples(index=False):
            print("| " + " | ".join(str(v) for v in row) + " |")
    else:
        print(shown.to_string(index=False))
    above = int(table["clearly_above_noise"].sum())
    print(f"\ntasks whose portfolio spread is at least {RATIO_BAR:g}x the default's seed noise (dev and test): "
          f"{above}/{len(table)}")
    print(f"command: python benchmarks/portfolio_noise.py {' '.join(sys.argv[1:])}".rstrip())
    return table


if __name__ == "__main__":
    main()
