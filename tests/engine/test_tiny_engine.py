"""The engine's plumbing on a tiny BERT and a tiny task (seconds): caching, callbacks, determinism, errors."""

import numpy as np
import pytest

from autodistiller import ConfigError, PipelineConfig, distill
from autodistiller.engine import EncodedSplit, fine_tune_teacher, subset_indices

FAST = {"training.epochs": 3, "training.batch_size": 8, "training.learning_rate": 2e-3, "training.max_length": 32,
        "training.warmup_ratio": 0.0}


def test_teacher_is_cached_and_learns(tiny_dir, tiny_task, tiny_teacher):
    assert tiny_teacher.dev_score >= 0.9  # one polar word decides the label
    again = fine_tune_teacher(tiny_task, backbone=tiny_teacher.backbone, training=tiny_teacher.training,
                              cache_dir=tiny_dir / "cache", log=lambda _: None)
    assert again.path == tiny_teacher.path and again.metrics == tiny_teacher.metrics
    assert (tiny_teacher.path / "teacher.json").is_file()


@pytest.mark.parametrize("kind", ["kl", "mse", "annealing", "none"])
def test_each_loss_trains_a_student(tiny_task, tiny_teacher, kind):
    cfg = PipelineConfig.from_flat({**FAST, "loss.kind": kind, "student.layers": 2})
    reports = []
    result = distill(cfg, tiny_task, tiny_teacher, callbacks=[reports.append], log=lambda _: None)
    assert [r.epoch for r in reports] == [1, 2, 3]
    assert result.epochs_run == 3 and result.best_epoch in (1, 2, 3)
    assert result.dev_score == max(r.dev_score for r in reports)
    assert result.student_params < result.teacher_params
    assert result.latency_ms > 0 and result.train_seconds > 0
    row = result.to_dict()
    assert row["pipeline"]["loss.kind"] == kind and row["student_dev_score"] == result.dev_score


def test_same_seed_same_result(tiny_task, tiny_teacher):
    cfg = PipelineConfig.from_flat({**FAST, "training.epochs": 1})
    a = distill(cfg, tiny_task, tiny_teacher, log=lambda _: None)
    b = distill(cfg, tiny_task, tiny_teacher, log=lambda _: None)
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]


@pytest.mark.parametrize("augment", [{"augment.policy": "mixkd", "augment.pipeline": "random"},
                                     {"procedure.kind": "self_distill"}])
def test_same_seed_same_result_with_augmentation_and_procedures(tiny_task, tiny_teacher, augment, tmp_path):
    cfg = PipelineConfig.from_flat({**FAST, "training.epochs": 2, "augment.aug_p": 0.3, **augment})
    teacher = None if "procedure.kind" in augment else tiny_teacher
    student = {"student.model": str(tiny_teacher.path)} if teacher is None else {}
    cfg = cfg.replace(**student)
    runs = [distill(cfg, tiny_task, teacher, cache_dir=tmp_path, log=lambda _: None) for _ in range(2)]
    assert [h["train_loss"] for h in runs[0].history] == [h["train_loss"] for h in runs[1].history]
    other = distill(cfg.replace(**{"training.seed": 7}), tiny_task, teacher, cache_dir=tmp_path, log=lambda _: None)
    assert other.history[0]["train_loss"] != runs[0].history[0]["train_loss"]


def test_callback_can_stop_training_and_early_stopping(tiny_task, tiny_teacher):
    cfg = PipelineConfig.from_flat({**FAST, "training.epochs": 5})
    result = distill(cfg, tiny_task, tiny_teacher, callbacks=[lambda r: r.epoch >= 2], log=lambda _: None)
    assert result.epochs_run == 2 and result.stopped_by == "callback"
    cfg = PipelineConfig.from_flat({**FAST, "training.epochs": 30, "training.early_stopping_patience": 1,
                                    "training.learning_rate": 1e-6})
    result = distill(cfg, tiny_task, tiny_teacher, log=lambda _: None)
    assert result.stopped_by == "early_stopping" and result.epochs_run < 30


