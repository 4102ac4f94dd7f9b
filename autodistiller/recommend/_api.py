"""``recommend(task)``: the whole path from a task spec to ranked pipelines, with the default recommender.

The default recommender is fitted on the shipped meta-dataset (``meta_dataset/``: its rows and its per-task
meta-features table) the first time it is needed, deterministically, and cached with skops under
``<cache>/recommender/`` (keyed by the meta-dataset's content).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from autodistiller import meta_dataset
from autodistiller._paths import cache_root
from autodistiller._version import __version__
from autodistiller.config import PipelineConfig, StudentConfig, TrainingConfig
from autodistiller.engine import Plan, fine_tune_teacher
from autodistiller.errors import ConfigError
from autodistiller.models import DEFAULT_BACKBONE, TEACHER_TRAINING, Teacher, build_student, count_parameters
from autodistiller.recommend._features import task_features
from autodistiller.recommend._recommender import (
    MF_GROUPS,
    Constraints,
    Recommender,
    RecommenderFileError,
    content_hash,
    keeps_teacher_depth,
    training_table,
)
from autodistiller.tasks import Task, TaskSpec, load_task

__all__ = ["BUDGET_KEYS", "SHIPPED_FEATURES", "SHIPPED_METHOD", "TASK_FEATURES_FILE", "default_recommender",
           "load_task_features", "recommend", "recommender_cache_key", "runs_with", "student_params_of", "with_budget"]

#: the method and meta-feature groups the shipped recommender uses (chosen leave-one-family-out, see README)
SHIPPED_METHOD = "surrogate"
SHIPPED_FEATURES = tuple(f for g in MF_GROUPS.values() for f in g)
#: per-task meta-features of the shipped meta-dataset (rows written before a feature existed lack it)
TASK_FEATURES_FILE = "task_features.parquet"

#: how much a pipeline trains, not how it distils: the meta-dataset fixes them (its fidelity), a user sets them
BUDGET_KEYS = ("training.epochs", "training.max_length", "training.max_train_examples")


def with_budget(pipeline: Mapping[str, Any], budget: Mapping[str, int | None] | None = None) -> dict[str, Any]:
    """``pipeline`` with its training budget (:data:`BUDGET_KEYS`) set for a real run instead of the
    meta-dataset's fidelity: each key from ``budget`` when given (not None), else the config's default (every
    training example, 128 tokens, 3 epochs). The distillation choices are kept as recommended."""
    defaults = TrainingConfig()
    budget = {k: v for k, v in (budget or {}).items() if v is not None}
    unknown = set(budget) - set(BUDGET_KEYS)
    if unknown:
        raise ConfigError(f"budget keys {sorted(unknown)} are not among {BUDGET_KEYS}.")
    return {**pipeline, **{key: budget.get(key, getattr(defaults, key.split(".", 1)[1])) for key in BUDGET_KEYS}}


def load_task_features(root: str | os.PathLike[str] | None = None) -> pd.DataFrame | None:
    """The meta-dataset's per-task meta-features table (index ``task``), or None when it has none."""
    path = Path(root) if root is not None else meta_dataset.shipped_path()
    file = path / TASK_FEATURES_FILE
    return pd.read_parquet(file).set_index("task") if file.is_file() else None


def default_recommender(root: str | os.PathLike[str] | None = None, *, method: str = SHIPPED_METHOD,
                        features: tuple[str, ...] = SHIPPED_FEATURES,
                        cache_dir: str | os.PathLike[str] | None = None,
                        log: Callable[[str], None] = print) -> Recommender:
    """The recommender fitted on the meta-dataset at ``root`` (default: the shipped one), cached on disk."""
    rows = meta_dataset.load(root) if root is not None else meta_dataset.load()
    if rows.empty:
        raise ConfigError(f"the meta-dataset at {root or meta_dataset.shipped_path()} has no rows to learn from: "
                          "give --meta-dataset (meta_dataset_path=) a folder of search rows, or run searches "
                          "into it first (autodistiller search ... --meta-dataset PATH).")
    table = training_table(rows, load_task_features(root))
    path = cache_root(cache_dir) / "recommender" / f"{recommender_cache_key(table, method, features)}.skops"
    if path.is_file():
        try:
            return Recommender.load(path)
        except RecommenderFileError as exc:  # a damaged or foreign cache file: the rows are here, fit again
            log(f"recommender: the cached {path.name} is not used ({exc}); fitting it again")
    recommender = Recommender(method, features=features).fit(table)
    recommender.save(path)
    return recommender


