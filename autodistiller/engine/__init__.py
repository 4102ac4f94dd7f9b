"""The KD engine: resolve a pipeline into a :class:`Plan`, execute it (``distill``), and the training loop it
shares with teacher fine-tuning."""

from autodistiller.engine._callbacks import (
    EpochCallback,
    EpochReport,
    PrintProgress,
    StepProgress,
    TrainingProgress,
)
from autodistiller.engine._device import autocast_dtype, seed_everything, select_device, set_threads
from autodistiller.engine._epochs import SoftTargets
from autodistiller.engine._inputs import teacher_outputs
from autodistiller.engine._loop import TrainOutcome, evaluate, predict_logits, train_model
from autodistiller.engine._plan import Plan
from autodistiller.engine._result import DistillResult
from autodistiller.engine._run import distill, distill_once
from autodistiller.engine._shared_cache import SharedTeacherCache, TeacherCacheCoordinator
from autodistiller.engine._teacher import fine_tune_teacher
from autodistiller.tasks import EncodedSplit, encode_rows, encode_splits, subset_indices

__all__ = [
    "DistillResult",
    "EncodedSplit",
    "EpochCallback",
    "EpochReport",
    "Plan",
    "PrintProgress",
    "SharedTeacherCache",
    "StepProgress",
    "TrainingProgress",
    "SoftTargets",
    "TeacherCacheCoordinator",
    "TrainOutcome",
    "autocast_dtype",
    "distill",
    "distill_once",
    "encode_rows",
    "encode_splits",
    "evaluate",
    "fine_tune_teacher",
    "predict_logits",
    "seed_everything",
    "select_device",
    "set_threads",
    "subset_indices",
    "teacher_outputs",
    "train_model",
]
