"""The rows each epoch trains on: the training subset, its augmented copies, a policy's rows, soft targets."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from autodistiller.augment import LABELLED, TrainingPolicy, augmented_copies, build_pipeline
from autodistiller.config import AugmentConfig, TrainingConfig
from autodistiller.tasks import EncodedSplit, Task, encode_rows

__all__ = ["EpochData", "SoftTargets", "augmented_rows", "with_soft_targets"]

#: soft targets of a teacher-free run: (epoch, student, training rows) -> logits per row, or None (labels only)
SoftTargets = Callable[[int, Any, EncodedSplit], "np.ndarray | None"]


def augmented_rows(task: Task, cfg: AugmentConfig, keep: np.ndarray, training: TrainingConfig,
                   student_tokenizer: Any, teacher_tokenizer: Any,
                   teacher_logits_of: Callable[[EncodedSplit], np.ndarray] | None, *, cache_dir: Any,
                   log: Callable[[str], None]) -> EncodedSplit:
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


def with_soft_targets(train: EncodedSplit, soft_targets: SoftTargets, student: Any) -> Callable[[int], EncodedSplit]:
    """Epoch ``e``'s rows carry the soft targets of epoch ``e`` (teacher-free procedures)."""

    def epoch_rows(epoch: int) -> EncodedSplit:
        logits = soft_targets(epoch, student, train)
        return train if logits is None else train.with_extra("teacher_logits", np.asarray(logits, dtype=np.float32))

    return epoch_rows


class EpochData:
    """Epoch ``e``'s training rows: the training subset, plus the copies generated for epoch ``e`` and the
    policy's rows (Minimax-kNN's neighbours, re-selected with the current student)."""

    def __init__(self, train: EncodedSplit, copies: EncodedSplit | None, cfg: AugmentConfig, policy: TrainingPolicy,
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
            # the policy's teacher logits are redundant where the teacher runs online (an intermediate stage
            # scores every batch itself): keep the extras the training rows carry
            kept = {k: v for k, v in extra.extras.items() if k in self.train.extras}
            extra = EncodedSplit(extra.input_ids, labels, extra.pad_token_id, extra.token_type_ids, kept)
            parts.append(self._prepare(extra, -1 - np.arange(len(extra))))  # each its own group
        return EncodedSplit.concat(parts)
