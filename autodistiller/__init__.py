"""AutoDistiller: search the knowledge-distillation pipeline space for NLP models.

Importing the package fills every registry (the vocabulary of the YAML search spaces): each stage package
registers its options into :mod:`autodistiller.registries` when it is imported, here.
"""

from autodistiller import (
    augment,  # noqa: F401  (registers augmenters and augmentation policies)
    intermediate,  # noqa: F401  (registers objectives, layer mappings, MI critics)
    meta_dataset,
    prediction,  # noqa: F401  (registers the prediction losses)
    procedures,  # noqa: F401  (registers the training procedures)
)
from autodistiller._version import __version__
from autodistiller.config import IntermediateConfig, LossConfig, PipelineConfig, StudentConfig, TrainingConfig
from autodistiller.engine import DistillResult, EpochReport, Plan, distill, fine_tune_teacher
from autodistiller.errors import AssetError, AutoDistillerError, ConfigError, TaskError, UnknownOptionError
from autodistiller.models import Teacher, build_student, load_teacher
from autodistiller.searcher import SearchSpace, load_space, search
from autodistiller.tasks import Task, TaskCard, TaskSpec, load_task

__all__ = [
    "AssetError",
    "AutoDistillerError",
    "ConfigError",
    "DistillResult",
    "EpochReport",
    "IntermediateConfig",
    "LossConfig",
    "PipelineConfig",
    "Plan",
    "StudentConfig",
    "Task",
    "TaskCard",
    "TaskError",
    "TaskSpec",
    "Teacher",
    "TrainingConfig",
    "UnknownOptionError",
    "__version__",
    "build_student",
    "distill",
    "fine_tune_teacher",
    "load_task",
    "load_space",
    "load_teacher",
    "meta_dataset",
    "search",
    "SearchSpace",
]
