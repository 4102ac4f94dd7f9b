"""SurrogateRecommender follows the scikit-learn estimator contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from autodistiller.recommend import SurrogateRecommender

#: the one check that does not apply, with scikit-learn's own reason for its random forests: bootstrap samples
#: drawn from weighted rows are not the samples drawn from repeated rows
EXPECTED_FAILED_CHECKS = {"check_sample_weight_equivalence_on_dense_data":
                          "a bootstrapped forest: weights are not equivalent to repeated rows (as RandomForestRegressor)"}


@parametrize_with_checks([SurrogateRecommender(n_estimators=10)],
                         expected_failed_checks=lambda _: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_works_inside_pipelines_and_grid_search():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))  # noqa: N806 (scikit-learn's names)
    X[rng.random(X.shape) < 0.1] = np.nan  # inactive parameters are NaN
    y = 2 * np.nan_to_num(X[:, 0]) + rng.normal(scale=0.1, size=120)
    search = GridSearchCV(make_pipeline(StandardScaler(), SurrogateRecommender(n_estimators=20)),
                          {"surrogaterecommender__min_samples_leaf": [1, 5]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.5  # R^2: it learned the driving input
    mean, spread = search.best_estimator_[-1].predict_spread(StandardScaler().fit(X).transform(X[:3]))
    assert mean.shape == spread.shape == (3,) and (spread >= 0).all()
    model = SurrogateRecommender(n_estimators=5).fit(X, y)
    assert model.get_params()["n_estimators"] == 5 and hasattr(model, "forest_") and model.n_features_in_ == 5
    with pytest.raises(ValueError, match="n_estimators"):
        SurrogateRecommender(n_estimators=0).fit(X, y)
