"""The procedures: each is a small class that declares the settings it fixes and composes ``distill_once`` runs.

A procedure changes the plan, not the result afterwards: what it fixes (``sets``, ``teacher_settings``) is
applied by :meth:`Plan.resolve <autodistiller.engine.Plan.resolve>` before anything runs, so a trial's row
records the pipeline that trained; ``run`` composes the runs and adds the procedure's own metrics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from autodistiller._paths import cache_root
from autodistiller.config import PipelineConfig
from autodistiller.engine import DistillResult, Plan, distill_once, predict_logits, select_device
from autodistiller.errors import ConfigError
from autodistiller.models import (
    TEACHER_META,
    Teacher,
    TeacherIntegrityError,
    load_classifier,
    load_teacher,
    resolve_model_path,
    save_teacher,
)
from autodistiller.registries import PROCEDURES
from autodistiller.task_card import TaskCard
from autodistiller.tasks import EncodedSplit, Task, compute_metrics, encode_splits

__all__ = ["PROCEDURES", "Procedure", "assistant_key", "ensemble_metrics", "virtual_teacher_logits"]

_ASSISTANTS = "assistants"
#: (layers, width, heads) of the teacher, or None
Dims = tuple[int, int, int] | None
#: what teacher-free procedures fix: there is no teacher network to read hidden states or score new samples
_NO_TEACHER_STAGES = {"intermediate.objective": "none", "augment.pipeline": "none", "augment.policy": "none"}


class Procedure:
    """Base class, and the ``standard`` procedure: one teacher -> student run of the plan.

    ``uses`` names the ``procedure.*`` parameters it reads (conditional search parameters). ``sets`` fixes flat
    keys of the pipeline; ``sets_from_teacher`` names keys fixed from the teacher (``teacher_settings``).
    """

    uses: ClassVar[tuple[str, ...]] = ()
    #: False: the procedure never loads or reads a teacher network
    needs_teacher: ClassVar[bool] = True
    #: False: it cannot run a regression task (``check`` says why); searches leave it out there
    supports_regression: ClassVar[bool] = True
    sets: ClassVar[Mapping[str, Any]] = {}
    sets_from_teacher: ClassVar[tuple[str, ...]] = ()

    def teacher_settings(self, teacher_dims: Dims) -> dict[str, Any]:
        """Values of ``sets_from_teacher`` for a teacher of ``teacher_dims`` (layers, width, heads)."""
        return {}

    def check(self, config: PipelineConfig, card: TaskCard, teacher_dims: Dims) -> None:
        """Refuse a resolved pipeline this procedure cannot run (called before any model loads)."""

    def run(self, plan: Plan, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        return distill_once(plan, task, teacher, **kwargs)


PROCEDURES.register("standard")(Procedure)


# ---------------------------------------------------------------------------------------------------------
# TAKD
# ---------------------------------------------------------------------------------------------------------
def _assistant_plan(plan: Plan) -> Plan:
    """The assistant's run: the trial's pipeline with the assistant's depth, built from the teacher."""
    return plan.step(**{"student.layers": plan.config.procedure.assistant_layers, "student.hidden_size": 0,
                        "student.model": ""})


