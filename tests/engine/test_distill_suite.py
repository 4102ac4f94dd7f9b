"""A real distillation on a real suite task: MiniLM teacher -> 2-layer student, scored and logged."""

import json

import pytest

from autodistiller import PipelineConfig, distill
from autodistiller.tasks import majority_baseline


def test_two_layer_student_beats_majority_and_is_logged(trec, trec_teacher, tmp_path):
    baseline = majority_baseline("single", trec.labels("train"), trec.labels("validation"))
    assert trec_teacher.dev_score > baseline["macro_f1"] + 0.5
    cfg = PipelineConfig.from_flat({"student.layers": 2, "loss.kind": "kl", "training.epochs": 2,
                                    "training.learning_rate": 1e-4, "training.max_length": 64,
                                    "training.max_train_examples": 2000})
    result = distill(cfg, trec, trec_teacher, log=lambda _: None)
    assert result.train_examples == 2000
    assert result.dev_score > baseline["macro_f1"] + 0.3, result.summary()
    assert result.dev["accuracy"] > baseline["accuracy"] + 0.3
    assert result.student_params < 0.75 * result.teacher_params
    assert result.latency_ms < result.teacher_latency_ms
    saved = json.loads((result.save(tmp_path) / "result.json").read_text())
    assert saved["student_dev_score"] == pytest.approx(result.dev_score)
    assert saved["pipeline"] == result.plan.to_flat()  # the plan that ran: inactive parameters null
    assert saved["pipeline"]["loss.temperature"] == 2.0 and saved["pipeline"]["procedure.target"] is None
    assert PipelineConfig.from_flat(saved["pipeline"]) == cfg
    assert PipelineConfig.from_yaml(tmp_path / "pipeline.yaml") == cfg
    assert (tmp_path / "student" / "config.json").is_file()
