"""``search()``: Ray Tune + Optuna (TPE, define-by-run) + ASHA over a YAML pipeline space."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from autodistiller import meta_dataset
from autodistiller.config import PipelineConfig, TrainingConfig
from autodistiller.errors import ConfigError
from autodistiller.models import DEFAULT_BACKBONE, TEACHER_TRAINING, Teacher, fine_tune_teacher
from autodistiller.searcher._cluster import check_cluster_address, init_ray
from autodistiller.searcher._faults import resolve_max_failures
from autodistiller.searcher._space import SearchSpace, load_space
from autodistiller.searcher._trust import check_private_storage
from autodistiller.tasks import Task, TaskSpec, load_task

__all__ = ["SearchOutcome", "search", "parse_duration", "default_storage"]

METRIC = "dev_score"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str | float | int | None) -> float | None:
    """``"90s"``, ``"10m"``, ``"1.5h"``, ``"2d"`` or a number of seconds -> seconds."""
    if text is None or isinstance(text, int | float):
        return None if text is None else float(text)
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"time budget {text!r} must look like 90s, 10m, 1.5h or a number of seconds.")
    value, unit = float(match[1]), match[2] or "s"
    return value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def default_storage() -> str:
    return str(Path("runs").resolve())


def _is_uri(path: str) -> bool:
    return "://" in path


@dataclass
class SearchOutcome:
    """What a search produced: Ray's ``ResultGrid``, this experiment's meta-dataset rows, and the best pipeline."""

    results: Any
    trials: pd.DataFrame
    experiment_path: str
    meta_dataset: str
    best_config: PipelineConfig | None
    best_row: dict[str, Any] | None
    best_dir: str | None

    def __iter__(self):  # ``grid, frame = autodistiller.search(...)``
        return iter((self.results, self.trials))


def _in_memory(task: Task) -> Task:
    """Copy the splits into memory so the task pickles whole into Ray's object store (no local file paths)."""
    import datasets

    splits = {name: datasets.Dataset.from_pandas(split.to_pandas(), preserve_index=False)
              for name, split in task.splits.items()}
    return Task(card=task.card, splits=splits, spec=task.spec)


