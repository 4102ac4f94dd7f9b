"""The recommender, leave-one-family-out, by running its picks (real distillation, the meta-dataset's fidelity).

For each held-out family: the recommender is fitted on the other families' rows; for each of the family's
tasks it recommends a pipeline (ranking every pipeline of the meta-dataset and fresh samples of the space), and
that pipeline is run with 3 seeds. It is compared with, each run with the same 3 seeds:
(a) the pipeline the task's own search chose (its best dev trial); (b) the single best pipeline on average of
the training families; (c) plain KD defaults (the portfolio's kd_default: its logged seed runs); (d) a random
pipeline of the space. As `recommend` does by default, every arm keeps to students smaller than the teacher
(no Born-Again; `--allow-teacher-size` lifts it). Also the Distiller paper's protocol: the recommender's top 5 against 5 random pipelines
(one seed each; the first random pipeline is (d)). Runs the searches already logged (same pipeline, seed,
fidelity and code) are reused, not repeated. Reported per task and averaged: test scores, regret against (a) in points and relative to
(a), and wins / ties / losses against (b) and (c) beyond seed noise (a difference larger than twice its
standard error over the seeds).

    python benchmarks/recommender_lofo.py [--tasks trec6,...] [--seeds 42,1,2] [--fresh 300] [--output FILE]
    python benchmarks/recommender_lofo.py --plan     # what it would run, and for how long
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "search_spaces" / "distiller_meta.yaml"


def _run(pipeline: dict, task, teacher, seed: int, cache: dict, runs_file: Path | None = None) -> float:
    """The test score of ``pipeline`` with ``seed`` (each distinct run once). A new run is appended to
    ``runs_file`` as soon as it ends (a failed one too, scored nan), so an interrupted evaluation resumes
    where it stopped and a later one (on a grown meta-dataset) reuses every pick already run."""
    from autodistiller import PipelineConfig, distill
    from autodistiller.meta_dataset import git_commit
    from autodistiller.recommend import pipeline_key

    key = (task.name, pipeline_key(pipeline), seed)
    if key not in cache:
        config = PipelineConfig.from_flat({**pipeline, "training.seed": seed})
        record = {"task": task.name, "seed": seed, "pipeline": pipeline_key(pipeline), "commit": git_commit()}
        started = time.time()
        try:
            result = distill(config, task, teacher, log=lambda _: None)
            record.update(test_score=result.test_score, dev_score=result.dev_score,
                          train_seconds=round(result.train_seconds, 1))
        except Exception as exc:  # a failed run scores nothing; say so, keep going
            print(f"  run failed ({type(exc).__name__}: {exc}); scored as nan", flush=True)
            record.update(test_score=float("nan"), error=f"{type(exc).__name__}: {exc}"[:500])
        record["wall_seconds"] = round(time.time() - started, 1)
        cache[key] = record["test_score"]
        if runs_file is not None:
            runs_file.parent.mkdir(parents=True, exist_ok=True)
            with open(runs_file, "a") as out:
                out.write(json.dumps(record) + "\n")
    return cache[key]


def _stored_runs(runs_file: Path) -> dict:
    """The runs an earlier evaluation appended to ``runs_file``, keyed like ``_run``'s cache."""
    if not runs_file.is_file():
        return {}
    records = [json.loads(line) for line in runs_file.read_text().splitlines() if line.strip()]
    return {(r["task"], r["pipeline"], int(r["seed"])): float(r["test_score"]) for r in records}


def _logged_runs(rows: pd.DataFrame) -> dict:
    """The test score of every completed trial of the meta-dataset, keyed like ``_run``'s cache: a pick that
    the searches already ran with a seed (same fidelity, same code) is that run, not a new one."""
    from autodistiller.recommend import pipeline_key

    done = rows[(rows["status"] == "completed") & rows["student_test_score"].notna()]
    return {(row["task"], pipeline_key(row), int(row["training.seed"])): float(row["student_test_score"])
            for row in done.to_dict("records")}


def _fresh(count: int, seed: int, *, is_regression: bool = False, is_pair: bool = False,
           compress: bool = True) -> list[dict]:
    """``count`` random pipelines of the space that a task of this kind can run (seed left out: the runs set it),
    with a student smaller than the teacher when ``compress`` (the recommender's default constraint)."""
    from autodistiller.searcher import fresh_candidates

    return fresh_candidates(count, seed=seed, is_regression=is_regression, is_pair=is_pair, compress=compress,
                            space=SPACE)


