"""The procedures: each is a small class whose ``run`` composes one or more ``distill_once`` runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from autodistiller._paths import cache_root
from autodistiller._registry import Registry
from autodistiller.config import PipelineConfig, register_choices
from autodistiller.engine._data import EncodedSplit, encode_splits
from autodistiller.engine._device import select_device
from autodistiller.engine._distill import DistillResult, distill_once
from autodistiller.engine._loop import predict_logits
from autodistiller.errors import ConfigError
from autodistiller.models import (
    Teacher,
    count_parameters,
    load_classifier,
    load_teacher,
    resolve_model_path,
    save_teacher,
)
from autodistiller.tasks import Task, compute_metrics

__all__ = ["PROCEDURES", "Procedure", "assistant_key", "run_procedure", "virtual_teacher_logits"]

PROCEDURES: Registry[type[Procedure]] = Registry("procedure")
register_choices("procedure", PROCEDURES, selects="procedure.kind")

_ASSISTANTS = "assistants"
_TEACHER_META = "teacher.json"  # written last by save_teacher: a complete directory


class Procedure:
    """Base class. ``uses`` names the ``procedure.*`` parameters it reads (conditional search parameters)."""

    uses: ClassVar[tuple[str, ...]] = ()
    #: False: the procedure never loads or reads a teacher network
    needs_teacher: ClassVar[bool] = True

    def run(self, config: PipelineConfig, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        raise NotImplementedError


def run_procedure(config: PipelineConfig, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
    """Run ``config.procedure.kind`` (the keyword arguments are :func:`distill`'s)."""
    procedure = PROCEDURES.get(config.procedure.kind, key="procedure.kind")()
    if procedure.needs_teacher and teacher is None:
        raise ConfigError(f"procedure.kind={config.procedure.kind!r} needs a teacher; pass one, or use a teacher-free "
                          "procedure (teacher_free, self_distill).")
    return procedure.run(config, task, teacher, **kwargs)


@PROCEDURES.register("standard")
class Standard(Procedure):
    """One teacher -> student run."""

    def run(self, config: PipelineConfig, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        return distill_once(config, task, teacher, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# TAKD
# ---------------------------------------------------------------------------------------------------------
def _assistant_config(config: PipelineConfig) -> PipelineConfig:
    """The assistant's pipeline: the trial's, with the assistant's depth and the standard procedure."""
    return config.replace(**{"student.layers": config.procedure.assistant_layers, "student.hidden_size": 0,
                             "student.model": "", "procedure.kind": "standard"})


def assistant_key(config: PipelineConfig, teacher: Teacher) -> str:
    """Cache key of a TAKD assistant: the teacher and every setting that shapes the assistant (the student's own
    size and the procedure's other parameters do not)."""
    flat = _assistant_config(config).to_flat()
    flat = {k: v for k, v in flat.items() if not k.startswith("procedure.")}
    payload = json.dumps({"teacher": teacher.key, "task": teacher.task_name, "pipeline": flat}, sort_keys=True,
                         default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _as_teacher(result: DistillResult, task: Task, base: Teacher, key: str) -> Teacher:
    return Teacher(model=result.model, tokenizer=result.tokenizer, backbone=base.backbone, task_name=task.name,
                   training=result.config.training, key=key,
                   metrics={"dev_score": result.dev_score, "test_score": result.test_score, "metric": result.metric,
                            "latency_ms": result.latency_ms})


@PROCEDURES.register("takd")
class TeacherAssistant(Procedure):
    """Teacher -> assistant (``assistant_layers`` layers) -> student; the assistant is cached across trials."""

    uses = ("assistant_layers",)

    def assistant(self, config: PipelineConfig, task: Task, teacher: Teacher, **kwargs: Any) -> tuple[Teacher, bool]:
        """The cached assistant (``True``) or a newly distilled one (``False``)."""
        key = assistant_key(config, teacher)
        directory = cache_root(kwargs.get("cache_dir")) / _ASSISTANTS / f"{task.name}-{key}"
        log = kwargs.get("log", print)
        if (directory / _TEACHER_META).is_file():
            log(f"takd: cached assistant {directory}")
            return load_teacher(directory), True
        log(f"takd: distilling a {config.procedure.assistant_layers}-layer assistant")
        quiet = {**kwargs, "callbacks": ()}  # epoch callbacks (Ray reports) belong to the student's run
        result = distill_once(_assistant_config(config), task, teacher, **quiet)
        assistant = _as_teacher(result, task, teacher, key)
        save_teacher(assistant, directory, {"teacher_key": teacher.key,
                                            "assistant_layers": config.procedure.assistant_layers})
        return load_teacher(directory), False

    def run(self, config: PipelineConfig, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        assert teacher is not None
        teacher_layers = int(teacher.model.config.num_hidden_layers)
        layers = config.procedure.assistant_layers
        if not config.student.layers < layers < teacher_layers:
            raise ConfigError(f"procedure.assistant_layers={layers} must lie strictly between student.layers="
                              f"{config.student.layers} and the teacher's {teacher_layers} layers.")
        assistant, cached = self.assistant(config, task, teacher, **kwargs)
        result = distill_once(config, task, assistant, **kwargs)
        result.extra_scores.update(assistant_dev_score=assistant.dev_score, assistant_test_score=assistant.test_score,
                                   assistant_cached=float(cached))
        # scores and speed-up are reported against the real teacher, as in every other procedure
        result.teacher_dev_score, result.teacher_test_score = teacher.dev_score, teacher.test_score
        result.teacher_params = count_parameters(teacher.model)
        result.teacher_latency_ms = float(teacher.metrics.get("latency_ms", result.teacher_latency_ms))
        return result


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

    def run(self, config: PipelineConfig, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        assert teacher is not None
        procedure = config.procedure
        layers = int(teacher.model.config.num_hidden_layers)
        student_config = config.replace(**{"student.layers": layers, "student.hidden_size": 0, "student.model": "",
                                           "student.init": "first"})
        backbone_path = resolve_model_path(teacher.backbone, kwargs.get("cache_dir"))
        log = kwargs.get("log", print)
        current, results = teacher, []
        for generation in range(1, procedure.generations + 1):
            log(f"born_again: generation {generation}/{procedure.generations}")
            last = generation == procedure.generations
            run_kwargs = kwargs if last else {**kwargs, "callbacks": ()}
            # a fresh start from the pretrained backbone each generation (not from the teacher's fine-tuned weights)
            source = (load_classifier(backbone_path, task), teacher.backbone)
            result = distill_once(student_config, task, current, source=source, **run_kwargs)
            results.append(result)
            # each generation's model is a new teacher: its output cache is keyed by its weights' hash
            current = _as_teacher(result, task, teacher, key="")
        final = results[-1]
        final.config = config
        final.train_seconds = sum(r.train_seconds for r in results)
        final.extra_scores.update({f"generation_{i + 1}_dev_score": r.dev_score for i, r in enumerate(results)})
        final.teacher_dev_score, final.teacher_test_score = teacher.dev_score, teacher.test_score
        if procedure.ensemble and len(results) > 1:
            device = select_device(kwargs.get("device"))
            splits = encode_splits(task, teacher.tokenizer, config.training.max_length)
            metric = task.card.metric
            models = [r.model for r in results]
            final.extra_scores.update(
                ensemble_dev_score=ensemble_metrics(models, splits["validation"], task.card.task_type, device)[metric],
                ensemble_test_score=ensemble_metrics(models, splits["test"], task.card.task_type, device)[metric])
            for model in models:
                model.to("cpu")
        return final


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


def _check_classification(task: Task, kind: str) -> None:
    if task.card.is_regression:
        raise ConfigError(f"procedure.kind={kind!r} builds class distributions; task {task.name!r} is a regression.")


@PROCEDURES.register("teacher_free")
class TeacherFree(Procedure):
    """Soft targets from a hand-made distribution; no teacher network is ever loaded."""

    uses = ("target", "epsilon", "correct_prob")
    needs_teacher = False

    def run(self, config: PipelineConfig, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        _check_classification(task, "teacher_free")
        procedure, classes = config.procedure, task.card.num_classes

        def targets(epoch: int, student: Any, train: EncodedSplit) -> np.ndarray:
            return virtual_teacher_logits(train.labels, classes, target=procedure.target, epsilon=procedure.epsilon,
                                          correct_prob=procedure.correct_prob)

        return distill_once(config, task, None, soft_targets=targets, **kwargs)


@PROCEDURES.register("self_distill")
class SelfDistill(Procedure):
    """The student's own predictions at the end of the previous epoch are its soft targets (labels only in
    epoch 1); no teacher network."""

    needs_teacher = False

    def run(self, config: PipelineConfig, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        device = select_device(kwargs.get("device"))

        def targets(epoch: int, student: Any, train: EncodedSplit) -> np.ndarray | None:
            if epoch == 0:
                return None
            return predict_logits(student, train, device, precision=config.training.precision)

        return distill_once(config, task, None, soft_targets=targets, **kwargs)


@PROCEDURES.register("annealing_mate")
class AnnealingMATE(Procedure):
    """Annealing KD with MATE-KD's adversarial samples in stage 1 (``loss.kind`` and ``augment.policy`` are set
    to ``annealing`` and ``mate``; the other ``loss.*`` / ``augment.mate_*`` parameters apply)."""

    def run(self, config: PipelineConfig, task: Task, teacher: Teacher | None, **kwargs: Any) -> DistillResult:
        recipe = config.replace(**{"loss.kind": "annealing", "augment.policy": "mate"})
        result = distill_once(recipe, task, teacher, **kwargs)
        result.config = config
        return result

