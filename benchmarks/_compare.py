"""Shared by the comparison benchmarks: run pipeline variants over tasks and seeds, print a markdown table.

Every run distils the same cached teacher (MiniLM fine-tuned on up to ``--teacher-examples`` examples, 2 epochs,
lr 1e-4, max length 64: the tests' teacher) with the same student and budget; only the variant's flat config
keys change. ``training.seed`` also picks the training subset, so each seed is a different subsample, shared by
all variants.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from autodistiller import PipelineConfig, TaskSpec, TrainingConfig, distill, fine_tune_teacher
from autodistiller.engine import set_threads


def common_args(description: str, *, tasks: str, examples: int, epochs: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tasks", default=tasks, help="comma-separated suite task names")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per (task, variant)")
    parser.add_argument("--examples", type=int, default=examples, help="training examples per run (seeded subset)")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2, help="student layers (uniform init from the teacher)")
    parser.add_argument("--loss", default="kl", help="prediction loss of every run")
    parser.add_argument("--teacher-examples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
    parser.add_argument("--output", default=None, help="write the markdown here too")
    parser.add_argument("--csv", default=None, help="write one row per run here")
    return parser


def split_names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def base_config(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    return {"student.layers": args.layers, "loss.kind": args.loss, "training.epochs": args.epochs,
            "training.learning_rate": args.learning_rate, "training.batch_size": args.batch_size,
            "training.max_length": args.max_length, "training.max_train_examples": args.examples,
            "training.seed": seed}


def run(args: argparse.Namespace, variants: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Distil every (task, variant, seed); one row each with dev / test scores and wall seconds."""
    rows: list[dict[str, Any]] = []
    teacher_training = TrainingConfig(epochs=2, max_length=64, max_train_examples=args.teacher_examples,
                                      learning_rate=1e-4)
    for task_name in split_names(args.tasks):
        task = TaskSpec(f"suite:{task_name}").load()
        teacher = fine_tune_teacher(task, training=teacher_training)
        for variant, overrides in variants.items():
            for seed in range(args.seeds):
                cfg = PipelineConfig.from_flat({**base_config(args, seed), **overrides})
                started = time.perf_counter()
                result = distill(cfg, task, teacher, log=lambda _: None)
                rows.append({"task": task_name, "metric": result.metric, "variant": variant, "seed": seed,
                             "dev": result.dev_score, "test": result.test_score,
                             "teacher_dev": result.teacher_dev_score, "teacher_test": result.teacher_test_score,
                             "train_examples": result.train_examples, "seconds": time.perf_counter() - started,
                             **{f"extra.{k}": v for k, v in result.procedure_metrics.items()}})
                print(f"{task_name:<16} {variant:<22} seed {seed}: dev {result.dev_score:.4f} "
                      f"test {result.test_score:.4f} ({rows[-1]['seconds']:.0f}s)", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def cell(values: list[float]) -> str:
    if not values:
        return "not run"
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def markdown(frame: pd.DataFrame, *, title: str, setup: str, variant_label: str, command: str) -> str:
    """Test and dev tables (mean ± std in %) plus seconds per run, and the command."""
    tasks = list(dict.fromkeys(frame["task"]))
    metrics = {t: frame.loc[frame["task"] == t, "metric"].iloc[0] for t in tasks}
    seeds = frame["seed"].nunique()
    lines = [f"# {title}", "", setup,
             f"Scores in % (mean ± sample std over {seeds} seeds; each seed also draws its own training subset, "
             "shared by all variants); seconds = wall time of one run (mean), augmentation and teacher passes "
             "included.", ""]
    for split in ("test", "dev"):
        header = (f"| {variant_label} | " + " | ".join(f"{t} {split} {metrics[t]}" for t in tasks)
                  + " | " + " | ".join(f"{t} s/run" for t in tasks) + " |")
        lines += [f"## Student {split} score", "", header, "|" + "---|" * (2 * len(tasks) + 1)]
        for variant in dict.fromkeys(frame["variant"]):
            part = [frame.loc[(frame["task"] == t) & (frame["variant"] == variant)] for t in tasks]
            cells = ([cell(p[split].tolist()) for p in part]
                     + [f"{p['seconds'].mean():.0f}" if len(p) else "" for p in part])
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
        teacher = [f"{100 * frame.loc[frame['task'] == t, f'teacher_{split}'].iloc[0]:.1f}" for t in tasks]
        lines += ["| *teacher* | " + " | ".join(teacher) + " |" + " |" * len(tasks), ""]
    minutes = frame["seconds"].sum() / 60
    lines += [f"{len(frame)} runs, {minutes:.0f} minutes of distillation on CPU.", "", "Command:", "",
              "```", command, "```", ""]
    return "\n".join(lines)


def main(args: argparse.Namespace, variants: Mapping[str, Mapping[str, Any]], *, script: str, title: str,
         setup: str, variant_label: str, argv: list[str] | None) -> pd.DataFrame:
    set_threads(args.threads)
    command = shlex.join(["python", script, *(sys.argv[1:] if argv is None else argv)])
    frame = run(args, variants)
    text = markdown(frame, title=title, setup=setup, variant_label=variant_label, command=command)
    print(text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.csv, index=False)
    return frame