def search(
    task: Task | TaskSpec | str,
    space: SearchSpace | str | os.PathLike[str],
    *,
    trials: int = 20,
    time_budget: str | float | None = None,
    storage: str | None = None,
    name: str | None = None,
    resume: bool = False,
    address: str | None = None,
    max_concurrent: int = 2,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    max_failures: int | None = None,
    seed: int = 0,
    scheduler: str = "asha",
    sampler: str = "tpe",
    grace_period: int = 1,
    reduction_factor: int = 3,
    points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
    teacher: Teacher | None = None,
    backbone: str = DEFAULT_BACKBONE,
    teacher_training: TrainingConfig = TEACHER_TRAINING,
    meta_dataset_path: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    save_students: bool = True,
    callbacks: Sequence[Any] = (),
    verbose: int = 1,
    log: Callable[[str], None] = print,
) -> SearchOutcome:
    """Search the pipeline ``space`` on ``task``: every trial is a real distillation, logged to Parquet.

    Everything that can be wrong with the inputs (space, task, storage, resume target, cluster address) is
    checked before the teacher is fine-tuned (once, cached) and the trials start. ``resume=True`` continues
    the experiment ``name`` under ``storage`` with ``Tuner.restore``; finished trials are not re-run and no
    row is written twice. ``max_failures``: retries of a trial whose run failed (a lost node; default 0 on an
    embedded Ray, 2 on a cluster); a retried trial still gets one row. ``callbacks`` are extra Ray Tune
    callbacks. Returns a :class:`SearchOutcome` (iterable as ``(result_grid, trials_frame)``).
    """
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    # ---- validate everything cheap first
    if not isinstance(space, SearchSpace):
        space = load_space(space)
    if trials < 1:
        raise ConfigError(f"trials={trials} must be >= 1.")
    if max_concurrent < 1:
        raise ConfigError(f"max_concurrent={max_concurrent} must be >= 1.")
    if cpus_per_trial <= 0 or gpus_per_trial < 0:
        raise ConfigError(f"cpus_per_trial={cpus_per_trial} must be > 0 and gpus_per_trial={gpus_per_trial} >= 0.")
    if scheduler not in ("asha", "fifo"):
        raise ConfigError(f"scheduler={scheduler!r} must be 'asha' (early stopping) or 'fifo' (none).")
    if sampler not in ("tpe", "random"):
        raise ConfigError(f"sampler={sampler!r} must be 'tpe' (multivariate TPE) or 'random'.")
    budget_s = parse_duration(time_budget)
    max_failures = resolve_max_failures(max_failures, address)
    for point in points_to_evaluate or ():
        space.check_point(point)
    storage = storage or default_storage()
    if not _is_uri(storage):
        storage = str(Path(storage).expanduser().resolve())
    if address:
        check_cluster_address(address)  # before the teacher is fine-tuned: minutes of work
    if resume and not name:
        raise ConfigError("resume=True needs the name of the experiment to resume (--name).")
    task_obj = task if isinstance(task, Task) else load_task(task, cache_dir=cache_dir)
    name = name or f"{task_obj.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    experiment_path = f"{storage}/{name}"
    if not _is_uri(storage):
        exists = Path(experiment_path, "tuner.pkl").is_file()
        if resume and not exists:
            raise ConfigError(f"nothing to resume: {experiment_path} holds no experiment (tuner.pkl is missing).")
        if resume:
            check_private_storage(experiment_path)  # restoring unpickles it: nobody else may have written there
        if not resume and Path(experiment_path).exists():
            raise ConfigError(f"{experiment_path} already exists: pass --resume to continue it, or another --name.")
    rows_root = meta_dataset_path or f"{storage}/meta_dataset"
    log(f"search: task {task_obj.name}, space {space.source}, {trials} trials, experiment {experiment_path}")
    log(f"search: trial rows go to {rows_root}")

    # ---- the teacher once, shared by every trial
    if teacher is None:
        teacher = fine_tune_teacher(task_obj, backbone=backbone, training=teacher_training, cache_dir=cache_dir,
                                    log=log)
    context = {
        "task_family": task_obj.card.family,
        "task_type": task_obj.card.task_type,
        "metric": task_obj.card.metric,
        "teacher_backbone": teacher.backbone,
        "trial_cpus": float(cpus_per_trial),
        "trial_gpus": float(gpus_per_trial),
        **meta_dataset.task_meta_features(task_obj, tokenizer=teacher.tokenizer,
                                          max_length=teacher.training.max_length,
                                          teacher_dev_score=teacher.dev_score),
    }

    init_ray(address, log)
    from autodistiller.searcher._logger import MetaDatasetLogger
    from autodistiller.searcher._trainable import run_trial

    trainable = tune.with_resources(
        tune.with_parameters(run_trial, task=_in_memory(task_obj), teacher=teacher, space=space,
                             save_student=save_students),
        {"cpu": cpus_per_trial, "gpu": gpus_per_trial},
    )
    logger = MetaDatasetLogger(rows_root, name, task_obj.name, context)
    if resume:
        log(f"search: resuming {experiment_path}")
        tuner = tune.Tuner.restore(experiment_path, trainable=trainable, resume_unfinished=True,
                                   resume_errored=False, restart_errored=False)
    else:
        import optuna

        if sampler == "random":
            optuna_sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            with warnings.catch_warnings():  # `group` is marked experimental; it is what conditional spaces need
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna_sampler = optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed,
                                                            n_startup_trials=min(10, max(2, trials // 3)))
        searcher = OptunaSearch(space=space.define_by_run, metric=METRIC, mode="max", sampler=optuna_sampler,
                                seed=seed,
                                points_to_evaluate=[dict(p) for p in points_to_evaluate or []] or None)
        max_epochs = int(space.max_value("training.epochs", PipelineConfig().training.epochs))
        chosen_scheduler = (
            ASHAScheduler(time_attr="epoch", max_t=max(1, max_epochs), grace_period=grace_period,
                          reduction_factor=reduction_factor)
            if scheduler == "asha" else FIFOScheduler()
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                metric=METRIC,
                mode="max",
                search_alg=ConcurrencyLimiter(searcher, max_concurrent=max_concurrent),
                scheduler=chosen_scheduler,
                num_samples=trials,  # concurrency: the ConcurrencyLimiter above (Ray warns if set twice)
                time_budget_s=budget_s,
                reuse_actors=True,  # a trial starts in a warm worker: no re-import of torch / transformers
            ),
            run_config=tune.RunConfig(
                name=name,
                storage_path=storage,
                callbacks=[logger, *callbacks],
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                failure_config=tune.FailureConfig(max_failures=max_failures),
                verbose=verbose,
            ),
        )
    grid = tuner.fit()
    _reconcile(grid, rows_root, name, task_obj.name, context)

    frame = meta_dataset.load(rows_root, filters={"experiment_id": name})
    best_config, best_row, best_dir = _best(grid, frame, experiment_path, log)
    return SearchOutcome(results=grid, trials=frame, experiment_path=experiment_path, meta_dataset=rows_root,
                         best_config=best_config, best_row=best_row, best_dir=best_dir)


def _reconcile(grid: Any, root: str, experiment_id: str, task_name: str, context: Mapping[str, Any]) -> None:
    """Write the row of any trial whose callback never ran (e.g. the driver died right after it ended)."""
    import time

    from autodistiller.searcher._logger import error_text

    present = set()
    if meta_dataset.list_files(root):
        present = set(meta_dataset.load(root, filters={"experiment_id": experiment_id},
                                        columns=["trial_id"])["trial_id"])
    for result in grid:
        metrics = result.metrics or {}
        trial_id = metrics.get("trial_id")  # absent only for a trial that never reported: its callback wrote it
        if not trial_id or trial_id in present:
            continue
        error = error_text(None, result.error) if result.error is not None else None
        row = meta_dataset.trial_row(experiment_id=experiment_id, trial_id=trial_id, config=result.config or {},
                                     last_result=metrics, error=error, context=context, ended_at=time.time(),
                                     history=metrics.get("dev_score_history"))
        meta_dataset.write_row(root, task_name, row)


def _best(grid: Any, frame: pd.DataFrame, experiment_path: str,
          log: Callable[[str], None]) -> tuple[PipelineConfig | None, dict[str, Any] | None, str | None]:
    done = frame[frame["status"] == "completed"]
    if done.empty:
        log("search: no trial completed; no best pipeline.")
        return None, None, None
    best = done.sort_values("student_dev_score", ascending=False, kind="stable").iloc[0].to_dict()
    flat_keys = PipelineConfig().to_flat()
    config = PipelineConfig.from_flat({k: best[k] for k in flat_keys if k in best and pd.notna(best[k])})
    best_dir = None
    for result in grid:
        if (result.metrics or {}).get("trial_id") == best["trial_id"] and result.checkpoint is not None:
            if _is_uri(experiment_path):
                best_dir = f"{experiment_path}/best"
                result.checkpoint.to_directory(best_dir)
            else:
                best_dir = str(Path(experiment_path, "best"))
                shutil.rmtree(best_dir, ignore_errors=True)
                result.checkpoint.to_directory(best_dir)
            break
    if best_dir is None and not _is_uri(experiment_path):  # students not saved: still write the pipeline
        best_dir = str(Path(experiment_path, "best"))
        Path(best_dir).mkdir(parents=True, exist_ok=True)
        config.to_yaml(Path(best_dir, "pipeline.yaml"))
    log(f"search: best trial {best['trial_id']}: dev {best['metric']} {best['student_dev_score']:.4f} "
        f"(teacher {best['teacher_dev_score']:.4f}); pipeline and student in {best_dir}")
    return config, best, best_dir
