"""The metrics of one trial: a typed record that is at the same time the metric columns of the schema.

``DistillResult.trial_metrics()`` fills it; the meta-dataset schema derives its metric columns from its fields,
so a metric exists once, with one name and one type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = ["TrialMetrics", "metric_fields"]


@dataclass
class TrialMetrics:
    """What a trial measured. ``None``: not measured (e.g. the test score of a trial stopped early)."""

    #: the task's primary metric (``accuracy``, ``macro_f1``, ``pearson``, ...): every ``*_score`` uses it
    metric: str | None = None
    student_dev_score: float | None = None
    student_test_score: float | None = None
    teacher_dev_score: float | None = None
    teacher_test_score: float | None = None
    #: student dev score / teacher dev score (the Distiller study's ``ratio``)
    score_retained: float | None = None
    student_params: int | None = None
    teacher_params: int | None = None
    #: median CPU milliseconds per example at batch size 1, student and teacher timed side by side
    latency_ms: float | None = None
    teacher_latency_ms: float | None = None
    #: teacher latency / student latency
    speedup: float | None = None
    #: wall seconds of the whole procedure in this trial (every model it trained), augmentation included
    train_seconds: float | None = None
    augment_seconds: float | None = None
    epochs_run: int | None = None
    best_epoch: int | None = None
    #: why training ended: epochs (ran them all), early_stopping (patience), scheduler (the search stopped it)
    stopped_by: str | None = None
    train_examples: int | None = None
    #: the student's dev score after each epoch
    dev_score_history: list[float] | None = None
    # the other models a procedure trains
    #: TAKD: the teacher assistant's scores, whether it came from the assistant cache, its training seconds
    assistant_dev_score: float | None = None
    assistant_test_score: float | None = None
    assistant_cached: bool | None = None
    #: Born-Again: each generation's dev score (the last is the student's), and the ensemble of generations
    generation_dev_scores: list[float] | None = None
    ensemble_dev_score: float | None = None
    ensemble_test_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


_ARROW = {str: pa.string(), float: pa.float64(), int: pa.int64(), bool: pa.bool_()}
#: narrower integer columns, as schema v1 wrote them (so v1 files keep their exact types)
_INT32 = {"epochs_run", "best_epoch"}


def _arrow_type(hint: Any) -> pa.DataType:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is list:
        return pa.list_(_arrow_type(typing.get_args(hint)[0]))
    return _ARROW[hint]


def metric_fields() -> list[pa.Field]:
    """The metric columns, typed from :class:`TrialMetrics`' annotations."""
    hints = typing.get_type_hints(TrialMetrics)
    return [pa.field(f.name, pa.int32() if f.name in _INT32 else _arrow_type(hints[f.name]))
            for f in dataclasses.fields(TrialMetrics)]
