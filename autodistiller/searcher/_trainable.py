"""The Ray Tune trainable: one trial = one real distillation run of a sampled pipeline."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from autodistiller.config import PipelineConfig, active_parameters, procedure_settings
from autodistiller.engine import EpochReport, Plan, SharedTeacherCache, distill, set_threads
from autodistiller.errors import ConfigError
from autodistiller.meta_dataset import hardware_info
from autodistiller.models import Teacher
from autodistiller.searcher._space import SearchSpace
from autodistiller.tasks import Task

__all__ = ["run_trial", "resolve_trial", "describe_trial", "FINISHED_KEY", "ROW_KEY"]

#: the last report of a trial that ran to its end carries this key
FINISHED_KEY = "finished"
#: every report carries the trial's row columns known so far (JSON): the pipeline that runs, its metrics
ROW_KEY = "trial_row_json"


def resolve_trial(config: Mapping[str, Any], space: SearchSpace, task: Task, teacher: Teacher | None) -> Plan:
    """The plan of a sampled configuration: constraints checked, procedure settings applied."""
    violated = space.violated(config)
    if violated:
        raise ConfigError(f"sampled pipeline breaks constraint(s) {violated}: {dict(config)}")
    return Plan.resolve(space.to_config(config), task.card, teacher)


def describe_trial(config: Mapping[str, Any], space: SearchSpace, task: Task, teacher: Teacher | None
                   ) -> tuple[dict[str, Any], bool]:
    """The pipeline columns of a trial that never reported: its resolved plan, or, when the sampled config does
    not resolve (the trial failed on it), the sampled values with the procedure's fixed settings and inactive
    parameters null (``False``: settings taken from the teacher may be missing)."""
    try:
        return resolve_trial(config, space, task, teacher).to_flat(), True
    except ConfigError:
        values = {**PipelineConfig().to_flat(), **{k: v for k, v in config.items() if k in space.keys}}
        values.update(procedure_settings(values["procedure.kind"])[0])
        active = active_parameters(values)
        return {key: value if key in active else None for key, value in values.items()}, False


def run_trial(config: Mapping[str, Any], *, task: Task, teacher: Teacher, space: SearchSpace,
              save_student: bool = True, shared_cache: SharedTeacherCache | None = None) -> None:
    """Resolve the sampled pipeline (every check before any work), train, report every epoch.

    Reports carry ``epoch`` (the scheduler's time axis) and ``dev_score``, the best dev score so far (what
    the run keeps: the best epoch's weights), with the epoch's own score as ``epoch_dev_score``, and the row
    the trial would write if it stopped there (:data:`ROW_KEY`). The last epoch is reported once, after the
    test evaluation, with the whole row, ``finished=True`` and the student as a checkpoint: a scheduler
    stopping the trial at its last epoch would otherwise cut the final report off. ``shared_cache``: the
    cluster's shared teacher-output cache (each entry built by one trial, downloaded by the others).
    """
    from ray import tune

    static = {"started_at": time.time(), **hardware_info()}
    plan = resolve_trial(config, space, task, teacher)
    set_threads()  # Ray sets OMP_NUM_THREADS to the trial's CPUs
    so_far = {**plan.to_flat(), **static, "pipeline_resolved": True, "metric": task.card.metric,
              "teacher_dev_score": teacher.dev_score, "teacher_test_score": teacher.test_score}
    history: list[float] = []

    def report(epoch: EpochReport) -> None:
        history.append(epoch.dev_score)
        if epoch.epoch < epoch.num_epochs:
            row = {**so_far, "student_dev_score": epoch.best_dev_score, "epochs_run": epoch.epoch,
                   "dev_score_history": list(history)}
            tune.report({**epoch.to_dict(), "epoch_dev_score": epoch.dev_score, "dev_score": epoch.best_dev_score,
                         ROW_KEY: json.dumps(row)})

    result = distill(plan, task, teacher, callbacks=[report], shared_cache=shared_cache, log=print)
    final = {
        **result.history[-1],
        "epoch_dev_score": result.history[-1]["dev_score"],
        "epoch": result.epochs_run,
        "dev_score": result.dev_score,
        "best_dev_score": result.dev_score,
        ROW_KEY: json.dumps({**so_far, **result.to_row()}),
        FINISHED_KEY: True,
    }
    if not save_student:
        tune.report(final)
        return
    with tempfile.TemporaryDirectory() as directory:
        result.save(directory)
        tune.report(final, checkpoint=tune.Checkpoint.from_directory(directory))
