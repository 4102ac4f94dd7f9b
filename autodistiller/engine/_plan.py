"""``Plan``: what one distillation runs, resolved from a config and checked before any model loads.

``Plan.resolve(config, card, teacher)`` applies the procedure's settings (``annealing_mate`` runs
``loss.kind=annealing`` with ``augment.policy=mate``; ``born_again`` trains students of the teacher's depth),
works out which parameters the chosen options read (the others are inactive: null in the trial's row), builds
the loss, policy and procedure, and runs every check that crosses stages from what the options declare they
need. The engine executes the plan; the plan is also what a trial's row records.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import torch

from autodistiller.augment import TrainingPolicy, build_policy
from autodistiller.config import PipelineConfig, active_parameters, procedure_settings
from autodistiller.errors import ConfigError
from autodistiller.intermediate import build_intermediate, model_dims
from autodistiller.models import Teacher, student_dims
from autodistiller.prediction import PredictionLoss, build_prediction_loss
from autodistiller.registries import PROCEDURES
from autodistiller.task_card import TaskCard

__all__ = ["Plan"]

#: (layers, hidden width, attention heads) of a model
Dims = tuple[int, int, int]


@dataclass(frozen=True)
class Plan:
    """A resolved, checked pipeline for one task and teacher.

    ``config`` is the pipeline that runs (``requested`` the one asked for); ``active`` the flat keys its
    options read. ``loss``, ``policy`` and ``procedure`` are built; the intermediate stage, which needs the
    student's weights, is built by the engine from ``config`` (its shapes were checked here).
    """

    config: PipelineConfig
    requested: PipelineConfig
    card: TaskCard
    active: frozenset[str]
    loss: PredictionLoss
    policy: TrainingPolicy
    procedure: Any
    #: (layers, width, heads) of the teacher; None without one (teacher-free procedures)
    teacher_dims: Dims | None = None

    @classmethod
    def resolve(cls, config: PipelineConfig, card: TaskCard, teacher: Teacher | None = None) -> Plan:
        """Resolve ``config`` for a task (its card) and teacher; raise :class:`ConfigError` on what cannot run."""
        procedure = PROCEDURES.get(config.procedure.kind, key="procedure.kind")()
        if procedure.needs_teacher and teacher is None:
            raise ConfigError(f"procedure.kind={config.procedure.kind!r} needs a teacher; pass one, or use a "
                              "teacher-free procedure (teacher_free, self_distill).")
        if teacher is not None and teacher.task_name != card.name:
            raise ConfigError(f"the teacher was fine-tuned on {teacher.task_name!r}, not on {card.name!r}.")
        dims = model_dims(teacher.model) if teacher is not None and procedure.needs_teacher else None
        return cls._resolve(config, card, dims, procedure)

    @classmethod
    def _resolve(cls, config: PipelineConfig, card: TaskCard, teacher_dims: Dims | None, procedure: Any) -> Plan:
        kind = config.procedure.kind
        settings, from_teacher = procedure_settings(kind)
        if from_teacher:
            settings.update(procedure.teacher_settings(teacher_dims))
        requested, defaults = config.to_flat(), PipelineConfig().to_flat()
        for key, value in settings.items():
            if requested[key] not in (value, defaults[key]):
                raise ConfigError(f"procedure.kind={kind!r} sets {key}={value!r}, but the pipeline asks for "
                                  f"{key}={requested[key]!r}; drop {key} (or set it to {value!r}).")
        resolved = config.replace(**settings) if settings else config
        loss = build_prediction_loss(resolved.loss, is_regression=card.is_regression)
        policy = build_policy(resolved.augment)
        if policy.needs_teacher and not loss.needs_teacher:
            raise ConfigError(f"augment.policy={policy.name!r} trains on samples without a gold label, which only "
                              f"a teacher can score; loss.kind={resolved.loss.kind!r} has no teacher term. Use kl, "
                              "mse or annealing.")
        policy.check_task(card)
        procedure.check(resolved, card, teacher_dims)
        if teacher_dims is not None and not resolved.student.model:
            _check_student_shapes(resolved, teacher_dims)
        return cls(config=resolved, requested=config, card=card, active=active_parameters(resolved.to_flat()),
                   loss=loss, policy=policy, procedure=procedure, teacher_dims=teacher_dims)

    def step(self, **flat: Any) -> Plan:
        """One ``standard`` run of this plan's pipeline with some flat keys changed: the runs a procedure is
        made of (TAKD's assistant, Born-Again's generations)."""
        config = self.config.replace(**{**flat, "procedure.kind": "standard"})
        return Plan._resolve(config, self.card, self.teacher_dims, PROCEDURES.get("standard")())

    def to_flat(self) -> dict[str, Any]:
        """The pipeline that ran, one flat key each, ``None`` where no chosen option reads the parameter."""
        return {key: value if key in self.active else None for key, value in self.config.to_flat().items()}

    def describe(self) -> str:
        """The active parameters that differ from the defaults, ``key=value`` (what a log line shows)."""
        defaults = PipelineConfig().to_flat()
        changed = [f"{key}={value}" for key, value in self.to_flat().items()
                   if value is not None and value != defaults[key]]
        return ", ".join(changed) or "the default pipeline"

    @property
    def needs_teacher_tokens(self) -> bool:
        """Whether the student must read the teacher's tokens: an intermediate stage compares them position by
        position, or the policy feeds both the same inputs (prediction-layer KD only pairs examples)."""
        return self.config.intermediate.objective != "none" or self.policy.needs_shared_vocabulary


def _check_student_shapes(config: PipelineConfig, teacher_dims: Dims) -> None:
    """A student taken from the teacher fits in it, and the intermediate stage's layer pairs and projections
    can be built between the two (built here on shapes alone, with the global RNG left untouched)."""
    student = student_dims(config.student, teacher_dims)
    if config.intermediate.objective == "none":
        return

    def shape(dims: Dims) -> Any:
        return types.SimpleNamespace(num_hidden_layers=dims[0], hidden_size=dims[1], num_attention_heads=dims[2])

    with torch.random.fork_rng(devices=[]):
        build_intermediate(config.intermediate, shape(student), shape(teacher_dims))