def _plan(task: str, recommender, features: dict, runs: list[tuple[dict, int]], logged: dict) -> float:
    """Print the runs of ``task`` that are not logged yet and their predicted training seconds; their sum."""
    from autodistiller.recommend import Constraints, pipeline_key

    needed = {(pipeline_key(p), seed): p for p, seed in runs if (task, pipeline_key(p), seed) not in logged}
    # one pipeline at a time: the ranked frame holds each candidate resolved, not as given
    total = sum(float(recommender.recommend(features, top_k=1, candidates=[p], constraints=Constraints(
        compress=False))["predicted_train_seconds"].iloc[0]) for p in needed.values())
    print(f"{task}: {len(needed)} runs to do of {len(runs)} ({len(runs) - len(needed)} logged or repeated), "
          f"~{total / 60:.0f} min predicted", flush=True)
    return total


def _beyond_noise(a: list[float], b: list[float]) -> int:
    """+1 if a beats b by more than twice the standard error of the difference, -1 if it loses so, else 0."""
    a, b = [x for x in a if math.isfinite(x)], [x for x in b if math.isfinite(x)]
    if len(a) < 2 or len(b) < 2:
        return 0
    diff = statistics.mean(a) - statistics.mean(b)
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    return 0 if abs(diff) <= 2 * se else (1 if diff > 0 else -1)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meta-dataset", default=str(ROOT / "meta_dataset"))
    parser.add_argument("--tasks", default=None, help="only these held-out tasks (default: every task)")
    # 42 is the seed every portfolio pipeline ran with, and 42, 1, 2 three of the default's: a pick that is a
    # portfolio pipeline (or the search's own best, or KD defaults) reuses those logged runs
    parser.add_argument("--seeds", default="42,1,2")
    parser.add_argument("--fresh", type=int, default=300, help="fresh samples of the space among the candidates")
    parser.add_argument("--output", default=None, help="write the per-task table (CSV) here")
    # committed with the project: the evaluation takes hours, longer than a session's checkout lives
    parser.add_argument("--runs-file", default=str(ROOT / "benchmarks" / "results" / "recommender_lofo_runs.jsonl"),
                        help="every run of the evaluation, appended as it ends: rerunning the command resumes")
    parser.add_argument("--plan", action="store_true",
                        help="run nothing: list each held-out task's runs that are not logged yet, with the "
                             "recommender's predicted training seconds (to plan the evaluation's CPU time)")
    parser.add_argument("--allow-teacher-size", action="store_true",
                        help="let every arm use teacher-sized students (Born-Again); by default, as `recommend` "
                             "does, every arm's student is smaller than the teacher")
    args = parser.parse_args(argv)
    compress = not args.allow_teacher_size
    seeds = [int(s) for s in args.seeds.split(",")]

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from build_meta_dataset import teacher_training
    from portfolio_noise import load_points_default

    from autodistiller import TaskSpec, meta_dataset
    from autodistiller.engine import fine_tune_teacher
    from autodistiller.recommend import (
        BestOnAverage,
        Constraints,
        Recommender,
        keeps_teacher_depth,
        load_task_features,
        pipeline_of,
        training_table,
    )
    from autodistiller.registries import unusable_choices
    from autodistiller.searcher import load_points, load_space

    # plain KD defaults: the portfolio's first pipeline, as its rows record it (mse on a regression task)
    defaults = {regression: pipeline_of(load_points_default(load_space(SPACE), load_points,
                                                            is_regression=regression))
                for regression in (False, True)}
    rows = meta_dataset.load(args.meta_dataset)
    table = training_table(rows, load_task_features(args.meta_dataset))
    chosen = set(args.tasks.split(",")) if args.tasks else set(table["task"])
    runs = _logged_runs(rows)
    runs_file = Path(args.runs_file)
    stored = _stored_runs(runs_file)
    runs.update(stored)
    print(f"{len(stored)} runs of earlier evaluations in {runs_file} are reused", flush=True)
    print(f"{len(runs)} (task, pipeline, seed) runs already logged in the meta-dataset are reused, not rerun",
          flush=True)
    records: list[dict] = []
    planned = 0.0
    for family in sorted(table["task_family"].unique()):
        held = sorted(set(table.loc[table["task_family"] == family, "task"]) & chosen)
        if not held:
            continue
        train = table[table["task_family"] != family]
        recommender = Recommender().fit(train)
        ranking = [recommender.pipelines_[key] for key in
                   BestOnAverage().fit(train[["task", "pipeline_key", "target"]]).score_keys().index]
        for task_name in held:
            started = time.time()
            task = TaskSpec(f"suite:{task_name}").load()
            task_rows = table[table["task"] == task_name]
            features = task_rows.iloc[0].to_dict()
            regression = bool(task.card.is_regression)
            kind = {"is_regression": regression, "is_pair": bool(task.card.has_pair)}
            default = defaults[regression]
            # (b): the best on average among the pipelines this task can run, under the same constraint
            best_average = next(p for p in ranking if not unusable_choices(p, **kind)
                                and not (compress and keeps_teacher_depth(p)))
            candidates = recommender.candidates() + _fresh(args.fresh, seed=zlib.crc32(task_name.encode()), **kind,
                                                           compress=compress)
            ranked = recommender.recommend(features, top_k=5, candidates=candidates,
                                           constraints=Constraints(compress=compress))
            searched = [pipeline_of(r) for r in task_rows.sort_values("student_dev_score").to_dict("records")]
            search_best = [p for p in searched if not (compress and keeps_teacher_depth(p))][-1]
            random_pipelines = _fresh(5, seed=1 + zlib.crc32(task_name.encode()), **kind, compress=compress)
            arms = {"recommended": ranked["pipeline"].iloc[0], "search_best": search_best,
                    "best_on_average": best_average, "random": random_pipelines[0]}
            if args.plan:
                planned += _plan(task_name, recommender, features, [
                    *((p, s) for p in arms.values() for s in seeds), *((p, seeds[0]) for p in ranked["pipeline"]),
                    *((p, seeds[0]) for p in random_pipelines)], runs)
                continue
            teacher = fine_tune_teacher(task, training=teacher_training(), log=lambda _: None)
            scores = {arm: [_run(p, task, teacher, s, runs, runs_file) for s in seeds] for arm, p in arms.items()}
            portfolio_rows = rows[(rows["task"] == task_name) & rows["experiment_id"].str.endswith("-portfolio")]
            scores["kd_defaults"] = [r["student_test_score"] for r in portfolio_rows.to_dict("records")
                                     if pipeline_of(r) == default and r["training.seed"] in seeds]
            top5 = [_run(p, task, teacher, seeds[0], runs, runs_file) for p in ranked["pipeline"]]
            random5 = [_run(p, task, teacher, seeds[0], runs, runs_file) for p in random_pipelines]  # (d)'s 1st seed too
            a = statistics.mean(scores["search_best"])
            mean = {arm: statistics.mean(v) if v else float("nan") for arm, v in scores.items()}
            record = {"task": task_name, "family": family, **{f"{arm}_test": m for arm, m in mean.items()},
                      "regret_points": a - mean["recommended"], "regret_relative": (a - mean["recommended"]) / a,
                      "vs_best_on_average": _beyond_noise(scores["recommended"], scores["best_on_average"]),
                      "vs_kd_defaults": _beyond_noise(scores["recommended"], scores.get("kd_defaults", [])),
                      "top5_mean": float(np.nanmean(top5)), "random5_mean": float(np.nanmean(random5)),
                      "minutes": (time.time() - started) / 60}
            records.append(record)
            print(json.dumps(record), flush=True)
    if args.plan:
        print(f"planned: {planned / 3600:.1f} h of predicted training for the tasks above (at the meta-dataset's "
              "machine; the rows' train_seconds, not wall time)")
        return pd.DataFrame()
    frame = pd.DataFrame(records)
    if args.output:
        frame.to_csv(args.output, index=False)
    print(frame.round(4).to_string(index=False))
    print("\nmean test score by arm: " + ", ".join(f"{c[:-5]} {frame[c].mean():.4f}" for c in frame.columns
                                                  if c.endswith("_test")))
    for other in ("vs_best_on_average", "vs_kd_defaults"):
        counts = frame[other].value_counts().to_dict()
        print(f"recommended {other}: {counts.get(1, 0)} wins / {counts.get(0, 0)} ties / {counts.get(-1, 0)} losses")
    print(f"Distiller protocol: top-5 mean {frame['top5_mean'].mean():.4f} vs 5 random {frame['random5_mean'].mean():.4f}")
    print(f"command: python benchmarks/recommender_lofo.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"mean_regret_points: {frame['regret_points'].mean():.4f}")
    return frame


if __name__ == "__main__":
    main()
