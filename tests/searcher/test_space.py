from pathlib import Path

import optuna
import pytest

from autodistiller import ConfigError, UnknownOptionError
from autodistiller.searcher import load_space, shipped_space, space_from_dict

SPACES = sorted((Path(__file__).parents[2] / "search_spaces").glob("*.yaml"))


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.name)
def test_every_shipped_space_is_valid_and_samples_valid_pipelines(path):
    space = load_space(path)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    valid = 0
    for _ in range(25):
        values = space.sample(study.ask())
        assert values and set(values) <= set(space.keys)
        if space.violated(values):
            continue
        config = space.to_config(values)  # a valid PipelineConfig that runs exactly the sampled values
        flat = config.to_flat()
        assert {key: flat[key] for key in values if key in flat} == {k: v for k, v in values.items() if k in flat}
        valid += 1
    assert valid >= 5, f"{path.name}: only {valid} of 25 random samples satisfy the space's constraints"


def test_shipped_spaces_exist():
    assert {p.name for p in SPACES} >= {"quick.yaml", "distiller.yaml"}


def _space(**parameters):
    return space_from_dict({"parameters": parameters})


def test_conditional_parameters_follow_the_chosen_loss():
    space = _space(**{"loss.kind": {"choices": ["kl", "mse", "annealing"]},
                      "loss.temperature": {"low": 1.0, "high": 8.0, "log": True},
                      "loss.tau_max": {"low": 2, "high": 10}})
    seen = {}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        values = space.sample(study.ask())
        seen.setdefault(values["loss.kind"], set()).add(frozenset(values))
    assert seen["kl"] == {frozenset({"loss.kind", "loss.temperature"})}
    assert seen["mse"] == {frozenset({"loss.kind"})}
    assert seen["annealing"] == {frozenset({"loss.kind", "loss.tau_max"})}


def test_define_by_run_only_suggests_and_returns_fixed_values():
    space = _space(**{"loss.kind": {"choices": ["kl"]}, "training.epochs": 3, "student.layers": {"low": 1, "high": 2}})
    trial = optuna.create_study().ask()
    fixed = space.define_by_run(trial)
    assert fixed == {"training.epochs": 3}
    assert set(trial.params) == {"loss.kind", "student.layers"}


def test_explicit_when_and_choices_all():
    space = _space(**{"student.layers": {"choices": [1, 2]},
                      "student.init": {"choices": ["first", "last"], "when": {"student.layers": 2}},
                      "loss.kind": {"choices": "all"}})
    kinds = next(p for p in space.parameters if p.key == "loss.kind").choices
    assert set(kinds) == {"kl", "mse", "annealing", "none"}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    for _ in range(20):
        values = space.sample(study.ask())
        assert ("student.init" in values) == (values["student.layers"] == 2)


def test_conditions_are_ordered_after_what_they_depend_on():
    space = _space(**{"loss.temperature": {"low": 1.0, "high": 2.0}, "loss.kind": {"choices": ["kl", "mse"]}})
    assert space.keys == ["loss.kind", "loss.temperature"]


def test_constraints():
    space = space_from_dict({"parameters": {"student.layers": {"low": 1, "high": 4}},
                             "constraints": ["student.layers <= 2 or loss.kind in ['kl', 'mse']",
                                             "student.layers % 2 == 1 or training.epochs > 1"]})
    assert space.violated({"student.layers": 3}) == []  # loss.kind defaults to kl
    assert space.violated({"student.layers": 4, "loss.kind": "annealing"}) == [
        "student.layers <= 2 or loss.kind in ['kl', 'mse']"]


def test_first_points_keeps_distinct_pipelines_inside_the_space_that_break_no_constraint():
    space = space_from_dict({"parameters": {"student.layers": {"choices": [1, 2, 3]},
                                            "loss.kind": {"choices": ["kl", "annealing"]}},
                             "constraints": ["student.layers <= 2 or loss.kind == 'kl'"]})
    ranked = [{"student.layers": 5, "loss.kind": "kl"},         # outside the space
              {"student.layers": 3, "loss.kind": "annealing"},  # breaks the constraint
              {"student.layers": 2, "loss.kind": "kl", "training.seed": 7},
              {"student.layers": 2, "loss.kind": "kl"},         # the same point again
              {"student.layers": 3, "loss.kind": "kl"},
              {"student.layers": 1, "loss.kind": "kl"}]
    assert space.first_points(ranked, 2) == [{"student.layers": 2, "loss.kind": "kl"},
                                             {"student.layers": 3, "loss.kind": "kl"}]


