"""``autodistiller recommend``: ranked KD pipelines for a task, without searching."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import yaml

__all__ = ["add_command", "cmd_recommend", "print_recommendations"]


def add_command(commands: Any, add_task: Callable[[Any], None], add_teacher: Callable[[Any], None],
                add_cache: Callable[[Any], None]) -> None:
    parser = commands.add_parser("recommend", help="suggest KD pipelines for a task from the meta-dataset")
    add_task(parser)
    parser.add_argument("--top-k", type=int, default=3, help="pipelines to list (default 3)")
    parser.add_argument("--out", default=None, help="write the best pipeline as YAML (runs with distill --pipeline)")
    parser.add_argument("--meta-dataset", default=None,
                        help="learn from this meta-dataset (default: the one shipped with AutoDistiller)")
    group = parser.add_argument_group("constraints")
    group.add_argument("--student-layers", type=int, default=None, help="only students of this depth")
    group.add_argument("--max-params", type=float, default=None, help="at most this many student parameters")
    group.add_argument("--max-latency-ms", type=float, default=None,
                       help="at most this predicted CPU latency per example (ms, batch 1)")
    group.add_argument("--exclude", action="append", default=[], metavar="KEY=VALUE",
                       help="rule out a stage option, e.g. --exclude augment.pipeline=contextual (repeatable)")
    group.add_argument("--allow-teacher-size", action="store_true",
                       help="also recommend students as large as the teacher (Born-Again: often the best score, "
                            "no compression); by default every student is smaller than the teacher")
    budget = parser.add_argument_group(
        "training budget of the pipeline --out writes (the meta-dataset learned at its own small fidelity; these "
        "set how much the real run trains)")
    budget.add_argument("--epochs", type=int, default=None, help="training epochs (default: the config's, 3)")
    budget.add_argument("--max-length", type=int, default=None, help="tokens per example (default: 128)")
    budget.add_argument("--max-train-examples", type=int, default=None,
                        help="train on a subset of this many examples (default: 0, every example)")
    budget.add_argument("--keep-fidelity", action="store_true",
                        help="write the meta-dataset's own budget instead (a quick run comparable to its trials)")
    parser.add_argument("--fresh", type=int, default=300,
                        help="also rank this many fresh samples of the meta-dataset's space (default 300)")
    add_teacher(parser)
    add_cache(parser)


def print_recommendations(frame: Any, *, file: Any = None) -> None:
    """The ranked pipelines (their non-default flat keys), scores with uncertainty, cost, nearest tasks (to
    ``file``, default: the ``sys.stdout`` of the call, not the one of the import)."""
    file = sys.stdout if file is None else file
    from autodistiller.config import PipelineConfig

    defaults = PipelineConfig().to_flat()
    features = frame.attrs.get("features", {})
    if frame.attrs.get("feature_seconds") is not None:
        print(f"meta-features: {frame.attrs['feature_seconds']:.1f}s", file=file)
    if frame.attrs.get("landmark_beats_teacher"):
        print(f"note: a TF-IDF + linear model reaches {features.get('mf.landmark_tfidf_dev_score'):.4f} dev "
              f"{frame.attrs.get('metric', '')}, at least the teacher's {frame.attrs.get('teacher_dev_score'):.4f}: "
              "distilling this teacher is unlikely to beat the cheap baseline (long documents cut at max_length, "
              "or keyword tasks). Consider the baseline, or a teacher that reads the whole text.", file=file)
    near = ", ".join(f"{task} ({distance:.2f})" for task, distance in frame.attrs.get("nearest_tasks", []))
    print(f"nearest training tasks (standardised meta-feature distance): {near}", file=file)
    if frame.empty:
        print("no pipeline satisfies the constraints.", file=file)
        return
    teacher_params = frame.attrs.get("teacher_params")
    print("(training seconds are predicted at the meta-dataset's own budget and machine: see its MANIFEST.md; "
          "a run on more examples, tokens or epochs takes proportionally longer)", file=file)
    for row in frame.to_dict("records"):
        changed = {k: v for k, v in row["pipeline"].items() if defaults.get(k) != v}
        print(f"\n#{row['rank']}: predicted score {row['predicted_score']:.3f} +/- {row['uncertainty']:.3f} "
              f"(normalised within a task: 1 = best), ~{row['predicted_train_seconds']:.0f}s to train, "
              f"{row['student_params'] / 1e6:.1f}M params{_compression(row['student_params'], teacher_params)}, "
              f"~{row['predicted_latency_ms']:.2f} ms/example", file=file)
        for key, value in changed.items():
            print(f"    {key}: {value}", file=file)
    if teacher_params and frame["student_params"].iloc[0] >= teacher_params:
        print("\nnote: #1 keeps the teacher's size (no compression: Born-Again or a student as deep as the "
              "teacher), as --allow-teacher-size lets it. Without that flag every student is smaller.", file=file)


def _compression(student_params: float, teacher_params: float | None) -> str:
    if not teacher_params:
        return ""
    if student_params >= teacher_params:
        return " (the teacher's size)"
    return f" ({teacher_params / student_params:.2f}x smaller than the teacher)"


def cmd_recommend(args: argparse.Namespace, task: Any, teacher_of: Callable[[], Any]) -> int:
    """``teacher_of`` fine-tunes (or loads) the task's teacher: called once the constraints and the meta-dataset
    are known to be good, so a bad input costs no training."""
    from autodistiller.recommend import (
        BUDGET_KEYS,
        Constraints,
        default_recommender,
        recommend,
        with_budget,
    )
    from autodistiller.searcher import fresh_candidates

    constraints = Constraints(student_layers=args.student_layers, max_params=args.max_params,
                              max_latency_ms=args.max_latency_ms, exclude=Constraints.parse_exclude(args.exclude),
                              compress=not args.allow_teacher_size)
    recommender = default_recommender(args.meta_dataset, cache_dir=args.cache_dir)
    # every pipeline the meta-dataset ran, and fresh samples of its space that this task can run
    fresh = fresh_candidates(args.fresh, seed=0, is_regression=bool(task.card.is_regression),
                             is_pair=bool(task.card.has_pair))
    frame = recommend(task, top_k=args.top_k, constraints=constraints, teacher=teacher_of(), recommender=recommender,
                      candidates=recommender.candidates() + fresh, cache_dir=args.cache_dir)
    print_recommendations(frame)
    if args.out and not frame.empty:
        learned = frame["pipeline"].iloc[0]
        pipeline = learned if args.keep_fidelity else with_budget(learned, {
            "training.epochs": args.epochs, "training.max_length": args.max_length,
            "training.max_train_examples": args.max_train_examples})
        with open(args.out, "w") as out:
            yaml.safe_dump({"pipeline": pipeline}, out, sort_keys=True)
        print(f"\nwrote the best pipeline to {args.out} (autodistiller distill --pipeline {args.out})")
        print("training budget: " + ", ".join(f"{key} {pipeline.get(key)}" for key in BUDGET_KEYS)
              + ("" if args.keep_fidelity else " (the meta-dataset's trials: " + ", ".join(
                  f"{key.split('.', 1)[1]} {learned.get(key)}" for key in BUDGET_KEYS)
                  + "; --keep-fidelity writes those)"))
    return 0
