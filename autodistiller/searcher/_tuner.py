"""``search()``: Ray Tune + Optuna (TPE, define-by-run) + ASHA over a YAML pipeline space."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from autodistiller import meta_dataset
from autodistiller._paths import cache_root
from autodistiller.config import PipelineConfig, TrainingConfig
from autodistiller.engine import fine_tune_teacher
from autodistiller.errors import ConfigError
from autodistiller.models import DEFAULT_BACKBONE, TEACHER_TRAINING, Teacher
from autodistiller.recommend import task_features
from autodistiller.searcher._cluster import check_cluster_address, init_ray
from autodistiller.searcher._faults import resolve_max_failures
from autodistiller.searcher._preflight import check_meta_dataset, check_writable
from autodistiller.searcher._shared_cache import coordinator_summary, shares_teacher_cache, start_coordinator
from autodistiller.searcher._space import SearchSpace, load_space
from autodistiller.searcher._trust import check_private_storage
from autodistiller.tasks import Task, TaskSpec, load_task, majority_note

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
    """What a search produced: Ray's ``ResultGrid``, this experiment's meta-dataset rows, and the best pipeline;
    the TF-IDF baseline of the task on the same split (``autodistiller.baseline.BaselineResult``) and notes
    about the data and the scores."""

    results: Any
    trials: pd.DataFrame
    experiment_path: str
    meta_dataset: str
    best_config: PipelineConfig | None
    best_row: dict[str, Any] | None
    best_dir: str | None
    #: rows that could not be written to ``meta_dataset`` and were kept elsewhere (their files); ``trials``
    #: includes them
    unwritten_rows: list[str] = field(default_factory=list)
    baseline: Any = None
    notes: list[str] = field(default_factory=list)

    def __iter__(self):  # ``grid, frame = autodistiller.search(...)``
        return iter((self.results, self.trials))

    def summary(self) -> str:
        """Teacher, best student and TF-IDF baseline side by side (dev / test, size, latency), then the notes."""
        lines = []
        row = self.best_row
        if row is not None:
            lines.append(f"  teacher:         {_score(row.get('teacher_dev_score'))} / "
                         f"{_score(row.get('teacher_test_score'))}  {_millions(row.get('teacher_params'))}M params  "
                         f"{_score(row.get('teacher_latency_ms'), 2)} ms/example")
            lines.append(f"  best student:    {_score(row.get('student_dev_score'))} / "
                         f"{_score(row.get('student_test_score'))}  {_millions(row.get('student_params'))}M params  "
                         f"{_score(row.get('latency_ms'), 2)} ms/example")
        if self.baseline is not None:
            b = self.baseline
            lines.append(f"  TF-IDF baseline: {b.dev_score:.4f} / {b.test_score:.4f}  {b.size_bytes / 1e6:.1f} MB  "
                         f"{b.latency_ms:.2f} ms/example ({b.model}, fitted in {b.fit_seconds:.1f}s)")
        if lines:
            metric = row["metric"] if row is not None else self.baseline.metric
            lines.insert(0, f"{metric}, dev / test:")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def _score(value: Any, digits: int = 4) -> str:
    return "-" if value is None or not math.isfinite(float(value)) else f"{float(value):.{digits}f}"


def _millions(value: Any) -> str:
    return "-" if value is None or not math.isfinite(float(value)) else f"{float(value) / 1e6:.1f}"


def _in_memory(task: Task) -> Task:
    """Copy the splits into memory so the task pickles whole into Ray's object store (no local file paths).
    The split's row ids stay behind: the experiment folder holds them once (``split.json``), not every trial."""
    import datasets

    splits = {name: datasets.Dataset.from_pandas(split.to_pandas(), preserve_index=False)
              for name, split in task.splits.items()}
    return dataclasses.replace(task, splits=splits, split=None)


@dataclass(frozen=True)
class _Experiment:
    """Where a search runs and logs: checked before anything expensive starts."""

    name: str
    storage: str
    path: str
    rows_root: str
    resume: bool

    def fallback_roots(self, cache_dir: str | os.PathLike[str] | None) -> list[str]:
        """Where a row goes that the meta-dataset would not take: next to the experiment, else on this machine."""
        return [f"{self.path}/unwritten_rows", str(cache_root(cache_dir) / "unwritten_rows" / self.name)]