def assistant_key(plan: Plan, teacher: Teacher) -> str:
    """Cache key of a TAKD assistant: the teacher and every active setting that shapes the assistant (the
    student's own size and the procedure's parameters do not)."""
    flat = {k: v for k, v in _assistant_plan(plan).to_flat().items() if not k.startswith("procedure.")}
    payload = json.dumps({"teacher": teacher.cache_key, "task": teacher.task_name, "pipeline": flat}, sort_keys=True,
                         default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _as_teacher(result: DistillResult, task: Task, base: Teacher, key: str) -> Teacher:
    return Teacher(model=result.model, tokenizer=result.tokenizer, backbone=base.backbone, task_name=task.name,
                   training=result.config.training, key=key,
                   metrics={"dev_score": result.dev_score, "test_score": result.test_score, "metric": result.metric,
                            "latency_ms": result.latency_ms})


def _quiet(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The run's keyword arguments without epoch callbacks: those (Ray reports) belong to the final student."""
    return {**kwargs, "callbacks": ()}


@PROCEDURES.register("takd")
class TeacherAssistant(Procedure):
    """Teacher -> assistant (``assistant_layers`` layers) -> student; the assistant is cached across trials."""

    uses = ("assistant_layers",)

    def check(self, config: PipelineConfig, card: TaskCard, teacher_dims: Dims) -> None:
        assert teacher_dims is not None
        layers = config.procedure.assistant_layers
        if not config.student.layers < layers < teacher_dims[0]:
            raise ConfigError(f"procedure.assistant_layers={layers} must lie strictly between student.layers="
                              f"{config.student.layers} and the teacher's {teacher_dims[0]} layers.")

    def assistant(self, plan: Plan, task: Task, teacher: Teacher, **kwargs: Any) -> tuple[Teacher, float | None]:
        """The assistant, and the seconds spent distilling it (``None``: it came from the cache)."""
        key = assistant_key(plan, teacher)
        directory = cache_root(kwargs.get("cache_dir")) / _ASSISTANTS / f"{task.name}-{key}"
        log = kwargs.get("log", print)
        damaged = False
        if (directory / TEACHER_META).is_file():
            try:
                assistant = load_teacher(directory)
            except TeacherIntegrityError as error:
                damaged = True
                log(f"takd: cached assistant {directory} is damaged ({error.problem}); distilling it again")
            else:
                log(f"takd: cached assistant {directory}")
                return assistant, None
        log(f"takd: distilling a {plan.config.procedure.assistant_layers}-layer assistant")
        result = distill_once(_assistant_plan(plan), task, teacher, **_quiet(kwargs))
        save_teacher(_as_teacher(result, task, teacher, key), directory,
                     {"teacher_key": teacher.key, "assistant_layers": plan.config.procedure.assistant_layers},
                     replace=damaged)
        return load_teacher(directory), result.train_seconds

    def run(self, plan: Plan, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        assert teacher is not None
        assistant, seconds = self.assistant(plan, task, teacher, **kwargs)
        # taught by the assistant, scored against the real teacher like every other procedure
        result = distill_once(plan.step(), task, assistant, reference=teacher, **kwargs)
        return dataclasses.replace(
            result, plan=plan, train_seconds=result.train_seconds + (seconds or 0.0),
            procedure_metrics={"assistant_dev_score": assistant.dev_score,
                               "assistant_test_score": assistant.test_score, "assistant_cached": seconds is None})


# ---------------------------------------------------------------------------------------------------------
# Born-Again networks
# ---------------------------------------------------------------------------------------------------------
def ensemble_metrics(models: Sequence[Any], split: EncodedSplit, task_type: str, device: torch.device
                     ) -> dict[str, float]:
    """Metrics of the averaged predictions of ``models`` (class probabilities, or regression outputs)."""
    outputs = [predict_logits(model, split, device) for model in models]
    if task_type == "regression":
        return compute_metrics(task_type, np.mean(outputs, axis=0), split.labels)
    probs = np.mean([torch.from_numpy(o).softmax(-1).numpy() for o in outputs], axis=0)
    return compute_metrics(task_type, np.log(np.clip(probs, 1e-12, None)), split.labels)


@PROCEDURES.register("born_again")
class BornAgain(Procedure):
    """Born-Again networks: ``generations`` students of the teacher's size, each taught by the previous one."""

    uses = ("generations", "ensemble")
    sets = {"student.init": "first", "student.hidden_size": 0, "student.model": ""}
    sets_from_teacher = ("student.layers",)

    def teacher_settings(self, teacher_dims: Dims) -> dict[str, Any]:
        assert teacher_dims is not None
        return {"student.layers": teacher_dims[0]}

    def run(self, plan: Plan, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        assert teacher is not None
        procedure = plan.config.procedure
        backbone_path = resolve_model_path(teacher.backbone, kwargs.get("cache_dir"))
        log = kwargs.get("log", print)
        step = plan.step()
        current, results = teacher, []
        for generation in range(1, procedure.generations + 1):
            log(f"born_again: generation {generation}/{procedure.generations}")
            last = generation == procedure.generations
            # a fresh start from the pretrained backbone each generation (not from the teacher's fine-tuned weights)
            source = (load_classifier(backbone_path, task), teacher.backbone)
            result = distill_once(step, task, current, source=source, reference=teacher,
                                  **(kwargs if last else _quiet(kwargs)))
            results.append(result)
            # each generation's model is a new teacher: its output cache is keyed by its weights' hash
            current = _as_teacher(result, task, teacher, key="")
        metrics: dict[str, Any] = {"generation_dev_scores": [r.dev_score for r in results]}
        if procedure.ensemble and len(results) > 1:
            device = select_device(kwargs.get("device"))
            splits = encode_splits(task, teacher.tokenizer, plan.config.training.max_length)
            models, card = [r.model for r in results], task.card
            metrics.update(
                ensemble_dev_score=ensemble_metrics(models, splits["validation"], card.task_type, device)[card.metric],
                ensemble_test_score=ensemble_metrics(models, splits["test"], card.task_type, device)[card.metric])
            for model in models:
                model.to("cpu")
        return dataclasses.replace(results[-1], plan=plan, train_seconds=sum(r.train_seconds for r in results),
                                   procedure_metrics=metrics)


# ---------------------------------------------------------------------------------------------------------
# teacher-free procedures
# ---------------------------------------------------------------------------------------------------------
def virtual_teacher_logits(labels: np.ndarray, num_classes: int, *, target: str, epsilon: float,
                           correct_prob: float) -> np.ndarray:
    """Log-probabilities of the hand-made teacher: label smoothing ``(1 - eps) * onehot + eps / K``, or the
    virtual teacher (``correct_prob`` on the gold class, ``(1 - correct_prob) / (K - 1)`` on each other)."""
    labels = np.asarray(labels, dtype=np.int64)
    if target == "label_smoothing":
        probs = np.full((len(labels), num_classes), epsilon / num_classes)
        probs[np.arange(len(labels)), labels] += 1.0 - epsilon
    elif target == "virtual":
        probs = np.full((len(labels), num_classes), (1.0 - correct_prob) / max(1, num_classes - 1))
        probs[np.arange(len(labels)), labels] = correct_prob
    else:
        raise ConfigError(f"procedure.target={target!r} must be label_smoothing or virtual.")
    return np.log(np.clip(probs, 1e-8, None)).astype(np.float32)


@PROCEDURES.register("teacher_free")
class TeacherFree(Procedure):
    """Soft targets from a hand-made distribution; no teacher network is ever loaded."""

    uses = ("target", "epsilon", "correct_prob")
    needs_teacher = False
    supports_regression = False
    sets = _NO_TEACHER_STAGES

    def check(self, config: PipelineConfig, card: TaskCard, teacher_dims: Dims) -> None:
        if card.is_regression:
            raise ConfigError(f"procedure.kind='teacher_free' builds class distributions; task {card.name!r} is a "
                              "regression.")

    def run(self, plan: Plan, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        procedure, classes = plan.config.procedure, task.card.num_classes

        def targets(epoch: int, student: Any, train: EncodedSplit) -> np.ndarray:
            return virtual_teacher_logits(train.labels, classes, target=procedure.target, epsilon=procedure.epsilon,
                                          correct_prob=procedure.correct_prob)

        # a teacher given anyway is only the reference the student is scored against
        return distill_once(plan, task, None, soft_targets=targets, reference=teacher, **kwargs)


@PROCEDURES.register("self_distill")
class SelfDistill(Procedure):
    """The student's own predictions at the end of the previous epoch are its soft targets (labels only in
    epoch 1); no teacher network."""

    needs_teacher = False
    sets = _NO_TEACHER_STAGES

    def run(self, plan: Plan, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        device = select_device(kwargs.get("device"))

        def targets(epoch: int, student: Any, train: EncodedSplit) -> np.ndarray | None:
            if epoch == 0:
                return None
            return predict_logits(student, train, device, precision=plan.config.training.precision)

        return distill_once(plan, task, None, soft_targets=targets, reference=teacher, **kwargs)


@PROCEDURES.register("annealing_mate")
class AnnealingMATE(Procedure):
    """Annealing KD's two stages (``loss.kind=annealing``) with MATE-KD's adversarial samples in stage 1
    (``augment.policy=mate``): it fixes both, and the other ``loss.*`` / ``augment.mate_*`` parameters apply."""

    sets = {"loss.kind": "annealing", "augment.policy": "mate"}
