"""Tasks: the standard form of a labelled dataset, how to load one, and how to score predictions."""

from autodistiller.task_card import SPLITS, TASK_TYPES, TaskCard
from autodistiller.tasks._batches import EncodedSplit, encode_rows, encode_splits, subset_indices
from autodistiller.tasks._encode import encode_task
from autodistiller.tasks._metrics import METRICS, compute_metrics, majority_baseline
from autodistiller.tasks._notes import majority_note, unused_text_columns
from autodistiller.tasks._spec import (
    GLUE_TASKS,
    Task,
    TaskSpec,
    load_task,
    stratified_split,
    task_from_dataset_dict,
)
from autodistiller.tasks._split import SPLIT_FILE, TaskSplit, split_frame

__all__ = [
    "EncodedSplit",
    "encode_rows",
    "encode_splits",
    "subset_indices",
    "GLUE_TASKS",
    "METRICS",
    "SPLITS",
    "SPLIT_FILE",
    "TASK_TYPES",
    "Task",
    "TaskCard",
    "TaskSpec",
    "TaskSplit",
    "compute_metrics",
    "encode_task",
    "load_task",
    "majority_baseline",
    "majority_note",
    "split_frame",
    "stratified_split",
    "task_from_dataset_dict",
    "unused_text_columns",
]