def _check_arguments(space: SearchSpace, *, trials: int, max_concurrent: int, cpus_per_trial: float,
                     gpus_per_trial: float, scheduler: str, sampler: str,
                     points_to_evaluate: Sequence[Mapping[str, Any]] | None) -> None:
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
    for point in points_to_evaluate or ():
        space.complete_point(point)


def _experiment(task: Task, *, storage: str | None, name: str | None, resume: bool,
                meta_dataset_path: str | None) -> _Experiment:
    storage = storage or default_storage()
    if not _is_uri(storage):
        storage = str(Path(storage).expanduser().resolve())
    if resume and not name:
        raise ConfigError("resume=True needs the name of the experiment to resume (--name).")
    name = name or f"{task.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    path = f"{storage}/{name}"
    if not _is_uri(storage):
        exists = Path(path, "tuner.pkl").is_file()
        if resume and not exists:
            raise ConfigError(f"nothing to resume: {path} holds no experiment (tuner.pkl is missing).")
        if resume:
            check_private_storage(path)  # restoring unpickles it: nobody else may have written there
        if not resume and Path(path).exists():
            raise ConfigError(f"{path} already exists: pass --resume to continue it, or another --name.")
    return _Experiment(name, storage, path, meta_dataset_path or f"{storage}/meta_dataset", resume)