@pytest.mark.parametrize(("data", "error", "message"), [
    ({"parameters": {"loss.kindd": {"choices": ["kl"]}}}, UnknownOptionError, r"'loss.kindd' is not a registered "
     r"pipeline parameter; choose one of: .*loss.kind"),
    ({"parameters": {"loss.kind": {"choices": ["kl", "kld"]}}}, UnknownOptionError,
     r"loss.kind='kld' is not a registered prediction loss; choose one of: annealing, kl, mse, none"),
    ({"parameters": {"student.layers": {"low": 4, "high": 2}}}, ConfigError, "low=4 is above high=2"),
    ({"parameters": {"training.learning_rate": {"low": 0.0, "high": 1e-3, "log": True}}}, ConfigError,
     "out of range|log range needs low > 0"),
    ({"parameters": {"student.layers": {"low": 1}}}, ConfigError, "give `choices`, `low` \\+ `high`"),
    ({"parameters": {"student.layers": {"choices": [1], "low": 1}}}, ConfigError, "cannot be combined"),
    ({"parameters": {"student.layers": {"low": 1, "high": 2, "typo": 1}}}, ConfigError, r"unknown field\(s\) \['typo'\]"),
    ({"parameters": {"loss.kind": {"choices": "all"}, "loss.alpha": {"low": 0, "high": 2}}}, ConfigError,
     r"loss.alpha=2.0 is out of range"),
    ({"parameters": {"student.init": {"low": 1, "high": 2}}}, ConfigError, "use `choices`"),
    ({"parameters": {}}, ConfigError, "non-empty mapping"),
    ({"parameters": {"student.layers": 2}, "constraints": ["__import__('os')"]}, ConfigError, "not allowed"),
    ({"parameters": {"student.layers": 2}, "constraints": ["student.layerz > 1"]}, UnknownOptionError,
     "'student.layerz' is not a registered pipeline parameter"),
    ({"parameters": {"student.layers": 2}, "extra": 1}, ConfigError, r"unknown top-level key\(s\) \['extra'\]"),
    ({"version": 2, "parameters": {"student.layers": 2}}, ConfigError, "reads version 1"),
])
def test_bad_spaces_are_clear_errors(data, error, message):
    with pytest.raises(error, match=message):
        space_from_dict(data)


def test_bad_yaml_file(tmp_path):
    bad = tmp_path / "space.yaml"
    bad.write_text("parameters:\n  loss.kind: {choices: [kl\n")
    with pytest.raises(ConfigError, match="space.yaml is not valid YAML"):
        load_space(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_space(tmp_path / "missing.yaml")


def test_points_outside_the_space_are_rejected():
    space = _space(**{"student.layers": {"choices": [1, 2]}})
    space.check_point({"student.layers": 2})
    with pytest.raises(ConfigError, match=r"student.layers=3 lies outside the space's choices \[1, 2\]"):
        space.check_point({"student.layers": 3})
    with pytest.raises(ConfigError, match="not a parameter of this space"):
        space.check_point({"loss.kind": "kl"})


def test_intermediate_parameters_are_conditional_on_the_objective():
    space = _space(**{"intermediate.objective": {"choices": ["none", "hidden_mse", "mi_alpha"]},
                      "intermediate.mi_alpha": {"low": 0.0, "high": 1.0},
                      "intermediate.beta": {"low": 0.1, "high": 10.0, "log": True}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=4))
    seen = {}
    for _ in range(30):
        values = space.sample(study.ask())
        seen.setdefault(values["intermediate.objective"], set()).add(frozenset(values))
    assert seen["none"] == {frozenset({"intermediate.objective"})}
    assert seen["hidden_mse"] == {frozenset({"intermediate.objective", "intermediate.beta"})}
    assert seen["mi_alpha"] == {frozenset({"intermediate.objective", "intermediate.beta", "intermediate.mi_alpha"})}


def test_distiller_space_samples_exactly_what_the_plan_reads():
    """No hand-kept `when:` lists: every sample of distiller.yaml holds the space's parameters that its
    options read and its procedure leaves free, and nothing else."""
    from autodistiller.config import PipelineConfig, active_parameters, procedure_settings

    space = load_space(Path(__file__).parents[2] / "search_spaces" / "distiller.yaml")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=4))
    procedures, pipelines = set(), set()
    for _ in range(300):
        values = space.sample(study.ask())
        kind = values["procedure.kind"]
        sets, from_teacher = procedure_settings(kind)
        resolved = {**PipelineConfig().to_flat(), **values, **sets}
        expected = {key for key in space.keys
                    if key in active_parameters(resolved) and key not in sets and key not in from_teacher}
        assert set(values) == expected, (kind, set(values) ^ expected)
        procedures.add(kind)
        pipelines.add(values.get("augment.pipeline"))
        if kind in ("teacher_free", "self_distill"):
            assert not any(key.startswith(("augment.", "intermediate.")) for key in values)
        if kind == "annealing_mate":
            assert "loss.kind" not in values and "augment.policy" not in values
        if "eda" not in values.get("augment.pipeline", "none"):
            assert "augment.eda_sr" not in values
    assert procedures == {"standard", "takd", "born_again", "teacher_free", "self_distill", "annealing_mate"}
    assert {"none", "eda", "random+contextual"} <= pipelines


