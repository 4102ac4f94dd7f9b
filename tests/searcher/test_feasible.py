"""The search's Optuna searcher hands out only pipelines that satisfy the space's constraints."""

import optuna

from autodistiller.searcher import space_from_dict
from autodistiller.searcher._feasible import FeasibleOptunaSearch

SPACE = {"parameters": {"student.layers": {"choices": [1, 2, 3]}, "loss.kind": {"choices": ["kl", "mse", "none"]},
                        "training.epochs": 1},
         "constraints": ["student.layers == 1 or loss.kind == 'kl'"]}  # 5 of the 9 combinations break it


def test_every_suggestion_satisfies_the_constraints_and_rejections_are_told_as_failed():
    space = space_from_dict(SPACE)
    first = {"student.layers": 2, "loss.kind": "kl"}
    searcher = FeasibleOptunaSearch(space, metric="dev", mode="max", seed=0,
                                    sampler=optuna.samplers.RandomSampler(seed=0), points_to_evaluate=[first])
    configs = [searcher.suggest(f"t{i}") for i in range(30)]
    assert {k: configs[0][k] for k in first} == first  # a warm-start point is the first trial, as given
    assert all(not space.violated(c) for c in configs)
    assert {(c["student.layers"], c["loss.kind"]) for c in configs} >= {(1, "none"), (3, "kl")}  # still varied
    # with 5 of 9 combinations infeasible, 30 random draws hit some: each was told to Optuna, never run
    failed = searcher._ot_study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.FAIL])
    assert searcher.rejected == len(failed) > 0
    for i, config in enumerate(configs):  # each suggestion is the trial Optuna is told about at the end
        searcher.on_trial_complete(f"t{i}", {"dev": float(config["student.layers"])})
    complete = searcher._ot_study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    assert len(complete) == 30 and all(not space.violated(t.params) for t in complete)