def _context(task: Task, teacher: Teacher, *, cpus_per_trial: float, gpus_per_trial: float,
             cache_dir: Any = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The experiment-wide columns of every row: the task, its meta-features, the teacher, the resources."""
    return {
        "task_family": task.card.family,
        "task_type": task.card.task_type,
        "teacher_backbone": teacher.backbone,
        "trial_cpus": float(cpus_per_trial),
        "trial_gpus": float(gpus_per_trial),
        **task_features(task, teacher, cache_dir=cache_dir, log=log),
    }


def _new_tuner(trainable: Any, space: SearchSpace, experiment: _Experiment, callbacks: Sequence[Any], *,
               trials: int, time_budget_s: float | None, max_concurrent: int, max_failures: int, seed: int,
               scheduler: str, trial_time_limit_s: float | None,
               sampler: str, grace_period: int, reduction_factor: int,
               points_to_evaluate: Sequence[Mapping[str, Any]] | None, verbose: int) -> Any:
    """A Tuner: Optuna's sampler behind Tune's ConcurrencyLimiter, ASHA (or FIFO) on the per-epoch dev score."""
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter

    from autodistiller.searcher._feasible import FeasibleOptunaSearch

    if sampler == "random":
        optuna_sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        with warnings.catch_warnings():  # `group` is marked experimental; it is what conditional spaces need
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna_sampler = optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed,
                                                        n_startup_trials=min(10, max(2, trials // 3)))
    points = [space.complete_point(p) for p in points_to_evaluate or []]
    searcher = FeasibleOptunaSearch(space, metric=METRIC, mode="max", sampler=optuna_sampler, seed=seed,
                                    points_to_evaluate=points or None)
    max_epochs = int(space.max_value("training.epochs", PipelineConfig().training.epochs))
    chosen_scheduler = (
        ASHAScheduler(time_attr="epoch", max_t=max(1, max_epochs), grace_period=grace_period,
                      reduction_factor=reduction_factor)
        if scheduler == "asha" else FIFOScheduler()
    )
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="max",
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=max_concurrent),
            scheduler=chosen_scheduler,
            num_samples=trials,  # concurrency: the ConcurrencyLimiter above (Ray warns if set twice)
            time_budget_s=time_budget_s,
            reuse_actors=True,  # a trial starts in a warm worker: no re-import of torch / transformers
        ),
        run_config=tune.RunConfig(
            name=experiment.name,
            storage_path=experiment.storage,
            callbacks=list(callbacks),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            failure_config=tune.FailureConfig(max_failures=max_failures),
            # a trial past the limit stops at its next report, like an ASHA stop: an early_stopped row
            stop={"time_total_s": trial_time_limit_s} if trial_time_limit_s else None,
            verbose=verbose,
        ),
    )


def search(
    task: Task | TaskSpec | str,
    space: SearchSpace | str | os.PathLike[str],
    *,
    trials: int = 20,
    time_budget: str | float | None = None,
    trial_time_limit: str | float | None = None,
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
    warm_start: int = 0,
    teacher: Teacher | None = None,
    backbone: str = DEFAULT_BACKBONE,
    teacher_training: TrainingConfig = TEACHER_TRAINING,
    meta_dataset_path: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    save_students: bool = True,
    shared_teacher_cache: bool | None = None,
    callbacks: Sequence[Any] = (),
    verbose: int = 1,
    log: Callable[[str], None] = print,
) -> SearchOutcome:
    """Search the pipeline ``space`` on ``task``: every trial is a real distillation, logged to Parquet.

    Everything that can be wrong with the inputs (space, task, storage, resume target, cluster address) is
    checked before the teacher is fine-tuned (once, cached) and the trials start. ``resume=True`` continues
    the experiment ``name`` under ``storage`` with ``Tuner.restore``; finished trials are not re-run and no
    row is written twice. ``time_budget``: the whole search's wall-clock cap (trials not started by then get no
    row); ``trial_time_limit``: each trial's (a trial past it stops at its next epoch report and keeps an
    ``early_stopped`` row with its best dev score). ``points_to_evaluate`` are pipelines run first, in order (a portfolio, or a
    recommender's picks): each is completed with the config defaults of the space parameters it leaves out, so a
    point is the same pipeline on every task. ``warm_start=K`` runs the recommender's top-K pipelines for the task
    first (those inside the space), then the given points. ``max_failures``: retries of a trial whose run failed (a lost node;
    default 0 on an embedded Ray, 2 on a cluster); a retried trial still gets one row. ``shared_teacher_cache``:
    the trials share the teacher-output cache through ``<storage>/teacher_outputs`` (each entry built once, by
    one node, and downloaded by the others); default: on a cluster (``address``) or with a URI ``storage``. ``callbacks`` are extra
    Ray Tune callbacks. ``verbose``: 0 silent, 1 the live table (each trial's sampled parameters and dev score,
    the best so far), 2 and 3 Ray Tune's own output too. Returns a :class:`SearchOutcome` (iterable as
    ``(result_grid, trials_frame)``).
    """
    from ray import tune

    if not isinstance(space, SearchSpace):
        space = load_space(space)
    _check_arguments(space, trials=trials, max_concurrent=max_concurrent, cpus_per_trial=cpus_per_trial,
                     gpus_per_trial=gpus_per_trial, scheduler=scheduler, sampler=sampler,
                     points_to_evaluate=points_to_evaluate)
    budget_s = parse_duration(time_budget)
    trial_limit_s = parse_duration(trial_time_limit)
    max_failures = resolve_max_failures(max_failures, address)
    if address:
        check_cluster_address(address)  # before the teacher is fine-tuned: minutes of work
    task_obj = task if isinstance(task, Task) else load_task(task, cache_dir=cache_dir)
    space, points_to_evaluate = _for_task(space, points_to_evaluate, task_obj, log)
    experiment = _experiment(task_obj, storage=storage, name=name, resume=resume, meta_dataset_path=meta_dataset_path)
    # before the teacher and Ray: a bad row file or an unwritable location would otherwise cost the search
    check_meta_dataset(experiment.rows_root)
    check_writable(experiment.storage, "--storage")
    check_writable(experiment.rows_root, "--meta-dataset")
    share_teacher_outputs = shares_teacher_cache(shared_teacher_cache, address=address, storage=experiment.storage)
    log(f"search: task {task_obj.name}, space {space.source}, {trials} trials, experiment {experiment.path}")
    log(f"search: trial rows go to {experiment.rows_root}")
    if task_obj.split is not None:
        log(f"search: split: {task_obj.split.description}")
    for note in task_obj.notes:
        log(f"search: note: {note}")

    if teacher is None:  # once, shared by every trial
        teacher = fine_tune_teacher(task_obj, backbone=backbone, training=teacher_training, cache_dir=cache_dir,
                                    log=log)
    context = _context(task_obj, teacher, cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial,
                       cache_dir=cache_dir, log=log)
    from autodistiller.baseline import cached_tfidf_baseline

    baseline = cached_tfidf_baseline(task_obj, cache_dir=cache_dir)  # the context's landmark: read from the cache
    log(f"search: {baseline.summary()}")
    if warm_start and not resume:
        points_to_evaluate = [*_recommended_points(task_obj, teacher, space, warm_start, cache_dir, log),
                              *(points_to_evaluate or [])]
    init_ray(address, log)
    from autodistiller.searcher._interrupt import InterruptWatch, LiveSearch, SearchInterrupted, running
    from autodistiller.searcher._logger import MetaDatasetLogger
    from autodistiller.searcher._progress import SearchProgress
    from autodistiller.searcher._trainable import describe_trial, run_trial

    shared_cache = coordinator = None
    if share_teacher_outputs:  # the handle is kept until the search ends: the actor lives as long
        shared_cache, coordinator = start_coordinator(experiment.storage, experiment.name)
        log(f"search: teacher outputs are shared under {experiment.storage}/teacher_outputs")
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, task=_in_memory(task_obj), teacher=teacher, space=space,
                             save_student=save_students, shared_cache=shared_cache),
        {"cpu": cpus_per_trial, "gpu": gpus_per_trial},
    )
    # Tune pickles these callbacks into the experiment, and a resumed search runs the pickled ones
    fallback_roots = experiment.fallback_roots(cache_dir)
    logger = MetaDatasetLogger(experiment.rows_root, experiment.name, task_obj.name, context,
                               fallback_roots=fallback_roots)
    if resume:
        log(f"search: resuming {experiment.path}")
        tuner = tune.Tuner.restore(experiment.path, trainable=trainable, resume_unfinished=True,
                                   resume_errored=False, restart_errored=False)
    else:
        progress = [SearchProgress([p.key for p in space.parameters if p.kind != "fixed"])] if verbose >= 1 else []
        tuner = _new_tuner(trainable, space, experiment, [InterruptWatch(experiment.name), logger, *progress,
                                                          *callbacks],
                           trials=trials, time_budget_s=budget_s, trial_time_limit_s=trial_limit_s,
                           max_concurrent=max_concurrent,
                           max_failures=max_failures, seed=seed,
                           scheduler=scheduler, sampler=sampler, grace_period=grace_period,
                           reduction_factor=reduction_factor, points_to_evaluate=points_to_evaluate,
                           verbose=max(0, verbose - 1))  # Ray's own table at verbose >= 2: ours replaces it
    if task_obj.split is not None and not resume:  # a resumed search keeps the file its first run wrote
        log(f"search: train / validation / test row ids in {task_obj.split.save(experiment.path)}")
    live = LiveSearch(describe=lambda config: describe_trial(config, space, task_obj, teacher))
    with running(experiment.name, live):
        grid = tuner.fit()
        unwritten = _unwritten_rows(experiment, fallback_roots)
        _reconcile(grid, logger, experiment, set(unwritten["trial_id"]))
        unwritten = _unwritten_rows(experiment, fallback_roots)
    if coordinator is not None:
        coordinator_summary(coordinator, shared_cache, log)
    frame = meta_dataset.load(experiment.rows_root, filters={"experiment_id": experiment.name})
    if len(unwritten):
        frame = pd.concat([frame, unwritten.drop(columns=["__file"])], ignore_index=True)
        log(f"search: error: {len(unwritten)} trial row(s) could not be written to {experiment.rows_root}; they "
            f"are kept in {', '.join(sorted(set(unwritten['__root'])))}. Copy them in when it is writable again: "
            + "; ".join(f"cp -r {root}/* {experiment.rows_root}/" for root in sorted(set(unwritten["__root"]))))
        frame = frame.drop(columns=["__root"])
    if live.signum is not None:
        raise SearchInterrupted(live.signum, experiment.path,
                                SearchOutcome(results=grid, trials=frame, experiment_path=experiment.path,
                                              meta_dataset=experiment.rows_root, best_config=None, best_row=None,
                                              best_dir=None))
    best_config, best_row, best_dir = _best(grid, frame, experiment.path, log)
    notes = _notes(task_obj, teacher, baseline, best_row)
    for note in notes[len(task_obj.notes):]:
        log(f"search: note: {note}")
    return SearchOutcome(results=grid, trials=frame, experiment_path=experiment.path,
                         meta_dataset=experiment.rows_root, best_config=best_config, best_row=best_row,
                         best_dir=best_dir, baseline=baseline, notes=notes,
                         unwritten_rows=sorted(unwritten["__file"]) if len(unwritten) else [])


def _for_task(space: SearchSpace, points: Sequence[Mapping[str, Any]] | None, task: Task,
              log: Callable[[str], None]) -> tuple[SearchSpace, list[dict[str, Any]] | None]:
    """The space and warm-start points without what the task cannot use (a regression task: no ``kl``, no
    ``teacher_free``; a pair task: no ``minimax_knn``; a shared portfolio's pipelines get their counterparts),
    each change logged; a counterpart outside the space is an error, before the teacher."""
    kind = {"is_regression": bool(task.card.is_regression), "is_pair": bool(task.card.has_pair)}
    space, notes = space.for_task(**kind)
    if points:
        points, changed = space.adapt_points(points, **kind)
        notes += changed
        for point in points:
            space.complete_point(point)
    for note in notes:
        log(f"search: task {task.name}: {note}")
    return space, points


def _notes(task: Task, teacher: Teacher, baseline: Any, best_row: Mapping[str, Any] | None) -> list[str]:
    """The task's notes, then what the scores say: teacher and best student at the majority-class score, the
    baseline above the teacher (or at the student)."""
    from autodistiller.baseline import baseline_note

    student = best_row.get("student_dev_score") if best_row is not None else None
    found = [majority_note(task, student_dev_score=student, teacher_dev_score=teacher.dev_score),
             baseline_note(baseline, teacher_dev_score=teacher.dev_score, student_dev_score=student)]
    return [*task.notes, *(note for note in found if note)]


def _recommended_points(task: Task, teacher: Teacher, space: SearchSpace, count: int, cache_dir: Any,
                        log: Callable[[str], None]) -> list[dict[str, Any]]:
    """The recommender's best ``count`` pipelines for ``task`` that lie inside ``space``."""
    from autodistiller.recommend import recommend

    ranked = recommend(task, teacher=teacher, top_k=max(count * 10, 30), cache_dir=cache_dir, log=log)
    points = space.first_points(ranked["pipeline"], count)
    log(f"search: warm start with the recommender's top {len(points)} pipeline(s) inside the space")
    return points


def _unwritten_rows(experiment: _Experiment, fallback_roots: Sequence[str]) -> pd.DataFrame:
    """This experiment's rows in the fallback roots that the meta-dataset does not hold (yet), with the file
    (``__file``) and fallback root (``__root``) of each."""
    present: set[str] = set()
    frames = []
    for root in fallback_roots:
        try:
            if not meta_dataset.list_files(root):
                continue
            rows = meta_dataset.load(root, filters={"experiment_id": experiment.name}, on_bad_files="skip")
        except OSError:  # an unreachable fallback holds nothing we can report
            continue
        if not present and meta_dataset.list_files(experiment.rows_root):
            present = set(meta_dataset.load(experiment.rows_root, filters={"experiment_id": experiment.name},
                                            columns=["trial_id"])["trial_id"])
        rows = rows[~rows["trial_id"].isin(present)].copy()
        rows["__root"] = root
        rows["__file"] = [meta_dataset.row_path(root, task, experiment.name, trial)
                          for task, trial in zip(rows["task"], rows["trial_id"], strict=True)]
        frames.append(rows)
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"trial_id": pd.Series(dtype=str), "__file": pd.Series(dtype=str),
                             "__root": pd.Series(dtype=str)})
    return pd.concat(frames, ignore_index=True).drop_duplicates("trial_id", keep="first")


