"""``distill(config, task, teacher) -> DistillResult``: execute a :class:`Plan` for real.

``distill`` resolves the plan and hands it to its procedure; a procedure is made of :func:`distill_once`
runs, each one teacher -> student run composed of the plan's parts: the inputs, the student and intermediate
stage, the teacher's targets, the epochs' rows, the objective, the training loop and the scoring.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from autodistiller.augment import PolicyContext
from autodistiller.config import PipelineConfig
from autodistiller.engine._callbacks import EpochCallback
from autodistiller.engine._device import seed_everything, select_device
from autodistiller.engine._epochs import EpochData, SoftTargets, augmented_rows, with_soft_targets
from autodistiller.engine._inputs import SOURCE_INDEX, RunInputs, TeacherTargets, same_tokens, truncation_note
from autodistiller.engine._loop import TrainOutcome, evaluate, predict_logits, train_model
from autodistiller.engine._objective import DistillationObjective
from autodistiller.engine._plan import Plan
from autodistiller.engine._result import DistillResult
from autodistiller.engine._shared_cache import SharedTeacherCache
from autodistiller.engine._vocabulary import reachable_tokens
from autodistiller.errors import ConfigError
from autodistiller.intermediate import attention_scores, build_intermediate
from autodistiller.models import (
    Teacher,
    build_student,
    count_parameters,
    measure_latencies_ms,
    measure_latency_ms,
    name_labels,
)
from autodistiller.tasks import EncodedSplit, Task, encode_rows, encode_splits, majority_note

__all__ = ["distill", "distill_once"]


def distill(
    config: PipelineConfig | Plan,
    task: Task,
    teacher: Teacher | None,
    *,
    callbacks: Sequence[EpochCallback] = (),
    device: str | torch.device | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    teacher_cache: bool = True,
    shared_cache: SharedTeacherCache | None = None,
    log: Callable[[str], None] = print,
) -> DistillResult:
    """Train a student for real with the pipeline ``config`` and score it against ``teacher``.

    The config is resolved into a :class:`Plan` first (every check runs before any model loads), whose
    procedure runs it: ``standard`` is one teacher -> student run; ``takd``, ``born_again``, ``teacher_free``,
    ``self_distill``, ``annealing_mate`` are described in :mod:`autodistiller.procedures`. ``teacher`` may be
    ``None`` for the teacher-free procedures. ``callbacks`` get an :class:`EpochReport` after each epoch of the
    final student's training. ``shared_cache``: on a Ray cluster, where the teacher-output cache entries are
    shared between nodes (a search sets it; see :class:`SharedTeacherCache`).
    """
    plan = config if isinstance(config, Plan) else Plan.resolve(config, task.card, teacher)
    return plan.procedure.run(plan, task, teacher, callbacks=callbacks, device=device, cache_dir=cache_dir,
                              teacher_cache=teacher_cache, shared_cache=shared_cache, log=log)


def _check_teacher(teacher: Teacher | None, task: Task, soft_targets: SoftTargets | None) -> None:
    if teacher is None and soft_targets is None:
        raise ConfigError("distillation needs a teacher; only the teacher-free procedures (teacher_free, "
                          "self_distill) run without one.")
    if teacher is not None and teacher.task_name != task.name:
        raise ConfigError(f"the teacher was fine-tuned on {teacher.task_name!r}, not on {task.name!r}.")


def distill_once(
    plan: Plan,
    task: Task,
    teacher: Teacher | None,
    *,
    callbacks: Sequence[EpochCallback] = (),
    device: str | torch.device | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    teacher_cache: bool = True,
    shared_cache: SharedTeacherCache | None = None,
    log: Callable[[str], None] = print,
    source: tuple[Any, str] | None = None,
    soft_targets: SoftTargets | None = None,
    reference: Teacher | None = None,
) -> DistillResult:
    """One teacher -> student run of ``plan`` (the runs every procedure is made of).

    ``source`` replaces the model the student's layers are taken from (default: the teacher). ``soft_targets``
    replaces the teacher (which may then be ``None``): the student's targets come from it, epoch by epoch.
    ``reference`` is the teacher the result is scored against (default: ``teacher``; TAKD's student is taught
    by the assistant but compared with the real teacher).
    """
    started = time.perf_counter()
    _check_teacher(teacher, task, soft_targets)
    training = plan.config.training
    device = select_device(device)
    seed_everything(training.seed)
    inputs = RunInputs.prepare(plan, task, teacher, cache_dir=cache_dir, source=source)
    student, info = build_student(plan.config.student, inputs.source, source_name=inputs.source_name)
    name_labels(student, task)  # the card's class names, whatever the source model called them
    stage = build_intermediate(plan.config.intermediate, student, teacher.model) if teacher is not None else None
    shared_tokens = inputs.check_tokens(plan, stage)
    targets = TeacherTargets(plan, inputs, teacher, stage, shared_tokens=shared_tokens, use_cache=teacher_cache,
                             device=device, cache_dir=cache_dir, log=log, shared_cache=shared_cache)

    augment_started = time.perf_counter()
    epoch_data, tokens = _training_rows(plan, task, inputs, targets, student, soft_targets, device=device,
                                        cache_dir=cache_dir, log=log)
    augment_seconds = time.perf_counter() - augment_started
    log(f"student: {info.num_layers} layers, hidden {info.hidden_size}, from {info.source}"
        f"{' layers ' + str(list(info.initialised_from)) if info.initialised_from else ''} (0-based); "
        f"{count_parameters(student) / 1e6:.1f}M params; {len(inputs.keep)} train examples"
        f"{truncation_note(inputs.student_splits['train'], training.max_length)}; pipeline: {plan.describe()}")

    outcome = _train(plan, student, stage, targets, inputs, epoch_data, tokens, callbacks=callbacks, device=device)
    return _score(plan, task, teacher, reference or teacher, student, info, inputs, outcome, device=device,
                  train_seconds=time.perf_counter() - started, augment_seconds=augment_seconds)


def _training_rows(plan: Plan, task: Task, inputs: RunInputs, targets: TeacherTargets, student: Any,
                   soft_targets: SoftTargets | None, *, device: torch.device, cache_dir: Any,
                   log: Callable[[str], None]) -> tuple[EncodedSplit | Callable[[int], EncodedSplit], np.ndarray | None]:
    """The training rows, or a function of the epoch when they change (copies, policy rows, soft targets):
    with the teacher's logits (prediction-layer KD) or their rows in the cached split (intermediate stage).
    Also every token id they contain when that is known before training (``None`` when a policy adds rows or
    reads the embedding matrix itself): the word-embedding rows the student can train."""
    config, training = plan.config, plan.config.training
    train = inputs.student_splits["train"]
    teacher = targets.teacher
    if targets.stage is None and plan.loss.needs_teacher and teacher is not None:
        train = train.with_extra("teacher_logits", targets.training_logits())
    if targets.stage is not None and targets.cache is not None:
        train = train.with_extra(SOURCE_INDEX, np.arange(len(inputs.keep)))  # row of each example in the cache
    copies = None
    if config.augment.augments_inputs:
        logits_of = targets.logits_of if targets.stage is None and plan.loss.needs_teacher else None
        copies = augmented_rows(task, config.augment, inputs.keep, training, inputs.student_tokenizer,
                                inputs.teacher_tokenizer, logits_of, cache_dir=cache_dir, log=log)
    plan.policy.prepare(PolicyContext(
        loss=plan.loss, teacher=teacher.model if teacher is not None else None, student=student,
        tokenizer=inputs.student_tokenizer, device=device, seed=training.seed,
        is_regression=plan.card.is_regression, cache_dir=cache_dir, log=log, task=task, rows=inputs.keep,
        encode=lambda texts: encode_rows(texts, inputs.student_tokenizer, training.max_length),
        teacher_logits=targets.logits_of if teacher is not None else None,
        predict=lambda model, rows: predict_logits(model, rows, device)))
    tokens = None
    if not (plan.policy.adds_rows or plan.policy.reads_embedding_matrix):
        rows = [*train.input_ids, *(copies.input_ids if copies is not None else [])]
        tokens = reachable_tokens(rows, train.pad_token_id)
    if soft_targets is not None:
        return with_soft_targets(train, soft_targets, student), tokens
    if config.augment.augments_inputs or plan.policy.adds_rows:
        return EpochData(train, copies, config.augment, plan.policy, student), tokens
    return train, tokens


def _train(plan: Plan, student: Any, stage: Any, targets: TeacherTargets, inputs: RunInputs,
           epoch_data: EncodedSplit | Callable[[int], EncodedSplit], tokens: np.ndarray | None, *,
           callbacks: Sequence[EpochCallback], device: torch.device) -> TrainOutcome:
    """The training loop, with the teacher on the device while it runs online and raw attention scores on
    while a stage reads them (both put back afterwards)."""
    teacher = targets.teacher
    online = targets.online or plan.policy.needs_online_teacher
    extra_params: list[torch.nn.Parameter] = []
    with contextlib.ExitStack() as restore:
        if online:
            assert teacher is not None
            teacher.model.to(device).eval()
            restore.callback(teacher.model.to, "cpu")
        if stage is not None:
            stage.to(device)
            extra_params = [p for p in stage.parameters() if p.requires_grad]
            if targets.online:
                restore.enter_context(attention_scores(teacher.model, stage.needs_attentions))
            restore.enter_context(attention_scores(student, stage.needs_attentions))
        return train_model(student, epoch_data, inputs.student_splits["validation"],
                           DistillationObjective(plan, stage, targets), plan.config.training,
                           task_type=plan.card.task_type, metric=plan.card.metric, device=device,
                           callbacks=callbacks, extra_params=extra_params + plan.policy.parameters(),
                           reachable_tokens=tokens)


def _score(plan: Plan, task: Task, teacher: Teacher | None, reference: Teacher | None, student: Any, info: Any,
           inputs: RunInputs, outcome: TrainOutcome, *, device: torch.device, train_seconds: float,
           augment_seconds: float) -> DistillResult:
    """Test score, size and latency against the ``reference`` teacher (timed side by side when both read the
    same tokens)."""
    card, training = plan.card, plan.config.training
    test = evaluate(student, inputs.student_splits["test"], card.task_type, device, training.precision)
    student.to("cpu").eval()
    dev_rows = inputs.student_splits["validation"]
    if reference is None:
        latency, reference_latency = measure_latency_ms(student, dev_rows), float("nan")
    else:
        reference_rows = (inputs.teacher_splits if reference is teacher else
                          encode_splits(task, reference.tokenizer, training.max_length))["validation"]
        if same_tokens(reference_rows, dev_rows):  # timed side by side, turn about
            latency, reference_latency = measure_latencies_ms([student, reference.model], dev_rows)
        else:
            latency = measure_latency_ms(student, dev_rows)
            reference_latency = measure_latency_ms(reference.model, reference_rows)
    if card.label_names and not card.is_regression:  # the saved student names its classes, whatever its source did
        student.config.id2label = dict(enumerate(card.label_names))
        student.config.label2id = {name: i for i, name in enumerate(card.label_names)}
    at_majority = majority_note(task, student_dev_score=outcome.best_dev.get(card.metric),
                                teacher_dev_score=reference.dev_score if reference is not None else None)
    result = DistillResult(
        plan=plan, task_name=task.name, task_family=card.family, metric=card.metric, dev=outcome.best_dev,
        test=test,
        teacher_dev_score=reference.dev_score if reference is not None else float("nan"),
        teacher_test_score=reference.test_score if reference is not None else float("nan"),
        student_params=count_parameters(student),
        teacher_params=count_parameters(reference.model) if reference is not None else 0,
        latency_ms=latency, teacher_latency_ms=reference_latency, train_seconds=train_seconds,
        epochs_run=outcome.epochs_run, best_epoch=outcome.best_epoch, stopped_by=outcome.stopped_by,
        train_examples=len(inputs.keep), augment_seconds=augment_seconds, student_info=info,
        history=[r.to_dict() for r in outcome.history], model=student, tokenizer=inputs.student_tokenizer,
        notes=[*task.notes, *([at_majority] if at_majority else [])], split=task.split)
    if not np.isfinite(result.dev_score):
        raise FloatingPointError(f"student dev score is {result.dev_score}.")
    return result