def recommender_cache_key(table: pd.DataFrame, method: str, features: Sequence[str]) -> str:
    """The cached recommender's name: the training rows' content hash, the method, the meta-features and the
    package version (stable across processes, unlike ``hash()`` of strings)."""
    spec = json.dumps({"method": method, "features": list(features), "version": __version__})
    return f"{content_hash(table)}-{method}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"


def student_params_of(teacher: Teacher) -> Callable[[Mapping[str, Any]], float]:
    """The exact parameter count of a pipeline's student taken from ``teacher`` (built once per shape)."""
    depth = int(teacher.model.config.num_hidden_layers)

    @functools.cache
    def count(layers: int, hidden_size: int) -> float:
        student, _ = build_student(StudentConfig(layers=layers, hidden_size=hidden_size), teacher.model)
        return float(count_parameters(student))

    def params(pipeline: Mapping[str, Any]) -> float:
        layers = depth if keeps_teacher_depth(pipeline) else int(pipeline.get("student.layers", 2))
        return float("inf") if layers > depth else count(layers, int(pipeline.get("student.hidden_size") or 0))

    return params


def runs_with(pipeline: Mapping[str, Any], *, task: Task, teacher: Teacher) -> bool:
    """Whether ``pipeline`` resolves for ``task`` and ``teacher`` (what ``distill`` checks before any model
    loads: procedure settings, a TAKD assistant between the student and the teacher, student shapes)."""
    try:
        Plan.resolve(PipelineConfig.from_flat(dict(pipeline)), task.card, teacher)
    except ConfigError:
        return False
    return True


def recommend(
    task: Task | TaskSpec | str,
    *,
    top_k: int = 3,
    constraints: Constraints | None = None,
    teacher: Teacher | None = None,
    recommender: Recommender | None = None,
    candidates: list[Mapping[str, Any]] | None = None,
    meta_dataset_path: str | os.PathLike[str] | None = None,
    backbone: str = DEFAULT_BACKBONE,
    teacher_training: TrainingConfig = TEACHER_TRAINING,
    cache_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Ranked KD pipelines for ``task`` (see :meth:`Recommender.recommend` for the columns).

    The teacher is fine-tuned once (cached) for the task's meta-features. ``candidates``: the pipelines to rank
    (default: every pipeline of the meta-dataset; the CLI adds fresh samples of the space). ``frame.attrs`` adds
    ``nearest_tasks``, ``features`` (the task's meta-features), ``feature_seconds`` and
    ``landmark_beats_teacher`` (a TF-IDF + linear model scores at least the teacher's dev score: distillation
    is unlikely to be worth it) and ``teacher_params`` (to read each student's compression against).
    """
    task_obj = task if isinstance(task, Task) else load_task(task, cache_dir=cache_dir)
    # before the teacher (minutes): an empty or unreadable meta-dataset is an error that costs nothing
    recommender = recommender or default_recommender(meta_dataset_path, cache_dir=cache_dir, log=log)
    teacher = teacher or fine_tune_teacher(task_obj, backbone=backbone, training=teacher_training,
                                           cache_dir=cache_dir, log=log)
    started = time.perf_counter()
    features = task_features(task_obj, teacher, cache_dir=cache_dir)
    feature_seconds = time.perf_counter() - started
    teacher_params = float(count_parameters(teacher.model))
    frame = recommender.recommend(features, top_k=top_k, constraints=constraints, candidates=candidates,
                                  params_of=student_params_of(teacher), teacher_params=teacher_params,
                                  runs=functools.partial(runs_with, task=task_obj, teacher=teacher))
    landmark = features.get("mf.landmark_tfidf_dev_score")
    frame.attrs.update(features=features, feature_seconds=feature_seconds,
                       landmark_beats_teacher=landmark is not None and landmark >= teacher.dev_score,
                       teacher_dev_score=teacher.dev_score, metric=task_obj.card.metric,
                       teacher_params=teacher_params)
    return frame
