"""``distill(pipeline_config, task, teacher) -> DistillResult``: one real teacher -> student run."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autodistiller.augment import augmented_copies, build_pipeline
from autodistiller.augment._policies import LABELLED, PolicyContext, TrainingPolicy, build_policy
from autodistiller.config import PipelineConfig
from autodistiller.engine._callbacks import EpochCallback
from autodistiller.engine._data import EncodedSplit, encode_rows, encode_splits, subset_indices
from autodistiller.engine._device import seed_everything, select_device
from autodistiller.engine._loop import HOST_PREFIX, evaluate, predict_logits, train_model
from autodistiller.engine._teacher_cache import teacher_output_cache
from autodistiller.errors import ConfigError
from autodistiller.intermediate import Representations, attention_scores, build_intermediate, representations
from autodistiller.models import (
    DEFAULT_BACKBONE,
    StudentInfo,
    Teacher,
    build_student,
    count_parameters,
    load_classifier,
    measure_latencies_ms,
    measure_latency_ms,
    model_inputs,
    resolve_model_path,
)
from autodistiller.prediction import StepInfo, build_prediction_loss
from autodistiller.tasks import Task

__all__ = ["DistillResult", "SoftTargets", "distill", "distill_once", "teacher_outputs"]


@dataclass
class DistillResult:
    """What one distillation run produced: scores, size, speed and cost (the metric columns of a trial row)."""

    config: PipelineConfig
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
    #: scores of other models the procedure produced (``assistant_dev_score``, ``ensemble_test_score``, ...)
    extra_scores: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)

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

    def metrics(self) -> dict[str, Any]:
        """Flat metric columns (no config): what a trial row records."""
        return {
            "metric": self.metric,
            "student_dev_score": self.dev_score,
            "student_test_score": self.test_score,
            "teacher_dev_score": self.teacher_dev_score,
            "teacher_test_score": self.teacher_test_score,
            "score_retained": self.score_retained,
            "student_params": self.student_params,
            "teacher_params": self.teacher_params,
            "latency_ms": self.latency_ms,
            "teacher_latency_ms": self.teacher_latency_ms,
            "speedup": self.teacher_latency_ms / self.latency_ms if self.latency_ms else float("nan"),
            "train_seconds": self.train_seconds,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "stopped_by": self.stopped_by,
            "train_examples": self.train_examples,
            "augment_seconds": self.augment_seconds,
            **self.extra_scores,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task_name,
            "task_family": self.task_family,
            "pipeline": self.config.to_flat(),
            **self.metrics(),
            "dev": self.dev,
            "test": self.test,
            "student": {"layers": self.student_info.num_layers, "hidden_size": self.student_info.hidden_size,
                        "initialised_from": list(self.student_info.initialised_from),
                        "source": self.student_info.source},
            "history": self.history,
        }

    def summary(self) -> str:
        m = self.metric
        student = (f"  student: {self.dev_score:.4f} / {self.test_score:.4f}  "
                   f"{self.student_params / 1e6:.1f}M params  {self.latency_ms:.2f} ms/example\n")
        trained = (f"trained {self.train_seconds:.0f}s, {self.epochs_run} epochs (best {self.best_epoch})"
                   + "".join(f"; {k} {v:.4f}" for k, v in self.extra_scores.items()))
        if not self.teacher_params:  # a teacher-free procedure
            return f"task {self.task_name} ({m}, dev / test), no teacher\n{student}  {trained}"
        return (
            f"task {self.task_name} ({m}, dev / test)\n"
            f"  teacher: {self.teacher_dev_score:.4f} / {self.teacher_test_score:.4f}  "
            f"{self.teacher_params / 1e6:.1f}M params  {self.teacher_latency_ms:.2f} ms/example\n"
            f"{student}"
            f"  retained {self.score_retained:.1%} of the teacher's dev score, "
            f"{self.teacher_params / self.student_params:.1f}x smaller, "
            f"{self.teacher_latency_ms / self.latency_ms:.1f}x faster; {trained}"
        )

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the student model, its tokenizer, ``pipeline.yaml`` and ``result.json`` to ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.save_pretrained(directory / "student")
        if self.tokenizer is not None:
            self.tokenizer.save_pretrained(directory / "student")
        self.config.to_yaml(directory / "pipeline.yaml")
        (directory / "result.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return directory


def teacher_outputs(teacher_model: Any, batch: dict[str, torch.Tensor], *, attentions: bool = False
                    ) -> Representations:
    """The teacher's logits, hidden states (and attention scores) on ``batch``, computed online.

    The teacher stays in eval mode, without gradients. This is the one place the intermediate stage reads the
    teacher, so a cache of teacher outputs can replace it.
    """
    with torch.no_grad():
        out = teacher_model(**model_inputs(batch), output_hidden_states=True, output_attentions=attentions)
    return representations(out, batch["attention_mask"])


#: row of each example in the cached full training split (stays on the host: no device sync to read it)
_SOURCE_INDEX = HOST_PREFIX + "source_index"


def _check_augmentation(config: PipelineConfig, policy: TrainingPolicy, loss: Any, card: Any) -> None:
    """Combinations that cannot work fail here, before any model is loaded."""
    if policy.needs_teacher and not loss.needs_teacher:
        raise ConfigError(f"augment.policy={policy.name!r} trains on samples without a gold label, which only a "
                          f"teacher can score; loss.kind={config.loss.kind!r} has no teacher term. Use kl, mse or "
                          "annealing.")
    policy.check_task(card)


def _augmented_rows(task: Task, cfg: Any, keep: np.ndarray, training: Any, student_tokenizer: Any,
                    teacher_tokenizer: Any, teacher_logits_of: Callable[[EncodedSplit], np.ndarray] | None, *,
                    cache_dir: Any, log: Callable[[str], None]) -> EncodedSplit:
    """Every epoch's augmented copies of the training rows, tokenized, with the teacher's logits when the loss
    reads cached logits. Generated once per (task, pipeline, parameters, copies, seed) and cached on disk."""
    options: dict[str, dict[str, Any]] = {
        "contextual": {"mlm": cfg.mlm or None, "cache_dir": cache_dir, "max_length": training.max_length},
        "back_translation": {"max_length": training.max_length},  # no use translating what is truncated
    }
    if cfg.translators:
        to_pivot, from_pivot = (name.strip() for name in cfg.translators.split(","))
        options["back_translation"].update(to_pivot=to_pivot, from_pivot=from_pivot)
    pipeline = build_pipeline(cfg.pipeline, params=dataclasses.asdict(cfg), options=options)
    per_epoch = cfg.copies * cfg.repeated_aug
    data = augmented_copies(task, pipeline, copies=per_epoch * training.epochs, seed=training.seed,
                            cache_dir=cache_dir, rows=keep, log=log)
    texts = [str(t) for t in data["text"]]
    pairs = [str(t) for t in data["text_pair"]] if "text_pair" in data.column_names else None
    labels = np.asarray(data["label"])
    rows = encode_rows(texts, student_tokenizer, training.max_length, labels=labels, text_pairs=pairs)
    rows = rows.with_extra("copy", np.asarray(data["copy"], dtype=np.int64))
    # the position of each copy's source in the training subset: its repeated-augmentation group
    rows = rows.with_extra("group", np.searchsorted(keep, np.asarray(data["source_index"], dtype=np.int64)))
    if teacher_logits_of is not None:
        teacher_rows = rows if teacher_tokenizer is student_tokenizer else encode_rows(
            texts, teacher_tokenizer, training.max_length, labels=labels, text_pairs=pairs)
        rows = rows.with_extra("teacher_logits", teacher_logits_of(teacher_rows))
    return rows


def _check_teacher_free(config: PipelineConfig) -> None:
    if config.intermediate.objective != "none":
        raise ConfigError(f"procedure.kind={config.procedure.kind!r} has no teacher network, so it has no hidden "
                          f"states for intermediate.objective={config.intermediate.objective!r}; set it to none.")
    if config.augment.policy != "none" or config.augment.augments_inputs:
        raise ConfigError(f"procedure.kind={config.procedure.kind!r} has no teacher to score augmented samples; "
                          "set augment.pipeline and augment.policy to none.")


def _with_soft_targets(train: EncodedSplit, soft_targets: SoftTargets, student: Any
                       ) -> Callable[[int], EncodedSplit]:
    def epoch_rows(epoch: int) -> EncodedSplit:
        logits = soft_targets(epoch, student, train)
        return train if logits is None else train.with_extra("teacher_logits", np.asarray(logits, dtype=np.float32))

    return epoch_rows


class _EpochData:
    """Epoch ``e``'s training rows: the training subset, plus the copies generated for epoch ``e`` and the
    policy's rows (Minimax-kNN's neighbours, re-selected with the current student)."""

    def __init__(self, train: EncodedSplit, copies: EncodedSplit | None, cfg: Any, policy: TrainingPolicy,
                 student: Any) -> None:
        self.per_epoch = cfg.copies * cfg.repeated_aug
        self.grouped = cfg.repeated_aug > 1
        self.policy, self.student = policy, student
        self.with_labelled = policy.adds_rows
        self.train = self._prepare(train, np.arange(len(train)))
        self.copies = copies

    def _prepare(self, part: EncodedSplit, group: np.ndarray) -> EncodedSplit:
        if self.grouped:
            part = part.with_extra("group", group)
        if self.with_labelled and LABELLED not in part.extras:
            part = part.with_extra(LABELLED, np.ones(len(part), dtype=np.bool_))
        return part

    def __call__(self, epoch: int) -> EncodedSplit:
        parts = [self.train]
        if self.copies is not None:
            copy = self.copies.extras["copy"]
            rows = np.flatnonzero((copy >= epoch * self.per_epoch) & (copy < (epoch + 1) * self.per_epoch))
            part = self.copies.subset(rows)
            group = part.extras["group"]
            part.extras = {k: v for k, v in part.extras.items() if k not in ("copy", "group")}
            parts.append(self._prepare(part, group))
        extra = self.policy.epoch_rows(epoch, self.student)
        if extra is not None:
            labels = extra.labels.astype(self.train.labels.dtype)
            extra = EncodedSplit(extra.input_ids, labels, extra.pad_token_id, extra.token_type_ids, extra.extras)
            parts.append(self._prepare(extra, -1 - np.arange(len(extra))))  # each its own group
        return EncodedSplit.concat(parts)


def _partly_labelled_loss(loss: Any, logits: torch.Tensor, teacher_logits: torch.Tensor | None,
                          batch: dict[str, torch.Tensor], step: StepInfo, weight: float) -> torch.Tensor:
    """The configured loss on rows with a gold label, its teacher term alone (times ``weight``) on the others;
    each part weighted by its share of the batch so the scale matches an all-labelled batch."""
    host = batch[LABELLED].numpy()  # on the host: row indices without a device sync (boolean masks would sync)
    n = float(len(host))
    device = logits.device
    rows = torch.from_numpy(np.flatnonzero(host)).to(device, non_blocking=True)
    others = torch.from_numpy(np.flatnonzero(~host)).to(device, non_blocking=True)
    total = logits.new_zeros((), dtype=torch.float32)
    if len(rows):
        part_teacher = teacher_logits.index_select(0, rows) if teacher_logits is not None else None
        total = total + loss(logits.index_select(0, rows), part_teacher, batch["labels"].index_select(0, rows),
                             step) * (len(rows) / n)
    if len(others) and teacher_logits is not None:
        soft = loss.soft_term(logits.index_select(0, others), teacher_logits.index_select(0, others), step)
        if soft is not None:
            total = total + weight * soft * (len(others) / n)
    return total


def _same_tokens(a: EncodedSplit, b: EncodedSplit) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a.input_ids, b.input_ids, strict=True))


def distill(
    config: PipelineConfig,
    task: Task,
    teacher: Teacher | None,
    *,
    callbacks: Sequence[EpochCallback] = (),
    device: str | torch.device | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    teacher_cache: bool = True,
    log: Callable[[str], None] = print,
) -> DistillResult:
    """Train a student for real with the pipeline ``config`` and score it against ``teacher``.

    ``config.procedure.kind`` chooses the procedure (``standard``: one teacher -> student run; ``takd``,
    ``born_again``, ``teacher_free``, ``self_distill``, ``annealing_mate``: see :mod:`autodistiller.procedures`).
    ``teacher`` may be ``None`` for the teacher-free procedures. ``callbacks`` get an :class:`EpochReport` after
    each epoch (of the final student's training).
    """
    from autodistiller.procedures import run_procedure

    return run_procedure(config, task, teacher, callbacks=callbacks, device=device, cache_dir=cache_dir,
                         teacher_cache=teacher_cache, log=log)


#: soft targets of a teacher-free run: (epoch, student, training rows) -> logits per row, or None (labels only)
SoftTargets = Callable[[int, Any, EncodedSplit], "np.ndarray | None"]


def distill_once(
    config: PipelineConfig,
    task: Task,
    teacher: Teacher | None,
    *,
    callbacks: Sequence[EpochCallback] = (),
    device: str | torch.device | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    teacher_cache: bool = True,
    log: Callable[[str], None] = print,
    source: tuple[Any, str] | None = None,
    soft_targets: SoftTargets | None = None,
) -> DistillResult:
    """One teacher -> student run (the ``standard`` procedure; the other procedures are made of these).

    Prediction-layer KD: the teacher is fixed and in eval mode, so its logits on the (un-augmented) training set
    are computed once (shared teacher-output cache) and reused every epoch. With an intermediate objective the
    teacher's hidden states and attention scores come from the cache too, or the teacher runs online each step
    (:func:`teacher_outputs`) when the rows change (augmentation); the loss is ``prediction loss + beta *
    intermediate loss`` and the objective's own parameters train with the student. ``source`` replaces the model
    the student's layers are taken from (default: the teacher). ``soft_targets`` replaces the teacher (which may
    then be ``None``): the student's targets come from it, epoch by epoch.
    """
    started = time.perf_counter()
    card = task.card
    if teacher is None and soft_targets is None:
        raise ConfigError("distillation needs a teacher; only the teacher-free procedures (teacher_free, "
                          "self_distill) run without one.")
    if teacher is not None and teacher.task_name != task.name:
        raise ConfigError(f"the teacher was fine-tuned on {teacher.task_name!r}, not on {task.name!r}.")
    loss = build_prediction_loss(config.loss, is_regression=card.is_regression)  # bad combos fail before work
    augment_cfg = config.augment
    policy = build_policy(augment_cfg)
    _check_augmentation(config, policy, loss, card)
    training = config.training
    device = select_device(device)
    seed_everything(training.seed)

    if teacher is None:
        _check_teacher_free(config)
        from transformers import AutoTokenizer

        backbone = config.student.model or DEFAULT_BACKBONE
        path = resolve_model_path(backbone, cache_dir)
        teacher_tokenizer = AutoTokenizer.from_pretrained(path)
        source = source or (load_classifier(path, task), backbone)
    else:
        teacher_tokenizer = teacher.tokenizer
    teacher_model = teacher.model if teacher is not None else None
    teacher_splits = encode_splits(task, teacher_tokenizer, training.max_length)
    keep = subset_indices(teacher_splits["train"].labels, training.max_train_examples, seed=training.seed,
                          classification=not card.is_regression)
    teacher_train = teacher_splits["train"].subset(keep)

    if config.student.model and teacher is not None:
        from transformers import AutoTokenizer

        student_path = resolve_model_path(config.student.model, cache_dir)
        student_tokenizer = AutoTokenizer.from_pretrained(student_path)
        student_splits = encode_splits(task, student_tokenizer, training.max_length)
        student_splits["train"] = student_splits["train"].subset(keep)
        source, source_name = load_classifier(student_path, task), config.student.model
    else:
        student_tokenizer, student_splits = teacher_tokenizer, {**teacher_splits, "train": teacher_train}
        source, source_name = source or (teacher_model, "teacher")

    train = student_splits["train"]
    student, info = build_student(config.student, source, source_name=source_name)
    stage = build_intermediate(config.intermediate, student, teacher_model) if teacher is not None else None
    # Only the intermediate stage and some policies need the student to read the teacher's tokens; prediction-
    # layer KD pairs examples, not tokens (so it keeps the full-split teacher cache with another tokenizer).
    needs_teacher_tokens = stage is not None or policy.needs_shared_vocabulary
    shared_tokens = (not needs_teacher_tokens or student_tokenizer is teacher_tokenizer
                     or _same_tokens(train, teacher_train))
    if policy.needs_shared_vocabulary and not shared_tokens:
        raise ConfigError(f"augment.policy={policy.name!r} feeds teacher and student the same tokens, but the student "
                          f"({config.student.model}) tokenizes differently from the teacher; build the student from "
                          "the teacher (student.model empty) or use augment.policy=none.")
    if stage is not None and stage.token_level and not shared_tokens:
        raise ConfigError(f"intermediate.objective={config.intermediate.objective!r} compares token sequences, "
                          f"but the student ({config.student.model}) tokenizes differently from the teacher; use a "
                          "[CLS]-level objective (pkd, or an MI objective with critic mlp or bilinear).")
    if stage is not None and augment_cfg.augments_inputs and not shared_tokens:
        raise ConfigError("augmented copies with an intermediate objective need a student that shares the "
                          "teacher's tokenizer (the teacher runs online on the copies).")
    adds_rows = augment_cfg.augments_inputs or policy.adds_rows

    # The teacher's outputs on the training split are the same in every trial: read them from the shared cache
    # (computed once); without it (disabled, or too large) the teacher runs here or online each step. With an
    # intermediate objective and augmented rows (which no cache of the training split holds) it runs online.
    cache = None
    if (teacher is not None and teacher_cache and (loss.needs_teacher or stage is not None) and shared_tokens
            and not (stage and adds_rows)):
        cache = teacher_output_cache(
            teacher.model, teacher_splits["train"], teacher_key=teacher.key, hidden=stage is not None,
            attentions=stage is not None and stage.needs_attentions, cache_dir=cache_dir, device=device,
            precision=training.precision, log=log, attention_context=lambda: attention_scores(teacher.model))

    def teacher_logits_of(split: EncodedSplit) -> np.ndarray:
        """The teacher's logits on new rows (augmented copies, retrieved sentences): content-keyed cache."""
        if teacher_cache:
            entry = teacher_output_cache(teacher.model, split, teacher_key=teacher.key, cache_dir=cache_dir,
                                         device=device, precision=training.precision, log=log)
            assert entry is not None  # logits alone always fit
            return np.asarray(entry.batch_logits(np.arange(len(split))), dtype=np.float32)
        placed = next(teacher.model.parameters()).device
        logits = predict_logits(teacher.model.to(device), split, device, precision=training.precision)
        teacher.model.to(placed)
        return logits

    if stage is None and loss.needs_teacher and teacher is not None:
        teacher_logits = cache.batch_logits(keep) if cache is not None else teacher_logits_of(teacher_train)
        train = train.with_extra("teacher_logits", teacher_logits)
    if stage is not None and cache is not None:
        train = train.with_extra(_SOURCE_INDEX, keep)  # row of each example in the cached (full) split

    augment_started = time.perf_counter()
    copies = None
    if augment_cfg.augments_inputs:
        copies = _augmented_rows(task, augment_cfg, keep, training, student_tokenizer, teacher_tokenizer,
                                 teacher_logits_of if stage is None and loss.needs_teacher else None,
                                 cache_dir=cache_dir, log=log)
    online_teacher = (stage is not None and cache is None) or policy.needs_online_teacher
    context = PolicyContext(
        loss=loss, teacher=teacher_model, student=student, tokenizer=student_tokenizer, device=device,
        seed=training.seed, is_regression=card.is_regression, cache_dir=cache_dir, log=log,
        task=task, rows=keep,
        encode=lambda texts: encode_rows(texts, student_tokenizer, training.max_length),
        teacher_logits=teacher_logits_of)
    if online_teacher:
        teacher_model.to(device).eval()
    policy.prepare(context)
    augment_seconds = time.perf_counter() - augment_started
    epoch_data: EncodedSplit | Callable[[int], EncodedSplit] = (
        _EpochData(train, copies, augment_cfg, policy, student) if adds_rows else train)
    if soft_targets is not None:
        epoch_data = _with_soft_targets(train, soft_targets, student)

    inter = config.intermediate
    log(f"student: {info.num_layers} layers, hidden {info.hidden_size}, from {info.source}"
        f"{' layers ' + str([i + 1 for i in info.initialised_from]) if info.initialised_from else ''}; "
        f"{count_parameters(student) / 1e6:.1f}M params; loss {config.loss.kind}; "
        + (f"intermediate {inter.objective} ({inter.mapping} mapping, beta {inter.beta:g}); " if stage else "")
        + (f"augment {augment_cfg.pipeline} / {augment_cfg.policy}; " if adds_rows or policy.name != "none" else "")
        + f"{len(train)} train examples")

    def teacher_target(batch: dict[str, torch.Tensor], attentions: bool) -> Representations:
        if cache is not None:
            return cache.representations(batch[_SOURCE_INDEX].numpy(), batch["attention_mask"])
        if shared_tokens:
            return teacher_outputs(teacher.model, batch, attentions=attentions)
        rows = teacher_train.collate(batch["index"].cpu().numpy())  # the teacher reads its own tokenization
        return teacher_outputs(teacher.model, {k: v.to(batch["input_ids"].device) for k, v in rows.items()},
                               attentions=attentions)

    def compute_loss(model: Any, batch: dict[str, torch.Tensor], step: StepInfo) -> torch.Tensor:
        attentions = stage is not None and stage.needs_attentions
        out = model(**model_inputs(batch), output_hidden_states=stage is not None, output_attentions=attentions)
        target = teacher_target(batch, attentions) if stage is not None else None
        if target is not None:
            teacher_logits = target.logits if loss.needs_teacher else None
        else:
            teacher_logits = batch.get("teacher_logits")
        if teacher_logits is None and loss.needs_teacher:  # no targets yet (self-distillation's first epoch)
            total = loss.hard(out.logits, batch["labels"])
        elif LABELLED in batch:
            total = _partly_labelled_loss(loss, out.logits, teacher_logits, batch, step, augment_cfg.weight)
        else:
            total = loss(out.logits, teacher_logits, batch["labels"], step)
        if stage is not None:
            assert target is not None
            total = total + stage.beta * stage(representations(out, batch["attention_mask"]), target)
        return policy.loss(model, batch, out.logits, teacher_logits, total, step)

    extra_params: list[torch.nn.Parameter] = []
    with contextlib.ExitStack() as restore:
        if online_teacher:
            restore.callback(teacher_model.to, "cpu")
        if stage is not None:
            stage.to(device)
            extra_params = [p for p in stage.parameters() if p.requires_grad]
            if cache is None:  # the teacher runs online each step
                restore.enter_context(attention_scores(teacher.model, stage.needs_attentions))
            # Raw attention scores only while training; the model gets its attention implementation back.
            restore.enter_context(attention_scores(student, stage.needs_attentions))
        outcome = train_model(student, epoch_data, student_splits["validation"], compute_loss, training,
                              task_type=card.task_type, metric=card.metric, device=device, callbacks=callbacks,
                              extra_params=extra_params + policy.parameters())
    test = evaluate(student, student_splits["test"], card.task_type, device, training.precision)
    student.to("cpu").eval()
    # Student and teacher timed side by side (turn about on the same examples): a fair speed-up on a busy machine.
    if teacher is None:
        latency, teacher_latency = measure_latency_ms(student, student_splits["validation"]), float("nan")
    elif student_tokenizer is teacher.tokenizer:
        latency, teacher_latency = measure_latencies_ms([student, teacher.model], student_splits["validation"])
    else:
        latency = measure_latency_ms(student, student_splits["validation"])
        teacher_latency = measure_latency_ms(teacher.model, teacher_splits["validation"])
    result = DistillResult(
        config=config,
        task_name=task.name,
        task_family=card.family,
        metric=card.metric,
        dev=outcome.best_dev,
        test=test,
        teacher_dev_score=teacher.dev_score if teacher is not None else float("nan"),
        teacher_test_score=teacher.test_score if teacher is not None else float("nan"),
        student_params=count_parameters(student),
        teacher_params=count_parameters(teacher_model) if teacher_model is not None else 0,
        latency_ms=latency,
        teacher_latency_ms=teacher_latency,
        train_seconds=time.perf_counter() - started,
        epochs_run=outcome.epochs_run,
        best_epoch=outcome.best_epoch,
        stopped_by=outcome.stopped_by,
        train_examples=len(train),
        augment_seconds=augment_seconds,
        student_info=info,
        history=[r.to_dict() for r in outcome.history],
        model=student,
        tokenizer=student_tokenizer,
    )
    if not np.isfinite(result.dev_score):
        raise FloatingPointError(f"student dev score is {result.dev_score}.")
    return result
