"""The Ray Tune trainable: one trial = one real distillation run of a sampled pipeline."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from typing import Any

from autodistiller.engine import EpochReport, distill, set_threads
from autodistiller.errors import ConfigError
from autodistiller.meta_dataset import hardware_info
from autodistiller.models import Teacher
from autodistiller.searcher._space import SearchSpace
from autodistiller.tasks import Task

__all__ = ["run_trial", "FINISHED_KEY"]

#: the last report of a trial that ran to its end carries this key
FINISHED_KEY = "finished"


def run_trial(config: Mapping[str, Any], *, task: Task, teacher: Teacher, space: SearchSpace,
              save_student: bool = True) -> None:
    """Validate the sampled pipeline (constraints, config) before any work, train, report every epoch.

    Reports carry ``epoch`` (the scheduler's time axis) and ``dev_score``, the best dev score so far (what
    the run keeps: the best epoch's weights), with the epoch's own score as ``epoch_dev_score``. The last
    epoch is reported once, after the test evaluation, with the test score, size, latency, ``finished=True``
    and the student as a checkpoint: a scheduler stopping the trial at its last epoch would otherwise cut
    the final report off.
    """
    from ray import tune

    started = time.time()
    static = {"started_at": started, **hardware_info()}
    violated = space.violated(config)
    if violated:
        raise ConfigError(f"sampled pipeline breaks constraint(s) {violated}: {dict(config)}")
    pipeline = space.to_config(config)
    set_threads()  # Ray sets OMP_NUM_THREADS to the trial's CPUs

    def report(epoch: EpochReport) -> None:
        if epoch.epoch < epoch.num_epochs:
            tune.report({**epoch.to_dict(), "epoch_dev_score": epoch.dev_score, "dev_score": epoch.best_dev_score,
                         **static})

    result = distill(pipeline, task, teacher, callbacks=[report], log=print)
    last = result.history[-1]
    final = {
        **last,
        "epoch_dev_score": last["dev_score"],
        **result.metrics(),
        **static,
        "epoch": result.epochs_run,
        "dev_score": result.dev_score,
        "best_dev_score": result.dev_score,
        "dev_score_history": [h["dev_score"] for h in result.history],
        FINISHED_KEY: True,
    }
    if not save_student:
        tune.report(final)
        return
    with tempfile.TemporaryDirectory() as directory:
        result.save(directory)
        tune.report(final, checkpoint=tune.Checkpoint.from_directory(directory))