def test_deciding_parameters_are_sampled_first():
    # written in the "wrong" order: the objective's parameters before the objective, the policy's before it
    space = _space(**{"intermediate.critic": {"choices": "all"}, "augment.mix_alpha": {"choices": [0.2, 0.4]},
                      "intermediate.objective": {"choices": ["none", "infonce"]},
                      "augment.policy": {"choices": ["none", "mixkd"]},
                      "procedure.kind": {"choices": ["standard", "annealing_mate"]}})
    order = space.keys
    assert order.index("intermediate.objective") < order.index("intermediate.critic")
    assert order.index("procedure.kind") < order.index("augment.policy") < order.index("augment.mix_alpha")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    for _ in range(40):
        values = space.sample(study.ask())
        assert ("intermediate.critic" in values) == (values["intermediate.objective"] == "infonce")
        assert ("augment.policy" in values) == (values["procedure.kind"] == "standard")
        assert ("augment.mix_alpha" in values) == (values.get("augment.policy") == "mixkd")


def test_a_warm_start_point_is_completed_into_one_exact_pipeline(tmp_path):
    from autodistiller.searcher import load_points

    space = load_space(Path(__file__).parents[2] / "search_spaces" / "distiller.yaml")
    point = space.complete_point({"loss.kind": "mse", "procedure.kind": "standard"})
    assert point["loss.kind"] == "mse" and point["loss.alpha"] == 0.5 and "loss.temperature" not in point
    assert point["intermediate.objective"] == "none" and "intermediate.beta" not in point  # inactive: not given
    assert point["training.learning_rate"] == 5e-5 and point["student.layers"] == 2
    mate = space.complete_point({"procedure.kind": "annealing_mate"})
    assert "loss.kind" not in mate and mate["loss.tau_max"] == 10.0  # fixed by the procedure, its parameter read
    with pytest.raises(ConfigError, match="options do not read"):
        space.complete_point({"loss.kind": "mse", "loss.temperature": 3.0})
    with pytest.raises(ConfigError, match="must give intermediate.beta"):
        _space(**{"intermediate.objective": {"choices": ["pkd"]},
                  "intermediate.beta": {"low": 10.0, "high": 100.0}}).complete_point({"intermediate.objective": "pkd"})
    path = tmp_path / "portfolio.yaml"
    path.write_text("pipelines:\n  - name: no_kd\n    pipeline: {loss.kind: none}\n  - {loss.kind: kl}\n")
    assert load_points(path) == [{"loss.kind": "none"}, {"loss.kind": "kl"}]
    path.write_text("pipelines:\n  - name: bad\n    pipeline: {loss.kind: kld}\n")
    with pytest.raises(ConfigError, match="pipeline 1 \\(bad\\).*loss.kind"):
        load_points(path)


