"""``fine_tune_teacher``: the common training knobs as keyword arguments, as the ``--teacher-*`` flags are."""

import dataclasses

import pytest

from autodistiller import ConfigError
from autodistiller.engine import fine_tune_teacher


def test_training_knobs_are_keyword_arguments(tiny_dir, tiny_task, tiny_teacher, tmp_path):
    quiet = {"backbone": tiny_teacher.backbone, "log": lambda _: None}
    wrong = dataclasses.replace(tiny_teacher.training, epochs=1, seed=7)
    cached = fine_tune_teacher(tiny_task, training=wrong, epochs=tiny_teacher.training.epochs,
                               seed=tiny_teacher.training.seed, cache_dir=tiny_dir / "cache", **quiet)
    assert cached.path == tiny_teacher.path  # the knobs replaced those fields: the same teacher, from the cache
    small = fine_tune_teacher(tiny_task, training=tiny_teacher.training, epochs=1, learning_rate=2e-3, batch_size=16,
                              max_length=24, max_train_examples=40, seed=3, cache_dir=tmp_path, **quiet)
    assert (small.training.epochs, small.training.learning_rate, small.training.batch_size, small.training.max_length,
            small.training.max_train_examples, small.training.seed) == (1, 2e-3, 16, 24, 40, 3)
    assert small.training.warmup_ratio == tiny_teacher.training.warmup_ratio  # the rest comes from training=
    assert small.metrics["epochs_run"] == 1
    with pytest.raises(ConfigError, match="training.epochs"):
        fine_tune_teacher(tiny_task, epochs=0, cache_dir=tmp_path, **quiet)