def test_subset_and_regression_errors(tiny_dir, tiny_task, tiny_teacher):
    cfg = PipelineConfig.from_flat({**FAST, "training.epochs": 1, "training.max_train_examples": 20})
    assert distill(cfg, tiny_task, tiny_teacher, log=lambda _: None).train_examples == 20
    from autodistiller.testing import tiny_task as make_tiny

    regression = make_tiny(tiny_dir / "reg", rows=40, regression=True)
    with pytest.raises(ConfigError, match="fine-tuned on"):
        distill(PipelineConfig(), regression, tiny_teacher, log=lambda _: None)


def test_narrow_student_trains(tiny_task, tiny_teacher):
    cfg = PipelineConfig.from_flat({**FAST, "student.hidden_size": 16, "student.layers": 1})
    result = distill(cfg, tiny_task, tiny_teacher, log=lambda _: None)
    assert result.student_info.hidden_size == 16 and np.isfinite(result.dev_score)


def test_length_bucketing_pads_less_than_fixed_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(4, 64, size=512)
    split = EncodedSplit([np.ones(n, dtype=np.int64) for n in lengths], np.zeros(512, dtype=np.int64), 0)
    batches = split.batch_indices(16, shuffle=True, seed=1)
    assert sorted(np.concatenate(batches).tolist()) == list(range(512))  # every example exactly once
    padded = sum(len(b) * lengths[b].max() for b in batches)
    assert padded < 0.75 * 512 * lengths.max()
    assert lengths.sum() / padded > 0.9


def test_subset_indices_is_stratified_and_seeded():
    labels = np.array([0] * 90 + [1] * 10)
    keep = subset_indices(labels, 20, seed=3, classification=True)
    assert len(keep) == 20 and np.bincount(labels[keep]).tolist() == [18, 2]
    assert np.array_equal(keep, subset_indices(labels, 20, seed=3, classification=True))


def test_teacher_pickles_as_weights_even_after_use(tiny_task, tiny_teacher):
    import pickle

    import torch

    from autodistiller.intermediate import attention_scores

    with attention_scores(tiny_teacher.model):  # leaves runtime state behind on the live model
        pass
    clone = pickle.loads(pickle.dumps(tiny_teacher))
    assert clone.key == tiny_teacher.key and clone.metrics == tiny_teacher.metrics
    for (name, a), (_, b) in zip(tiny_teacher.model.state_dict().items(), clone.model.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name


def test_the_saved_student_names_the_classes_of_the_card(tmp_path, tiny_task, tiny_teacher):
    """The class names come from the task card, even from a teacher that calls them LABEL_0, LABEL_1."""
    import copy
    import dataclasses
    import json

    task = dataclasses.replace(tiny_task, card=dataclasses.replace(tiny_task.card, label_names=("negative",
                                                                                                "positive")))
    teacher = copy.copy(tiny_teacher)
    teacher.model = copy.deepcopy(tiny_teacher.model)
    teacher.model.config.id2label = {0: "LABEL_0", 1: "LABEL_1"}
    teacher.model.config.label2id = {"LABEL_0": 0, "LABEL_1": 1}
    cfg = PipelineConfig.from_flat({**FAST, "training.epochs": 1, "student.layers": 1})
    result = distill(cfg, task, teacher, cache_dir=tmp_path, log=lambda _: None)
    saved = json.loads((result.save(tmp_path / "out") / "student" / "config.json").read_text())
    assert saved["id2label"] == {"0": "negative", "1": "positive"}
    assert saved["label2id"] == {"negative": 0, "positive": 1}


def test_policy_rows_join_augmented_rows_with_an_online_teacher(tiny_task, tiny_teacher):
    """An intermediate stage (the teacher runs online on every batch) with augmented copies and Minimax-kNN's
    rows: the policy's rows carry teacher logits the other rows do not need; the epochs still concatenate."""
    cfg = PipelineConfig.from_flat({**FAST, "training.epochs": 2, "training.max_train_examples": 40,
                                    "intermediate.objective": "hidden_mse", "augment.pipeline": "random",
                                    "augment.policy": "minimax_knn", "augment.knn_k": 2, "augment.knn_keep": 1})
    result = distill(cfg, tiny_task, tiny_teacher, log=lambda _: None)
    assert result.epochs_run == 2 and np.isfinite(result.history[-1]["train_loss"])
