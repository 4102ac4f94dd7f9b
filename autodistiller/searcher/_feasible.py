"""Ray Tune's ``OptunaSearch`` that only hands out pipelines inside the space's constraints.

Optuna's define-by-run samples each parameter from its own distribution, so a sample can break a constraint
that ties two parameters together (``procedure.kind == 'takd'`` needs ``student.layers < assistant_layers``).
Such a trial would fail at once and waste a slot of the search; here it is told to Optuna as failed before it
runs (TPE models only finished trials) and a new sample is drawn in its place.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
from ray.tune.search.optuna import OptunaSearch

from autodistiller.searcher._space import SearchSpace

__all__ = ["FeasibleOptunaSearch"]

logger = logging.getLogger(__name__)


class FeasibleOptunaSearch(OptunaSearch):
    """``OptunaSearch(space=space.define_by_run, ...)`` whose suggestions break none of ``space``'s
    constraints: up to ``max_draws`` samples per trial, then the last one (the trial then fails with the
    constraint it breaks, as any infeasible pipeline does)."""

    def __init__(self, space: SearchSpace, *, max_draws: int = 100, **kwargs: Any) -> None:
        super().__init__(space=space.define_by_run, **kwargs)
        self._pipeline_space = space
        self._max_draws = max_draws
        #: samples drawn and rejected so far (all trials)
        self.rejected = 0

    def suggest(self, trial_id: str) -> dict | None:
        config = super().suggest(trial_id)
        for _ in range(self._max_draws - 1):
            if not isinstance(config, dict) or not self._pipeline_space.violated(config):
                break
            self._ot_study.tell(self._ot_trials.pop(trial_id), state=optuna.trial.TrialState.FAIL)
            self.rejected += 1
            logger.debug("rejected an infeasible sample for trial %s: %s", trial_id, config)
            config = super().suggest(trial_id)
        return config
