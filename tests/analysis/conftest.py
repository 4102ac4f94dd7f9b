"""A small REAL meta-dataset: tiny distillations on two tiny tasks (classification and regression), each logged
as a search would log it (meta-features, teacher, metric), plus an early-stopped and a failed trial."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from autodistiller import PipelineConfig, distill
from autodistiller import meta_dataset as md
from autodistiller.config import active_parameters
from autodistiller.testing import one_torch_thread

# a narrow student (hidden 16) starts from random weights, so the options really change its score
FAST = {"training.epochs": 2, "training.batch_size": 16, "training.max_length": 32, "training.warmup_ratio": 0.0,
        "student.hidden_size": 16, "student.layers": 1}
T0 = 1_750_000_000.0


def _grid(kd_loss: str) -> list[dict]:
    configs = []
    for i, (loss, objective, lr) in enumerate(itertools.product(
            [kd_loss, "none"], ["none", "mi_alpha", "hidden_mse"], [5e-3, 2e-2])):
        configs.append({**FAST, "loss.kind": loss, "intermediate.objective": objective, "training.learning_rate": lr,
                        "augment.pipeline": "random" if i % 4 in (1, 2) else "none",
                        "training.max_train_examples": 64 if i % 3 == 0 else 0})
    return configs


def _log(root: Path, task, teacher, *, experiment: str, trial: str, config: dict, ended_at: float,
         result=None, error: str | None = None, last: dict | None = None) -> None:
    """One row as a search's logger writes it: a finished trial's own record, or what a stopped / failed trial
    reported."""
    context = {"task_family": task.card.family, "task_type": task.card.task_type,
               "teacher_backbone": teacher.backbone,
               **md.task_meta_features(task, tokenizer=teacher.tokenizer, max_length=32,
                                       teacher_dev_score=teacher.dev_score)}
    if result is not None:
        columns, status = {**result.to_row(), "started_at": ended_at - result.train_seconds}, "completed"
    else:
        active = active_parameters(config)
        columns = {**{k: v for k, v in config.items() if k in active}, "metric": task.card.metric, **(last or {})}
        status = "failed" if error else "early_stopped"
    row = md.trial_row(experiment_id=experiment, trial_id=trial, status=status, columns=columns, context=context,
                       ended_at=ended_at, error=error)
    md.write_row(root, task.name, row)


@pytest.fixture(scope="session")
def regression_task(tmp_path_factory):
    from autodistiller.testing import tiny_task

    return tiny_task(tmp_path_factory.mktemp("tiny_regression"), rows=160, regression=True)


@pytest.fixture(scope="session")
def regression_teacher(tmp_path_factory, regression_task):
    from autodistiller.testing import tiny_teacher

    with one_torch_thread():
        return tiny_teacher(tmp_path_factory.mktemp("tiny_regression_teacher"), regression_task)


@pytest.fixture(scope="session")
def meta_root(tmp_path_factory, tiny_task, tiny_teacher, regression_task, regression_teacher) -> Path:
    """24 real tiny distillations (12 per task, two searches on the classification task) + an early-stopped and
    a failed trial, written as meta-dataset rows."""
    root = tmp_path_factory.mktemp("meta") / "meta_dataset"
    cache = tmp_path_factory.mktemp("analysis_cache")
    clock = itertools.count()
    with one_torch_thread():
        for task, teacher, kd_loss in ((tiny_task, tiny_teacher, "kl"),
                                       (regression_task, regression_teacher, "mse")):
            for i, flat in enumerate(_grid(kd_loss)):
                config = PipelineConfig.from_flat(flat)
                result = distill(config, task, teacher, cache_dir=cache, log=lambda _: None)
                experiment = f"{task.name}-search{1 + (i >= 6 and task is tiny_task)}"
                _log(root, task, teacher, experiment=experiment, trial=f"t{i:02d}", config=config.to_flat(),
                     ended_at=T0 + next(clock), result=result)
        stopped = PipelineConfig.from_flat({**FAST, "loss.kind": "kl"}).to_flat()
        _log(root, tiny_task, tiny_teacher, experiment=f"{tiny_task.name}-search1", trial="t90", config=stopped,
             ended_at=T0 + next(clock), last={"student_dev_score": 0.5, "epochs_run": 1, "started_at": T0})
        _log(root, tiny_task, tiny_teacher, experiment=f"{tiny_task.name}-search1", trial="t91",
             config={**stopped, "student.layers": 8}, ended_at=T0 + next(clock),
             error="ConfigError: student.layers=8 exceeds the 4 layers of the teacher")
    return root


@pytest.fixture(scope="session")
def meta_frame(meta_root) -> pd.DataFrame:
    return md.load(meta_root)


@pytest.fixture(scope="session")
def null_frame(meta_frame) -> pd.DataFrame:
    """The real rows as schema v2 writes them: parameters the chosen options do not use are NULL."""
    frame = meta_frame.copy()
    frame.loc[frame["loss.kind"] == "none", ["loss.temperature", "loss.alpha"]] = None
    frame.loc[frame["loss.kind"] != "annealing", "loss.tau_max"] = None
    frame.loc[frame["intermediate.objective"] != "mi_alpha", "intermediate.mi_alpha"] = None
    frame.loc[frame["intermediate.objective"] == "none", ["intermediate.mapping", "intermediate.beta"]] = None
    frame.loc[frame["augment.pipeline"] == "none", "augment.aug_p"] = None
    frame.loc[frame.index % 5 == 0, "augment.policy"] = None  # policy column not applicable in some rows
    return frame


def controlled_table(score, *, tasks=("a", "b", "c"), n=40, seed=0, choices=None, noise=0.02) -> pd.DataFrame:
    """A hand-made trial table: stage options drawn at random per row (``choices`` overrides them), a score
    that ``score(row, rng)`` decides (plus Gaussian ``noise``), teacher dev score 1 (so score retained = score)."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(seed)
    options = {
        "loss.kind": ["none", "kl", "mse"],
        "intermediate.objective": ["none", "mi_alpha", "pkd", "hidden_mse"],
        "augment.pipeline": ["none", "eda"],
        "augment.policy": ["none", "mixkd"],
        "procedure.kind": ["standard"],
        "training.max_train_examples": [100, 1000],
        "student.layers": [1, 2, 3],
        **(choices or {}),
    }
    base = PipelineConfig().to_flat()
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    rows = []
    for t, task in enumerate(tasks):
        for i in range(n):
            flat = {**base, **{k: v[rng.integers(len(v))] for k, v in options.items()},
                    "training.learning_rate": float(10 ** rng.uniform(-5, -3))}
            flat = {k: (v.item() if hasattr(v, "item") else v) for k, v in flat.items()}
            value = float(score(flat, rng)) + rng.normal(0, noise)
            rows.append({**flat, "task": task, "task_family": task, "experiment_id": f"search-{task}",
                         "trial_id": f"t{i:03d}", "status": "completed", "metric": "accuracy",
                         "started_at": start + dt.timedelta(minutes=t * n + i),
                         "ended_at": start + dt.timedelta(minutes=t * n + i, seconds=30),
                         "student_dev_score": value, "student_test_score": value - 0.01,
                         "teacher_dev_score": 1.0, "teacher_test_score": 0.99, "score_retained": value,
                         "student_params": flat["student.layers"] * 1_000_000, "teacher_params": 6_000_000,
                         "latency_ms": flat["student.layers"] + rng.uniform(0, 0.5), "teacher_latency_ms": 6.0,
                         "train_seconds": 10.0, "mf.train_size": 5000})
    return pd.DataFrame(rows)


@pytest.fixture
def make_table():
    return controlled_table
