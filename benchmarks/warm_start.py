"""Warm-started against cold search: best dev score so far against trials, on held-out tasks.

For each task, the recommender is fitted on the meta-dataset rows of the *other* families (the task's own rows
would leak its answer), its top-K pipelines inside the space are written to a warm-start file, and two searches
of the same space, sampler, scheduler and seed run with the project's CLI: cold (TPE from scratch) and warm
(``--warm-start-from`` the top-K, then TPE). This is what ``search --warm-start K`` does for a task outside the
meta-dataset. Reported: best dev score so far after each trial, per arm and search seed, and the test score of
each search's best dev trial.

    python benchmarks/warm_start.py --tasks trec6,sms_spam [--trials 12] [--k 3] [--seeds 0]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zlib
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "search_spaces" / "distiller_meta.yaml"


def warm_points(task_name: str, meta_dataset_path: str, k: int) -> list[dict]:
    """The top-``k`` pipelines (inside the space) of a recommender that never saw ``task_name``'s family."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from recommender_lofo import _fresh

    from autodistiller import meta_dataset
    from autodistiller.recommend import Recommender, load_task_features, training_table
    from autodistiller.searcher import load_space

    table = training_table(meta_dataset.load(meta_dataset_path), load_task_features(meta_dataset_path))
    family = table.loc[table["task"] == task_name, "task_family"].iloc[0]
    recommender = Recommender().fit(table[table["task_family"] != family])
    features = table[table["task"] == task_name].iloc[0].to_dict()
    candidates = recommender.candidates() + _fresh(300, seed=zlib.crc32(task_name.encode()))
    ranked = recommender.recommend(features, top_k=max(10 * k, 30), candidates=candidates)
    return load_space(SPACE).first_points(ranked["pipeline"], k)


def run_search(task: str, name: str, trials: int, seed: int, storage: Path, rows: Path,
               warm_file: Path | None) -> None:
    command = ["search", "--task", f"suite:{task}", "--space", str(SPACE), "--trials", str(trials),
               "--sampler", "tpe", "--scheduler", "asha", "--seed", str(seed), "--max-concurrent", "1",
               "--cpus-per-trial", "2", "--no-save-students", "--storage", str(storage), "--name", name,
               "--meta-dataset", str(rows), "--teacher-epochs", "2", "--teacher-max-length", "64",
               "--teacher-max-train-examples", "4000"]
    if warm_file is not None:
        command += ["--warm-start-from", str(warm_file)]
    if (storage / name / "tuner.pkl").is_file():
        command.append("--resume")
    print("autodistiller " + " ".join(command), flush=True)
    code = subprocess.call([sys.executable, "-c", "import sys; from autodistiller.cli import main; sys.exit(main())",
                            *command], cwd=ROOT)
    if code != 0:
        raise SystemExit(f"{name} exited with {code}; run this script again to resume it.")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="trec6,sms_spam")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--k", type=int, default=3, help="recommended pipelines the warm search starts with")
    parser.add_argument("--seeds", default="0", help="search (sampler) seeds, comma-separated")
    parser.add_argument("--meta-dataset", default=str(ROOT / "meta_dataset"), help="the recommender's rows")
    parser.add_argument("--storage", default="runs/warm_start")
    args = parser.parse_args(argv)
    storage = (ROOT / args.storage).resolve()
    rows = storage / "rows"
    storage.mkdir(parents=True, exist_ok=True)
    from autodistiller import analysis, meta_dataset

    for task in args.tasks.split(","):
        warm_file = storage / f"{task}-warm.yaml"
        if not warm_file.is_file():  # fixed once written: a resumed benchmark starts from the same points
            warm_file.write_text(yaml.safe_dump(warm_points(task, args.meta_dataset, args.k), sort_keys=True))
        for seed in map(int, args.seeds.split(",")):
            for arm, file in (("cold", None), ("warm", warm_file)):
                name = f"{task}-{arm}-{seed}"
                done = (meta_dataset.list_files(rows) and
                        len(meta_dataset.load(rows, filters={"experiment_id": name}, columns=["status"])))
                if not done or done < args.trials:
                    run_search(task, name, args.trials, seed, storage, rows, file)
    frame = meta_dataset.load(rows)
    progress = analysis.best_so_far(frame)
    progress["arm"] = progress["experiment_id"].str.split("-").str[-2]
    curves = progress.pivot_table(index="trial_number", columns=["task", "arm"], values="best_so_far",
                                  aggfunc="mean")
    print("best dev score so far (mean over search seeds):")
    print(curves.round(4).to_string())
    best = frame.sort_values("student_dev_score").groupby("experiment_id").tail(1)
    print("\ntest score of each search's best dev trial:")
    print(best[["experiment_id", "student_dev_score", "student_test_score"]].sort_values("experiment_id")
          .round(4).to_string(index=False))
    print(f"\ncommand: python benchmarks/warm_start.py {' '.join(sys.argv[1:])}".rstrip())
    return curves


if __name__ == "__main__":
    main()
