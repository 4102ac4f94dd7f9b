"""``DistillResult``: what one distillation produced, and the trial row it becomes."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodistiller.config import PipelineConfig
from autodistiller.engine._plan import Plan
from autodistiller.meta_dataset import TrialMetrics
from autodistiller.models import StudentInfo

__all__ = ["DistillResult"]


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass
class DistillResult:
    """Scores, size, speed and cost of one run (of a whole procedure: TAKD's assistant, Born-Again's
    generations and their ensemble are in ``procedure_metrics``)."""

    plan: Plan
    task_name: str
    task_family: str
    metric: str
    dev: dict[str, float]
    test: dict[str, float]
    teacher_dev_score: float
    teacher_test_score: float
    student_params: int
    teacher_params: int
    latency_ms: float
    teacher_latency_ms: float
    train_seconds: float
    epochs_run: int
    best_epoch: int
    stopped_by: str
    train_examples: int
    student_info: StudentInfo
    augment_seconds: float = 0.0
    #: the procedure's own metrics, named as :class:`TrialMetrics` fields (``assistant_dev_score``, ...)
    procedure_metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)
    #: warnings about the data and the scores (text columns the task does not read, scores at the majority class)
    notes: list[str] = field(default_factory=list)
    #: the TF-IDF baseline (``autodistiller.baseline.BaselineResult``) shown beside the teacher and the student
    baseline: Any = None
    #: the task's :class:`~autodistiller.tasks.TaskSplit`: :meth:`save` writes it as ``split.json``
    split: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.procedure_metrics) - set(TrialMetrics.names()))
        if unknown:
            raise ValueError(f"procedure metrics {unknown} are not TrialMetrics fields; add them there first.")

    @property
    def config(self) -> PipelineConfig:
        """The pipeline that ran (the procedure's settings applied)."""
        return self.plan.config

    @property
    def dev_score(self) -> float:
        return self.dev[self.metric]

    @property
    def test_score(self) -> float:
        return self.test[self.metric]

    @property
    def score_retained(self) -> float:
        """Student dev score / teacher dev score (the Distiller study's ``ratio``)."""
        return self.dev_score / self.teacher_dev_score if self.teacher_dev_score else float("nan")

    def trial_metrics(self) -> TrialMetrics:
        """The metric columns of this run's trial row."""
        return TrialMetrics(
            metric=self.metric,
            student_dev_score=self.dev_score,
            student_test_score=self.test_score,
            teacher_dev_score=_finite(self.teacher_dev_score),
            teacher_test_score=_finite(self.teacher_test_score),
            score_retained=_finite(self.score_retained),
            student_params=self.student_params,
            teacher_params=self.teacher_params or None,
            latency_ms=self.latency_ms,
            teacher_latency_ms=_finite(self.teacher_latency_ms),
            speedup=_finite(self.teacher_latency_ms / self.latency_ms) if self.latency_ms else None,
            train_seconds=self.train_seconds,
            augment_seconds=self.augment_seconds,
            epochs_run=self.epochs_run,
            best_epoch=self.best_epoch,
            stopped_by=self.stopped_by,
            train_examples=self.train_examples,
            dev_score_history=[float(h["dev_score"]) for h in self.history],
            **self.procedure_metrics,
        )

    def metrics(self) -> dict[str, Any]:
        """The metric columns as a dict."""
        return self.trial_metrics().to_dict()

    def to_row(self) -> dict[str, Any]:
        """The pipeline that ran (null where inactive) and the metrics: this run's columns of a trial row."""
        return {**self.plan.to_flat(), **self.metrics(), "pipeline_resolved": True}

    def all_notes(self) -> list[str]:
        """:attr:`notes`, and what the baseline says about the teacher and the student."""
        from autodistiller.baseline import baseline_note

        note = baseline_note(self.baseline, teacher_dev_score=_finite(self.teacher_dev_score),
                             student_dev_score=self.dev_score) if self.baseline is not None else None
        return [*self.notes, *([note] if note else [])]

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"notes": self.all_notes()}
        if self.baseline is not None:
            extra["baseline"] = self.baseline.to_dict()
        if self.split is not None:
            extra["split"] = {"method": self.split.method, "seed": self.split.seed,
                              "description": self.split.description}
        return {
            "task": self.task_name,
            "task_family": self.task_family,
            "pipeline": self.plan.to_flat(),
            **self.metrics(),
            "dev": self.dev,
            "test": self.test,
            "student": {"layers": self.student_info.num_layers, "hidden_size": self.student_info.hidden_size,
                        "initialised_from": list(self.student_info.initialised_from),
                        "source": self.student_info.source},
            "history": self.history,
            **extra,
        }

    def summary(self) -> str:
        m = self.metric
        student = (f"  student: {self.dev_score:.4f} / {self.test_score:.4f}  "
                   f"{self.student_params / 1e6:.1f}M params  {self.latency_ms:.2f} ms/example\n")
        extra = "".join(f"; {k} {v:.4f}" for k, v in self.procedure_metrics.items() if isinstance(v, float))
        trained = (f"trained {self.train_seconds:.0f}s, {self.epochs_run} epochs (best {self.best_epoch})"
                   f"{extra}\n  pipeline: {self.plan.describe()}")
        b = self.baseline
        baseline = "" if b is None else (
            f"  TF-IDF baseline: {b.dev_score:.4f} / {b.test_score:.4f}  {b.size_bytes / 1e6:.1f} MB  "
            f"{b.latency_ms:.2f} ms/example ({b.model}, fitted in {b.fit_seconds:.1f}s)\n")
        notes = "".join(f"\n  note: {note}" for note in self.all_notes())
        if not self.teacher_params:  # a teacher-free procedure
            return f"task {self.task_name} ({m}, dev / test), no teacher\n{student}{baseline}  {trained}{notes}"
        return (
            f"task {self.task_name} ({m}, dev / test)\n"
            f"  teacher: {self.teacher_dev_score:.4f} / {self.teacher_test_score:.4f}  "
            f"{self.teacher_params / 1e6:.1f}M params  {self.teacher_latency_ms:.2f} ms/example\n"
            f"{student}{baseline}"
            f"  retained {self.score_retained:.1%} of the teacher's dev score, "
            f"{self.teacher_params / self.student_params:.1f}x smaller, "
            f"{self.teacher_latency_ms / self.latency_ms:.1f}x faster; {trained}{notes}"
        )

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the student model, its tokenizer, ``pipeline.yaml``, ``result.json`` and (when the task's split
        is known) ``split.json`` (the source rows of train / validation / test) to ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.save_pretrained(directory / "student")
        if self.tokenizer is not None:
            self.tokenizer.save_pretrained(directory / "student")
        self.config.to_yaml(directory / "pipeline.yaml")
        (directory / "result.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        if self.split is not None:
            self.split.save(directory)
        return directory
