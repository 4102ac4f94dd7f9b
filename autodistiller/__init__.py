"""AutoDistiller: search the knowledge-distillation pipeline space for NLP models.

The public API below is imported on first use (PEP 562), so ``import autodistiller`` and ``autodistiller --help``
load neither torch nor transformers nor Ray. The registries (the vocabulary of the YAML search spaces) are full
whenever anything reads them: each pipeline registry imports the stage packages that register into it on its
first lookup (:mod:`autodistiller.registries`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from autodistiller._version import __version__
from autodistiller.config import IntermediateConfig, LossConfig, PipelineConfig, StudentConfig, TrainingConfig
from autodistiller.errors import AssetError, AutoDistillerError, ConfigError, TaskError, UnknownOptionError

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from autodistiller import meta_dataset
    from autodistiller.engine import DistillResult, EpochReport, Plan, distill, fine_tune_teacher
    from autodistiller.models import Teacher, build_student, load_teacher
    from autodistiller.searcher import SearchSpace, load_space, search
    from autodistiller.tasks import Task, TaskCard, TaskSpec, load_task

#: public name -> the module it is imported from on first access
_LAZY = {
    **dict.fromkeys(("DistillResult", "EpochReport", "Plan", "distill", "fine_tune_teacher"), "autodistiller.engine"),
    **dict.fromkeys(("Teacher", "build_student", "load_teacher"), "autodistiller.models"),
    **dict.fromkeys(("SearchSpace", "load_space", "search"), "autodistiller.searcher"),
    **dict.fromkeys(("Task", "TaskCard", "TaskSpec", "load_task"), "autodistiller.tasks"),
}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:  # a subpackage or module: autodistiller.meta_dataset, autodistiller.prediction, ...
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value  # once: later accesses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
