"""The models that score a pipeline on a task: a scikit-learn surrogate, and the two baselines it must beat.

* :class:`SurrogateRecommender` (a scikit-learn regressor): a random forest over (task meta-features,
  pipeline encoding) -> the pipeline's normalised score on the task; the spread of its trees is the
  uncertainty. It ranks any candidate pipeline, seen in the meta-dataset or not.
* :class:`NearestTasks` (auto-sklearn 1's meta-learning): the k training tasks nearest in standardised
  meta-feature space; a pipeline scores its mean normalised score on them.
* :class:`BestOnAverage`: one ranking for every task, the pipelines' mean normalised score over the training
  tasks (the single best pipeline on average is its top).
The three share ``fit(table)`` / ``score_candidates(features, candidates)`` (see :mod:`._recommender`).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

__all__ = ["BestOnAverage", "NearestTasks", "SurrogateRecommender"]


class SurrogateRecommender(RegressorMixin, BaseEstimator):
    """Predict a pipeline's normalised score on a task from (task meta-features, pipeline encoding).

    A random forest (scikit-learn), so it handles the conditional structure of the space (an inactive
    parameter is NaN in the encoding) and gives an uncertainty: the standard deviation of its trees'
    predictions (:meth:`predict_spread`). Fitted attributes: ``forest_``, ``n_features_in_`` (and
    ``feature_names_in_`` when fitted on a DataFrame).

    Parameters
    ----------
    n_estimators : int, default=300
        Trees of the forest.
    min_samples_leaf : int, default=3
        Smallest leaf: trial scores are noisy, a leaf averages a few.
    max_features : float or {"sqrt", "log2"}, default=0.5
        Share of the inputs each split considers.
    random_state : int or None, default=0
        Seed of the forest (the recommender is deterministic for a given meta-dataset).
    """

    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "max_features": [Interval(Real, 0.0, 1.0, closed="right"), StrOptions({"sqrt", "log2"})],
        "random_state": ["random_state"],
    }

    def __init__(self, n_estimators: int = 300, *, min_samples_leaf: int = 3, max_features: float | str = 0.5,
                 random_state: int | None = 0) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None) -> SurrogateRecommender:  # noqa: N803 (scikit-learn's names)
        """Fit the forest; ``sample_weight`` (one per row) as in :class:`~sklearn.ensemble.RandomForestRegressor`."""
        self._validate_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        self.forest_ = RandomForestRegressor(n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
                                             max_features=self.max_features, random_state=self.random_state,
                                             n_jobs=1).fit(X, y, sample_weight=sample_weight)
        return self

    def predict(self, X) -> np.ndarray:  # noqa: N803
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self.forest_.predict(X)

    def predict_spread(self, X) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
        """(mean, standard deviation) of the trees' predictions: a score and its uncertainty."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        per_tree = np.stack([tree.predict(X) for tree in self.forest_.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class NearestTasks:
    """Score pipelines by their mean normalised score on the ``k`` training tasks nearest in meta-feature space
    (features standardised over the training tasks; a feature missing for a task is left out of its
    distance). State is plain arrays and lists, so a saved recommender holds no pandas objects."""

    def __init__(self, k: int = 3) -> None:
        self.k = k

    def fit(self, task_features: pd.DataFrame, scores: pd.DataFrame) -> NearestTasks:
        """``task_features``: one row per training task (index: task); ``scores``: rows (task, pipeline_key,
        target)."""
        frame = task_features.astype(float)
        self.columns_ = list(frame.columns)
        self.tasks_ = [str(t) for t in frame.index]
        self.mean_ = frame.mean().to_numpy()
        self.scale_ = frame.std().replace(0, 1).fillna(1).to_numpy()
        self.points_ = ((frame.to_numpy() - self.mean_) / self.scale_)
        table = scores.pivot_table(index="pipeline_key", columns="task", values="target", aggfunc="mean")
        table = table.reindex(columns=self.tasks_)
        self.keys_ = [str(k) for k in table.index]
        self.table_ = table.to_numpy(dtype=float)  # [pipelines, tasks], NaN where a pipeline did not run
        return self

    def neighbours(self, features: pd.Series) -> pd.Series:
        """Distances to the training tasks, nearest first."""
        point = (features.reindex(self.columns_).astype(float).to_numpy() - self.mean_) / self.scale_
        diff = self.points_ - point
        usable = ~np.isnan(diff)
        distance = np.sqrt((np.where(usable, diff, 0.0) ** 2).sum(axis=1) / np.maximum(usable.sum(axis=1), 1))
        return pd.Series(distance, index=self.tasks_).sort_values(kind="stable")

    def score_keys(self, features: pd.Series) -> pd.Series:
        near = [self.tasks_.index(t) for t in self.neighbours(features).index[: self.k]]
        with warnings.catch_warnings():  # a pipeline none of the near tasks ran: NaN, dropped below
            warnings.simplefilter("ignore", RuntimeWarning)
            scores = np.nanmean(self.table_[:, near], axis=1) if near else np.full(len(self.keys_), np.nan)
        return pd.Series(scores, index=self.keys_).dropna()


class BestOnAverage:
    """One ranking for every task: each pipeline's mean normalised score over the training tasks, counting
    only pipelines run on at least ``min_share`` of them (the shared portfolio)."""

    def __init__(self, min_share: float = 0.5) -> None:
        self.min_share = min_share

    def fit(self, scores: pd.DataFrame) -> BestOnAverage:
        table = scores.pivot_table(index="pipeline_key", columns="task", values="target", aggfunc="mean")
        enough = table.notna().mean(axis=1) >= self.min_share
        ranking = table[enough].mean(axis=1).sort_values(ascending=False, kind="stable")
        self.keys_, self.scores_ = [str(k) for k in ranking.index], ranking.to_numpy(dtype=float)
        return self

    def score_keys(self, features: pd.Series | None = None) -> pd.Series:
        return pd.Series(self.scores_, index=self.keys_)