def _reconcile(grid: Any, logger: Any, experiment: _Experiment, kept_elsewhere: set[str] = frozenset()) -> None:
    """Write the row of any trial whose callback never ran (e.g. the driver died right after it ended). Trials
    whose row went to a fallback root already have one."""
    from autodistiller.searcher._logger import error_text

    present = set(kept_elsewhere)
    if meta_dataset.list_files(experiment.rows_root):
        present |= set(meta_dataset.load(experiment.rows_root, filters={"experiment_id": experiment.name},
                                        columns=["trial_id"])["trial_id"])
    for result in grid:
        metrics = result.metrics or {}
        trial_id = metrics.get("trial_id")  # absent only for a trial that never reported: its callback wrote it
        if not trial_id or trial_id in present:
            continue
        error = error_text(None, result.error) if result.error is not None else None
        logger.write(trial_id, result.config or {}, metrics, error)


def _best(grid: Any, frame: pd.DataFrame, experiment_path: str,
          log: Callable[[str], None]) -> tuple[PipelineConfig | None, dict[str, Any] | None, str | None]:
    done = frame[frame["status"] == "completed"]
    if done.empty:
        log("search: no trial completed; no best pipeline.")
        return None, None, None
    best = done.sort_values("student_dev_score", ascending=False, kind="stable").iloc[0].to_dict()
    config = PipelineConfig.from_flat({k: best[k] for k in PipelineConfig().to_flat() if k in best})
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
