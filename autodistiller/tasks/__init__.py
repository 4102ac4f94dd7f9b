"""Tasks: the standard form of a labelled dataset, how to load one, and how to score predictions."""

from autodistiller.task_card import SPLITS, TASK_TYPES, TaskCard
from autodistiller.tasks._batches import EncodedSplit, encode_rows, encode_splits, subset_indices
from autodistiller.tasks._encode import encode_task
from autodistiller.tasks._metrics import METRICS, compute_metrics, majority_baseline
from autodistiller.tasks._spec import (
    GLUE_TASKS,
    Task,
    TaskSpec,
    load_task,
    stratified_split,
    task_from_dataset_dict,
)

__all__ = [
    "EncodedSplit",
    "encode_rows",
    "encode_splits",
    "subset_indices",
    "GLUE_TASKS",
    "METRICS",
    "SPLITS",
    "TASK_TYPES",
    "Task",
    "TaskCard",
    "TaskSpec",
    "compute_metrics",
    "encode_task",
    "load_task",
    "majority_baseline",
    "stratified_split",
    "task_from_dataset_dict",
]
