"""``Plan.resolve``: procedure settings applied, inactive parameters null, every cross-stage check before any
model loads."""

from __future__ import annotations

import pytest

from autodistiller import PipelineConfig, Plan
from autodistiller.errors import ConfigError


def _plan(teacher, task, **flat):
    return Plan.resolve(PipelineConfig.from_flat({k.replace("__", "."): v for k, v in flat.items()}), task.card,
                        teacher)


def test_procedures_change_the_plan(tiny_task, tiny_teacher):
    depth = tiny_teacher.model.config.num_hidden_layers
    mate = _plan(tiny_teacher, tiny_task, procedure__kind="annealing_mate")
    assert mate.config.loss.kind == "annealing" and mate.config.augment.policy == "mate"
    assert mate.requested.loss.kind == "kl"  # what was asked stays visible
    assert type(mate.loss).__name__ == "AnnealingLoss" and mate.policy.name == "mate"
    born = _plan(tiny_teacher, tiny_task, procedure__kind="born_again", student__layers=2)
    assert born.to_flat()["student.layers"] == depth and born.to_flat()["student.init"] == "first"
    free = _plan(None, tiny_task, procedure__kind="teacher_free")
    assert free.to_flat()["intermediate.objective"] == "none" and free.to_flat()["intermediate.beta"] is None


def test_inactive_parameters_are_null(tiny_task, tiny_teacher):
    flat = _plan(tiny_teacher, tiny_task, loss__kind="mse", loss__temperature=4.0).to_flat()
    assert flat["loss.kind"] == "mse" and flat["loss.alpha"] == 0.5 and flat["loss.temperature"] is None
    assert flat["augment.aug_p"] is None and flat["augment.copies"] is None  # no augmenter in the pipeline
    assert flat["training.learning_rate"] == 5e-5  # always read
    eda = _plan(tiny_teacher, tiny_task, augment__pipeline="random+eda").to_flat()
    assert eda["augment.aug_p"] == 0.1 and eda["augment.copies"] == 1 and "augment.eda_sr" in eda
    mi = _plan(tiny_teacher, tiny_task, intermediate__objective="mi_alpha").to_flat()
    assert mi["intermediate.mi_alpha"] == 0.9 and mi["intermediate.critic_dim"] == 32
    pkd = _plan(tiny_teacher, tiny_task, intermediate__objective="pkd").to_flat()
    assert pkd["intermediate.mi_alpha"] is None and pkd["intermediate.critic"] is None
    assert PipelineConfig.from_flat(pkd) == PipelineConfig.from_flat({"intermediate.objective": "pkd"})


@pytest.mark.parametrize(("flat", "message"), [
    ({"procedure__kind": "annealing_mate", "loss__kind": "mse"}, "sets loss.kind='annealing'"),
    ({"procedure__kind": "born_again", "student__init": "last"}, "sets student.init='first'"),
    ({"procedure__kind": "takd", "procedure__assistant_layers": 2}, "strictly between"),
    ({"student__layers": 9}, "student.layers=9 exceeds the 4 layers"),
    ({"augment__policy": "mate", "loss__kind": "none"}, "no teacher term"),
    ({"intermediate__objective": "hidden_mse", "intermediate__mapping": "ckd", "student__layers": 4,
      "student__hidden_size": 16}, None),  # a narrower student: resolves (projections bridge the widths)
])
def test_cross_stage_checks_run_before_any_model_loads(tiny_task, tiny_teacher, monkeypatch, flat, message):
    import autodistiller.engine._run as run

    def no_model(*args, **kwargs):
        raise AssertionError("a model was built before the plan was checked")

    monkeypatch.setattr(run, "build_student", no_model)
    if message is None:
        _plan(tiny_teacher, tiny_task, **flat)
        return
    with pytest.raises(ConfigError, match=message):
        run.distill(PipelineConfig.from_flat({k.replace("__", "."): v for k, v in flat.items()}), tiny_task,
                    tiny_teacher)


def test_checks_against_the_task(tiny_dir):
    from autodistiller.testing import tiny_task as make_tiny

    regression = make_tiny(tiny_dir / "plan-reg", rows=20, regression=True).card
    with pytest.raises(ConfigError, match="builds class distributions"):
        Plan.resolve(PipelineConfig.from_flat({"procedure.kind": "teacher_free", "loss.kind": "mse"}), regression)
    with pytest.raises(ConfigError, match="needs class probabilities"):  # kl, the default loss
        Plan.resolve(PipelineConfig.from_flat({"procedure.kind": "self_distill"}), regression)
    plan = Plan.resolve(PipelineConfig.from_flat({"procedure.kind": "self_distill", "loss.kind": "mse"}), regression)
    assert plan.config.loss.kind == "mse"


def test_step_is_a_standard_run_of_the_same_pipeline(tiny_task, tiny_teacher):
    plan = _plan(tiny_teacher, tiny_task, procedure__kind="takd", procedure__assistant_layers=3, loss__kind="mse")
    step = plan.step(**{"student.layers": 3})
    assert step.config.procedure.kind == "standard" and step.config.loss.kind == "mse"
    assert step.config.student.layers == 3 and step.to_flat()["procedure.assistant_layers"] is None
    assert "loss.kind=mse" in plan.describe() and "procedure.kind=takd" in plan.describe()
