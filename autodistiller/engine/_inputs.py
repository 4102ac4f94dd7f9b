"""What a run reads: the tokenized splits of teacher and student, and the teacher's outputs as targets."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from autodistiller.engine._loop import HOST_PREFIX, predict_logits
from autodistiller.engine._plan import Plan
from autodistiller.engine._shared_cache import SharedTeacherCache
from autodistiller.engine._teacher_cache import TeacherOutputCache, teacher_output_cache
from autodistiller.errors import ConfigError
from autodistiller.intermediate import Representations, attention_scores, representations
from autodistiller.models import (
    DEFAULT_BACKBONE,
    Teacher,
    load_classifier,
    model_inputs,
    resolve_model_path,
)
from autodistiller.tasks import EncodedSplit, Task, encode_splits, subset_indices

__all__ = ["RunInputs", "TeacherTargets", "SOURCE_INDEX", "same_tokens", "teacher_outputs", "truncation_note"]

#: row of each example in the cached training rows (stays on the host: no device sync to read it)
SOURCE_INDEX = HOST_PREFIX + "source_index"


def teacher_outputs(teacher_model: Any, batch: dict[str, torch.Tensor], *, attentions: bool = False
                    ) -> Representations:
    """The teacher's logits, hidden states (and attention scores) on ``batch``, computed online.

    The teacher stays in eval mode, without gradients. This is the one place the intermediate stage reads the
    teacher, so a cache of teacher outputs can replace it.
    """
    with torch.no_grad():
        out = teacher_model(**model_inputs(batch), output_hidden_states=True, output_attentions=attentions)
    return representations(out, batch["attention_mask"])


def _tokenizer(name: str, cache_dir: Any) -> tuple[Any, str]:
    from transformers import AutoTokenizer

    path = resolve_model_path(name, cache_dir)
    return AutoTokenizer.from_pretrained(path), path


def truncation_note(split: EncodedSplit, max_length: int) -> str:
    """``"; 12 of them (0.6%) longer than max_length=64 tokens and cut"``, or "" when none was cut (or it is
    not known): the share a user should hear about before trusting a score."""
    cut = split.truncated_count
    if not cut:
        return ""
    return f"; {cut} of them ({cut / len(split):.1%}) longer than max_length={max_length} tokens and cut"


def same_tokens(a: EncodedSplit, b: EncodedSplit) -> bool:
    """Whether two tokenizations of the same rows are identical."""
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a.input_ids, b.input_ids, strict=True))


@dataclass
class RunInputs:
    """The splits as the teacher and the student tokenize them, the training subset (``keep``: rows of the
    full training split), and the model the student's layers come from."""

    teacher_tokenizer: Any
    student_tokenizer: Any
    teacher_splits: dict[str, EncodedSplit]
    student_splits: dict[str, EncodedSplit]
    keep: np.ndarray
    source: Any
    source_name: str

    @classmethod
    def prepare(cls, plan: Plan, task: Task, teacher: Teacher | None, *, cache_dir: Any,
                source: tuple[Any, str] | None) -> RunInputs:
        config, training = plan.config, plan.config.training
        if teacher is None:  # teacher-free: the student starts from the pretrained backbone
            backbone = config.student.model or DEFAULT_BACKBONE
            teacher_tokenizer, path = _tokenizer(backbone, cache_dir)
            source = source or (load_classifier(path, task), backbone)
        else:
            teacher_tokenizer = teacher.tokenizer
        teacher_splits = encode_splits(task, teacher_tokenizer, training.max_length)
        keep = subset_indices(teacher_splits["train"].labels, training.max_train_examples, seed=training.seed,
                              classification=not task.card.is_regression)
        if config.student.model and teacher is not None:  # another model, with its own tokenizer
            student_tokenizer, path = _tokenizer(config.student.model, cache_dir)
            student_splits = encode_splits(task, student_tokenizer, training.max_length)
            source = (load_classifier(path, task), config.student.model)
        else:
            student_tokenizer, student_splits = teacher_tokenizer, dict(teacher_splits)
            source = source or (teacher.model, "teacher")
        student_splits["train"] = student_splits["train"].subset(keep)
        return cls(teacher_tokenizer, student_tokenizer, teacher_splits, student_splits, keep, *source)

    @functools.cached_property
    def teacher_train(self) -> EncodedSplit:
        """The training rows as the teacher tokenizes them."""
        return self.teacher_splits["train"].subset(self.keep)

    def shared_tokens(self, plan: Plan) -> bool:
        """Whether the student reads the teacher's tokens (compared only when a stage needs it)."""
        return (not plan.needs_teacher_tokens or self.student_tokenizer is self.teacher_tokenizer
                or same_tokens(self.student_splits["train"], self.teacher_train))

    def check_tokens(self, plan: Plan, stage: Any) -> bool:
        """Refuse what needs shared tokens when the student tokenizes differently; returns ``shared_tokens``."""
        shared = self.shared_tokens(plan)
        if shared:
            return True
        model = plan.config.student.model
        if plan.policy.needs_shared_vocabulary:
            raise ConfigError(f"augment.policy={plan.policy.name!r} feeds teacher and student the same tokens, but "
                              f"the student ({model}) tokenizes differently from the teacher; build the student "
                              "from the teacher (student.model empty) or use augment.policy=none.")
        if stage is not None and stage.token_level:
            raise ConfigError(f"intermediate.objective={plan.config.intermediate.objective!r} compares token "
                              f"sequences, but the student ({model}) tokenizes differently from the teacher; use a "
                              "[CLS]-level objective (pkd, or an MI objective with critic mlp or bilinear).")
        if stage is not None and plan.config.augment.augments_inputs:
            raise ConfigError("augmented copies with an intermediate objective need a student that shares the "
                              "teacher's tokenizer (the teacher runs online on the copies).")
        return False


