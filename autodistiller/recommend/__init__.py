"""The AutoDistiller recommender: given a new task, suggest a KD pipeline from what past searches learned.

* :func:`task_features`: the task's meta-features (``mf.*``), computed once and cached;
* :func:`training_table` + :class:`Recommender`: learn from meta-dataset rows, ``recommend(features)``;
* :class:`SurrogateRecommender`: the scikit-learn estimator inside (meta-features x pipeline -> normalised score);
* :func:`recommend`: the whole path for a task spec, returning a DataFrame.
"""

from autodistiller.recommend._api import (
    BUDGET_KEYS,
    SHIPPED_FEATURES,
    SHIPPED_METHOD,
    default_recommender,
    load_task_features,
    recommend,
    student_params_of,
    with_budget,
)
from autodistiller.recommend._encode import PipelineEncoder, choice_keys, flat_rows, pipeline_key, pipeline_of
from autodistiller.recommend._estimator import BestOnAverage, NearestTasks, SurrogateRecommender
from autodistiller.recommend._evaluate import feature_group_ablation, leave_one_family_out, summarize
from autodistiller.recommend._features import (
    FEATURES_VERSION,
    TEACHER_FEATURES,
    task_features,
    teacher_meta_features,
    tokenizer_meta_features,
)
from autodistiller.recommend._recommender import (
    METHODS,
    MF_GROUPS,
    WEIGHTINGS,
    Constraints,
    Recommender,
    RecommenderFileError,
    keeps_teacher_depth,
    task_reliability,
    training_table,
)

__all__ = [
    "BUDGET_KEYS",
    "FEATURES_VERSION",
    "METHODS",
    "MF_GROUPS",
    "SHIPPED_FEATURES",
    "SHIPPED_METHOD",
    "TEACHER_FEATURES",
    "WEIGHTINGS",
    "BestOnAverage",
    "Constraints",
    "NearestTasks",
    "PipelineEncoder",
    "Recommender",
    "RecommenderFileError",
    "SurrogateRecommender",
    "choice_keys",
    "default_recommender",
    "flat_rows",
    "feature_group_ablation",
    "keeps_teacher_depth",
    "leave_one_family_out",
    "load_task_features",
    "pipeline_key",
    "pipeline_of",
    "recommend",
    "student_params_of",
    "summarize",
    "task_features",
    "task_reliability",
    "teacher_meta_features",
    "tokenizer_meta_features",
    "training_table",
    "with_budget",
]
