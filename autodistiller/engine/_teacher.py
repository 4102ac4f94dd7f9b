"""Teacher fine-tuning, cached on disk by a hash of (backbone, task data, hyper-parameters)."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from typing import Any

import torch

from autodistiller._paths import cache_root
from autodistiller.config import TrainingConfig
from autodistiller.engine._callbacks import PrintProgress, TrainingProgress
from autodistiller.engine._device import seed_everything, select_device
from autodistiller.engine._inputs import truncation_note
from autodistiller.engine._loop import evaluate, train_model
from autodistiller.engine._vocabulary import reachable_tokens
from autodistiller.models import (
    DEFAULT_BACKBONE,
    TEACHER_META,
    TEACHER_TRAINING,
    Teacher,
    TeacherIntegrityError,
    count_parameters,
    load_classifier,
    load_teacher,
    measure_latency_ms,
    model_identity,
    model_inputs,
    resolve_model_path,
    save_teacher,
    teacher_key,
)
from autodistiller.prediction import hard_label_loss
from autodistiller.tasks import Task, encode_splits, subset_indices

__all__ = ["fine_tune_teacher"]


def fine_tune_teacher(
    task: Task,
    *,
    backbone: str = DEFAULT_BACKBONE,
    training: TrainingConfig = TEACHER_TRAINING,
    epochs: int | None = None,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    max_length: int | None = None,
    max_train_examples: int | None = None,
    seed: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    device: str | torch.device | None = None,
    log: Callable[[str], None] = print,
) -> Teacher:
    """Fine-tune ``backbone`` on ``task`` once; later calls with the same inputs load the cached teacher.

    ``epochs``, ``learning_rate``, ``batch_size``, ``max_length``, ``max_train_examples`` and ``seed`` (as the
    ``--teacher-*`` flags) replace those fields of ``training``; each is checked as the config checks it.
    """
    from transformers import AutoTokenizer

    knobs = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "max_length": max_length,
             "max_train_examples": max_train_examples, "seed": seed}
    training = dataclasses.replace(training, **{k: v for k, v in knobs.items() if v is not None})

    resolved = resolve_model_path(backbone, cache_dir)
    fingerprint = task.fingerprint()  # hashes every row: once
    key = teacher_key(model_identity(backbone, resolved), fingerprint, training)
    directory = cache_root(cache_dir) / "teachers" / f"{task.name}-{key}"
    if (directory / TEACHER_META).is_file() and not force:
        try:
            teacher = load_teacher(directory)
        except TeacherIntegrityError as damaged:  # the cache is ours: rebuild it (a --teacher-dir is not)
            log(f"teacher: cached {directory} is damaged ({damaged.problem}); fine-tuning it again")
        else:
            log(f"teacher: cached {directory} (dev {task.card.metric} {teacher.dev_score:.4f})")
            return teacher

    device = select_device(device)
    seed_everything(training.seed)
    tokenizer = AutoTokenizer.from_pretrained(resolved)
    model = load_classifier(resolved, task)
    splits = encode_splits(task, tokenizer, training.max_length)
    if training.max_train_examples:
        keep = subset_indices(splits["train"].labels, training.max_train_examples, seed=training.seed,
                              classification=not task.is_regression)
        splits["train"] = splits["train"].subset(keep)
    is_regression = task.is_regression
    log(f"teacher: fine-tuning {backbone} on {task.name} ({len(splits['train'])} examples, "
        f"{training.epochs} epochs) on {device}{truncation_note(splits['train'], training.max_length)}")

    def loss_fn(model: Any, batch: dict[str, torch.Tensor], step: Any) -> torch.Tensor:
        logits = model(**model_inputs(batch)).logits
        return hard_label_loss(logits, batch["labels"], is_regression=is_regression)

    # a bar (steps, loss, ETA) when the lines go to a terminal; else a line every 30 s between the epoch lines
    progress = TrainingProgress("teacher: ", log, bar=log is print and sys.stderr.isatty())
    outcome = train_model(model, splits["train"], splits["validation"], loss_fn, training,
                          task_type=task.card.task_type, metric=task.card.metric, device=device,
                          callbacks=[PrintProgress("teacher: ", progress.write)], progress=progress,
                          reachable_tokens=reachable_tokens(splits["train"].input_ids, splits["train"].pad_token_id))
    test = evaluate(model, splits["test"], task.card.task_type, device, training.precision)
    metrics = {
        "metric": task.card.metric,
        "dev": outcome.best_dev,
        "test": test,
        "dev_score": outcome.best_dev[task.card.metric],
        "test_score": test[task.card.metric],
        "best_epoch": outcome.best_epoch,
        "epochs_run": outcome.epochs_run,
        "train_seconds": outcome.train_seconds,
        "params": count_parameters(model),
        "latency_ms": measure_latency_ms(model, splits["validation"], "cpu"),
    }
    model.to("cpu").eval()
    teacher = Teacher(model=model, tokenizer=tokenizer, backbone=backbone, task_name=task.name, training=training,
                      metrics=metrics, path=directory, key=key)
    # a forced rebuild, or another process that won the race: replace the directory whole
    save_teacher(teacher, directory, {"backbone_path": resolved, "task_fingerprint": fingerprint}, replace=True)
    log(f"teacher: dev {task.card.metric} {metrics['dev_score']:.4f}, test {metrics['test_score']:.4f} "
        f"-> {directory}")
    return teacher