def test_a_regression_task_searches_only_what_it_can_run():
    """kl (class probabilities) and teacher_free (class distributions) cannot run a regression task: the space
    drops them before any trial, and a classification task keeps the space as it is."""
    space = load_space(shipped_space("distiller_meta"))
    adapted, notes = space.for_task(is_regression=True)
    choices = {p.key: p.choices for p in adapted.parameters}
    assert "kl" not in choices["loss.kind"] and {"mse", "annealing", "none"} <= set(choices["loss.kind"])
    assert "teacher_free" not in choices["procedure.kind"] and "standard" in choices["procedure.kind"]
    assert len(notes) == 2 and all("a regression task cannot use" in note for note in notes)
    assert space.for_task(is_regression=False) == (space, [])
    for point in adapted.random_points(30, seed=1):
        assert point.get("loss.kind") != "kl" and point["procedure.kind"] != "teacher_free"


@pytest.mark.parametrize(("parameters", "message"), [
    ({"loss.kind": "kl"}, "fixed to 'kl', which a regression task cannot use .its counterpart: 'mse'"),
    ({"loss.kind": {"choices": ["kl"]}}, "every choice of loss.kind"),
    ({"student.layers": {"choices": [1, 2]}}, "loss.kind is not a parameter, so trials run its default 'kl'"),
])
def test_a_space_that_cannot_run_a_regression_task_is_a_clear_error(parameters, message):
    with pytest.raises(ConfigError, match=message):
        space_from_dict({"parameters": parameters}).for_task(is_regression=True)


def test_a_shared_portfolio_gets_its_regression_counterparts():
    space = load_space(shipped_space("distiller_meta"))
    points = [space.complete_point(p) for p in [
        {"loss.kind": "kl", "loss.temperature": 4.0, "loss.alpha": 0.5},
        {"loss.kind": "mse", "loss.alpha": 0.5},
        {"procedure.kind": "teacher_free", "procedure.target": "virtual"},
        {"procedure.kind": "annealing_mate", "augment.mate_mask_p": 0.3},
        {"loss.kind": "annealing", "loss.tau_max": 10},
    ]]
    adapted_space, _ = space.for_task(is_regression=True)
    adapted, notes = adapted_space.adapt_points(points, is_regression=True)
    # kl -> mse without its temperature (mse does not read it): the same pipeline as the 2nd, kept once
    assert adapted[0] == {**{k: v for k, v in points[0].items() if k != "loss.temperature"}, "loss.kind": "mse"}
    assert adapted[0] == points[1] and len(adapted) == 3
    assert adapted[1:] == [points[3], points[4]]  # annealing_mate fixes its own loss: nothing to change
    assert notes == ["pipeline 1: loss.kind kl -> mse", "pipeline 2 left out: it repeats pipeline 1 as adapted",
                     "pipeline 3 left out: procedure.kind='teacher_free' has no counterpart on this task"]
    for point in adapted:
        adapted_space.complete_point(point)
    assert space.adapt_points(points, is_regression=False) == (points, [])


def test_a_pair_task_searches_only_what_it_can_run():
    """minimax_knn retrieves single sentences: on a task of text pairs the space drops it and the portfolio's
    pipeline with it (no counterpart), where before it failed as a trial (boolq's first build: 1 of 30)."""
    space = load_space(shipped_space("distiller_meta"))
    adapted, notes = space.for_task(is_regression=False, is_pair=True)
    policies = {p.key: p.choices for p in adapted.parameters}["augment.policy"]
    assert "minimax_knn" not in policies and "none" in policies
    assert notes == [next(n for n in notes if "augment.policy: ['minimax_knn'] left out" in n)]
    assert "a pair task cannot use" in notes[0]
    assert all(p.get("augment.policy") != "minimax_knn" for p in adapted.random_points(40, seed=2))
    points = [space.complete_point({"augment.policy": "minimax_knn"}), space.complete_point({})]
    kept, changes = adapted.adapt_points(points, is_regression=False, is_pair=True)
    assert kept == points[1:] and "has no counterpart" in changes[0]
    both, _ = space.for_task(is_regression=True, is_pair=True)
    assert {"kl", "minimax_knn"}.isdisjoint({c for p in both.parameters for c in (p.choices or ())})
