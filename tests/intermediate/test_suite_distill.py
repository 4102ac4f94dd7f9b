"""A real distillation on a real suite task (trec6, MiniLM teacher) with each intermediate objective."""

import json

import numpy as np
import pytest

from autodistiller import PipelineConfig, distill
from autodistiller.intermediate import INTERMEDIATE_OBJECTIVES
from autodistiller.tasks import majority_baseline


@pytest.mark.parametrize("objective", [n for n in INTERMEDIATE_OBJECTIVES.names() if n != "none"])
def test_each_objective_distils_trec(trec, trec_teacher, objective, tmp_path):
    cfg = PipelineConfig.from_flat({"intermediate.objective": objective, "student.layers": 2,
                                    "training.epochs": 1, "training.learning_rate": 1e-4,
                                    "training.max_length": 64, "training.max_train_examples": 300})
    lines = []
    result = distill(cfg, trec, trec_teacher, log=lines.append)
    assert any(f"intermediate.objective={objective}" in line for line in lines)
    assert result.train_examples == 300 and np.isfinite(result.history[0]["train_loss"])
    baseline = majority_baseline("single", trec.labels("train"), trec.labels("validation"))
    assert result.dev_score > baseline["macro_f1"] + 0.2, result.summary()
    saved = json.loads((result.save(tmp_path) / "result.json").read_text())
    assert saved["pipeline"]["intermediate.objective"] == objective
    assert saved["student_dev_score"] == pytest.approx(result.dev_score)
    assert (tmp_path / "student" / "config.json").is_file()
    assert PipelineConfig.from_yaml(tmp_path / "pipeline.yaml") == cfg