class TeacherTargets:
    """The teacher's side of the loss: its logits on any rows, and its representations for a training batch.

    The teacher's outputs on the training rows are the same in every trial that trains on them: they come from
    the shared on-disk cache, built once over the rows used (the seeded ``max_train_examples`` subset, not the
    whole split: trials with the same subset share the entry). Without it (disabled, too large, or rows no
    cache holds: augmented copies with an intermediate stage) the teacher runs here, or online in each step.
    """

    def __init__(self, plan: Plan, inputs: RunInputs, teacher: Teacher | None, stage: Any, *, shared_tokens: bool,
                 use_cache: bool, device: torch.device, cache_dir: Any, log: Callable[[str], None],
                 shared_cache: SharedTeacherCache | None = None) -> None:
        self.teacher, self.stage, self.inputs = teacher, stage, inputs
        self.shared_tokens, self.use_cache = shared_tokens, use_cache
        self.device, self.cache_dir, self.log, self.shared_cache = device, cache_dir, log, shared_cache
        self.precision = plan.config.training.precision
        adds_rows = plan.config.augment.augments_inputs or plan.policy.adds_rows
        self.cache: TeacherOutputCache | None = None
        if (teacher is not None and use_cache and (plan.loss.needs_teacher or stage is not None) and shared_tokens
                and not (stage is not None and adds_rows)):
            self.cache = teacher_output_cache(
                teacher.model, inputs.teacher_train, teacher_key=teacher.cache_key, hidden=stage is not None,
                attentions=stage is not None and stage.needs_attentions, cache_dir=cache_dir, device=device,
                precision=self.precision, log=log, attention_context=lambda: attention_scores(teacher.model),
                shared=shared_cache)

    @property
    def online(self) -> bool:
        """Whether the teacher runs in each training step (an intermediate stage without the cache)."""
        return self.stage is not None and self.cache is None

    def logits_of(self, split: EncodedSplit) -> np.ndarray:
        """The teacher's logits on rows (augmented copies, retrieved sentences): content-keyed cache."""
        assert self.teacher is not None
        if self.use_cache:
            entry = teacher_output_cache(self.teacher.model, split, teacher_key=self.teacher.cache_key,
                                         cache_dir=self.cache_dir, device=self.device, precision=self.precision,
                                         log=self.log, shared=self.shared_cache)
            assert entry is not None  # logits alone always fit
            return np.asarray(entry.batch_logits(np.arange(len(split))), dtype=np.float32)
        placed = next(self.teacher.model.parameters()).device
        logits = predict_logits(self.teacher.model.to(self.device), split, self.device, precision=self.precision)
        self.teacher.model.to(placed)
        return logits

    def training_logits(self) -> np.ndarray:
        """The teacher's logits on the training subset."""
        if self.cache is not None:
            return self.cache.batch_logits(np.arange(len(self.inputs.keep)))
        return self.logits_of(self.inputs.teacher_train)

    def representations(self, batch: dict[str, torch.Tensor], attentions: bool) -> Representations:
        """The teacher's representations of a training batch, for the intermediate stage."""
        assert self.teacher is not None
        if self.cache is not None:
            return self.cache.representations(batch[SOURCE_INDEX].numpy(), batch["attention_mask"])
        if self.shared_tokens:
            return teacher_outputs(self.teacher.model, batch, attentions=attentions)
        rows = self.inputs.teacher_train.collate(batch["index"].cpu().numpy())  # the teacher's own tokenization
        return teacher_outputs(self.teacher.model, {k: v.to(batch["input_ids"].device) for k, v in rows.items()},
                               attentions=attentions)

