"""``Recommender``: learn from meta-dataset rows which KD pipeline suits a task, and suggest one without searching.

Training rows are the completed trials; each gets a target normalised within its task (the percentile of its
dev score among the task's completed trials, or the score retained), so tasks of different difficulty and
metric mix. ``recommend(features)`` ranks candidate pipelines (every pipeline of the meta-dataset, or any given
list) for a new task's meta-features, keeps those a user's constraints allow, and reports for each the
predicted normalised score with its uncertainty, the predicted training cost, size and latency, and the
nearest training tasks. Saved with skops (an explicit list of trusted types, never plain pickle) next to a
stamp of the meta-dataset and the file's own checksum.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autodistiller._version import __version__
from autodistiller.errors import AutoDistillerError, ConfigError
from autodistiller.recommend._encode import PipelineEncoder, flat_rows, pipeline_key, pipeline_of
from autodistiller.recommend._estimator import BestOnAverage, NearestTasks, SurrogateRecommender
from autodistiller.registries import PROCEDURES, picks_any, unusable_choices

__all__ = ["Constraints", "METHODS", "MF_GROUPS", "Recommender", "RecommenderFileError", "WEIGHTINGS",
           "keeps_teacher_depth", "task_reliability", "training_table"]

#: the meta-feature groups (measured with and without each, leave-one-family-out; see the README)
MF_GROUPS: dict[str, tuple[str, ...]] = {
    "size": ("mf.train_size", "mf.num_classes", "mf.is_pair", "mf.is_regression"),
    "text": ("mf.mean_words", "mf.std_words", "mf.mean_tokens", "mf.truncated_fraction", "mf.type_token_ratio"),
    "labels": ("mf.class_entropy", "mf.majority_fraction"),
    "teacher": ("mf.teacher_dev_score", "mf.teacher_confidence", "mf.teacher_entropy",
                "mf.teacher_train_disagreement"),
    "tokenizer": ("mf.pieces_per_word", "mf.unknown_piece_rate"),
    "landmark": ("mf.landmark_tfidf_dev_score", "mf.teacher_margin_over_landmark"),
}
METHODS = ("surrogate", "nearest", "best_average")
_TARGETS = ("percentile", "retained")
#: how the surrogate weighs each task's rows: equally, or by the share of the task's score variance that is not
#: seed noise (a task where every pipeline scores alike up to noise teaches no ranking)
WEIGHTINGS = ("none", "reliability")


class RecommenderFileError(AutoDistillerError):
    """A saved recommender that must not be loaded: tampered with, untrusted types, or another version."""


def training_table(rows: pd.DataFrame, task_features: pd.DataFrame | None = None, *,
                   target: str = "percentile") -> pd.DataFrame:
    """The completed trials of ``rows`` with a ``target`` normalised within each task and a ``pipeline_key``.

    ``task_features`` (one row per task, ``mf.*`` columns, index ``task``) fills or replaces the rows' own
    meta-features (rows written before a meta-feature existed lack it).
    """
    if target not in _TARGETS:
        raise ConfigError(f"target={target!r} must be one of {_TARGETS}.")
    done = rows[(rows["status"] == "completed") & rows["student_dev_score"].notna()].copy()
    if done.empty:
        raise ConfigError("the meta-dataset has no completed trial to learn from.")
    if task_features is not None:
        for column in task_features.columns:
            done[column] = done["task"].map(task_features[column]).combine_first(
                done[column] if column in done else pd.Series(np.nan, index=done.index))
    if target == "percentile":
        done["target"] = done.groupby("task")["student_dev_score"].rank(pct=True, method="average")
    else:
        done["target"] = done["student_dev_score"] / done["teacher_dev_score"]
    done["pipeline_key"] = [pipeline_key(row) for row in done.to_dict("records")]
    done["task_reliability"] = done["task"].map(task_reliability(done))
    return done.reset_index(drop=True)


def task_reliability(done: pd.DataFrame) -> pd.Series:
    """Per task, the share of the dev-score variance of its completed trials that is not seed noise:
    ``1 - pooled within-pipeline variance / total variance``, clipped to [0, 1] (the reliability of one trial's
    score). The within-pipeline variance pools the pipelines run with several seeds (the shipped portfolio
    repeats the default pipeline); the total is robust, ``(IQR / 1.349)^2`` (a few collapsed trials must not
    make a task of otherwise indistinguishable pipelines look informative). NaN for a task that repeated no
    pipeline. ``done`` needs ``task``, ``pipeline_key`` and ``student_dev_score``."""
    out = {}
    for task, rows in done.groupby("task"):
        groups = rows.groupby("pipeline_key")["student_dev_score"]
        dof = (groups.count() - 1).clip(lower=0)
        q25, q75 = np.percentile(rows["student_dev_score"], [25, 75])
        total = ((q75 - q25) / 1.349) ** 2  # the variance of a normal distribution with this IQR
        if dof.sum() == 0 or not total > 0:
            out[task] = np.nan if dof.sum() == 0 else 0.0
            continue
        within = float((groups.var().fillna(0.0) * dof).sum() / dof.sum())
        out[task] = float(np.clip(1.0 - within / total, 0.0, 1.0))
    return pd.Series(out, dtype=float)


def _flag(value: Any) -> bool:
    """A meta-feature flag (True, 1, 1.0), missing (None, NaN) read as False."""
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def keeps_teacher_depth(pipeline: Mapping[str, Any]) -> bool:
    """Whether ``pipeline``'s procedure trains students as deep as the teacher (Born-Again sets
    ``student.layers`` from the teacher): no compression, whatever ``student.layers`` the row holds."""
    kind = pipeline.get("procedure.kind") or "standard"
    return kind in PROCEDURES and "student.layers" in PROCEDURES.get(kind).sets_from_teacher


@dataclass(frozen=True)
class Constraints:
    """What a user rules out: a fixed student depth, a size or latency budget, stage options they exclude
    (``("augment.pipeline", "contextual")`` excludes every pipeline with the contextual augmenter).

    ``compress`` (default True): the student must be smaller than the teacher, the point of distilling. At the
    meta-dataset's small fidelity a teacher-sized student (Born-Again) often scores best; ``compress=False``
    lets such pipelines be recommended.
    """

    student_layers: int | None = None
    max_params: float | None = None
    max_latency_ms: float | None = None
    exclude: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    compress: bool = True

    @classmethod
    def parse_exclude(cls, items: Sequence[str]) -> tuple[tuple[str, Any], ...]:
        """``["augment.pipeline=contextual", "procedure.kind=born_again"]`` -> pairs (values read as YAML)."""
        import yaml

        from autodistiller.config import PipelineConfig

        keys = set(PipelineConfig().to_flat())
        out = []
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or key.strip() not in keys:
                raise ConfigError(f"--exclude {item!r} must be KEY=VALUE with a pipeline key, e.g. "
                                  "augment.pipeline=contextual")
            out.append((key.strip(), yaml.safe_load(value)))
        return tuple(out)

    def excludes(self, pipeline: Mapping[str, Any]) -> bool:
        """Whether ``pipeline`` picks an excluded option (any part of a ``+`` sequence counts)."""
        return any(pipeline.get(key) == value or (pipeline.get(key) is not None
                                                  and picks_any(key, pipeline[key], [str(value)]))
                   for key, value in self.exclude)


def content_hash(frame: pd.DataFrame) -> str:
    columns = ["experiment_id", "trial_id", "status", "student_dev_score"]
    payload = frame[[c for c in columns if c in frame]].sort_values(["experiment_id", "trial_id"]).to_csv(index=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Recommender:
    """Suggest KD pipelines for a task from what the meta-dataset's searches learned.

    ``method``: ``surrogate`` (a :class:`SurrogateRecommender` ranks any candidate), ``nearest`` (the best
    pipelines of the ``k`` nearest training tasks) or ``best_average`` (one ranking for all tasks).
    ``features``: the ``mf.*`` meta-features the model reads. ``weighting``: ``none`` (every row alike) or
    ``reliability`` (each task's rows weigh its :func:`task_reliability`; a task without repeated seeds weighs 1).
    """

    def __init__(self, method: str = "surrogate", *, features: Sequence[str] | None = None,
                 target: str = "percentile", k: int = 3, n_estimators: int = 300, random_state: int = 0,
                 weighting: str = "none") -> None:
        if method not in METHODS:
            raise ConfigError(f"method={method!r} must be one of {METHODS}.")
        if weighting not in WEIGHTINGS:
            raise ConfigError(f"weighting={weighting!r} must be one of {WEIGHTINGS}.")
        self.method = method
        self.weighting = weighting
        self.features = list(features) if features is not None else [f for g in MF_GROUPS.values() for f in g]
        self.target = target
        self.k = k
        self.n_estimators = n_estimators
        self.random_state = random_state

    # ---- fitting
    def fit(self, table: pd.DataFrame) -> Recommender:
        """Fit on :func:`training_table` rows."""
        table = table.copy()
        for column in self.features:
            if column not in table:
                table[column] = np.nan
        self.encoder_ = PipelineEncoder().fit(table)
        inputs = self._inputs(table)
        self.input_names_ = list(inputs.columns)
        self.surrogate_ = SurrogateRecommender(self.n_estimators, random_state=self.random_state).fit(
            inputs.to_numpy(dtype=float), table["target"].to_numpy(dtype=float), sample_weight=self._weights(table))
        cost = table["train_seconds"].notna()
        self.cost_model_ = SurrogateRecommender(100, random_state=self.random_state).fit(
            inputs[cost].to_numpy(dtype=float), np.log(table.loc[cost, "train_seconds"].to_numpy(dtype=float)))
        task_features = table.groupby("task")[self.features].first()
        scores = table[["task", "pipeline_key", "target"]]
        self.nearest_ = NearestTasks(self.k).fit(task_features, scores)
        self.best_average_ = BestOnAverage().fit(scores)
        self.pipelines_ = {key: pipeline_of(row) for key, row in
                           table.drop_duplicates("pipeline_key").set_index("pipeline_key").iterrows()}
        self.families_ = {str(k): str(v) for k, v in table.groupby("task")["task_family"].first().items()}
        self.sizes_ = self._size_lookup(table)
        self.stamp_ = {"rows": len(table), "tasks": int(table["task"].nunique()), "version": __version__,
                       "meta_dataset": content_hash(table), "method": self.method, "target": self.target,
                       "weighting": self.weighting}
        return self

    def _weights(self, table: pd.DataFrame) -> np.ndarray | None:
        if self.weighting == "none":
            return None
        reliability = (table["task_reliability"] if "task_reliability" in table  # training_table adds it
                       else table["task"].map(task_reliability(table)))
        weights = reliability.fillna(1.0).to_numpy(dtype=float)
        return weights if weights.sum() > 0 else None  # every task pure noise: weigh them alike

    def _inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        mf = pd.DataFrame({f: pd.to_numeric(frame[f], errors="coerce") if f in frame else np.nan
                           for f in self.features}, index=frame.index).astype(float)
        for column in ("mf.train_size", "mf.num_classes"):  # decades apart across tasks
            if column in mf:
                mf[column] = np.log10(mf[column].clip(lower=1))
        return pd.concat([mf, self.encoder_.transform(frame)], axis=1)

    @staticmethod
    def _size_lookup(table: pd.DataFrame) -> dict[str, dict[str, float]]:
        """Median student parameters and latency per student depth (a student's size depends on its depth)."""
        out: dict[str, dict[str, float]] = {}
        for metric in ("student_params", "latency_ms"):
            if metric in table:
                med = table.dropna(subset=[metric]).groupby("student.layers")[metric].median()
                out[metric] = {str(int(k)): float(v) for k, v in med.items()}
        return out

    # ---- recommending
    def candidates(self) -> list[dict[str, Any]]:
        """Every pipeline the meta-dataset ran (each once)."""
        return [dict(p) for p in self.pipelines_.values()]

    def nearest_tasks(self, features: Mapping[str, Any], n: int = 3) -> list[tuple[str, float]]:
        self._check_fitted()
        distances = self.nearest_.neighbours(pd.Series(dict(features)))
        return [(task, float(d)) for task, d in distances.head(n).items()]

    def recommend(self, features: Mapping[str, Any], *, top_k: int = 3, constraints: Constraints | None = None,
                  candidates: Sequence[Mapping[str, Any]] | None = None,
                  params_of: Callable[[Mapping[str, Any]], float] | None = None,
                  teacher_params: float | None = None,
                  runs: Callable[[Mapping[str, Any]], bool] | None = None) -> pd.DataFrame:
        """The ``top_k`` pipelines for a task with meta-features ``features``, best first.

        Columns: ``rank``, ``predicted_score`` (the normalised target) and ``uncertainty``, ``predicted_train_seconds``,
        ``student_params`` (from ``params_of`` when given, else the meta-dataset's median for that depth) and
        ``predicted_latency_ms``, ``pipeline`` (flat keys) and one column per pipeline key. ``frame.attrs``
        holds the nearest training tasks. ``teacher_params``: the teacher's size, which ``constraints.compress``
        keeps every student below (without it, pipelines whose procedure keeps the teacher's depth are ruled
        out). ``runs``: whether a pipeline can run with the task's teacher (a TAKD assistant must lie between
        the student and a teacher of any depth); a pipeline it refuses is skipped. Constraints are always
        satisfied: a pipeline they rule out is never
        returned (the frame is shorter, or empty, when too few pass); nor is one the task cannot run (``kl``
        or ``teacher_free`` when ``features["mf.is_regression"]``, ``minimax_knn`` when ``features["mf.is_pair"]``).
        """
        self._check_fitted()
        if top_k < 1:
            raise ConfigError(f"top_k={top_k} must be >= 1.")
        constraints = constraints or Constraints()
        pool = [pipeline_of(p) for p in (candidates if candidates is not None else self.candidates())]
        if not pool:
            raise ConfigError("no candidate pipelines to rank.")
        kind = {"is_regression": _flag(features.get("mf.is_regression")),  # what the task cannot run is no
                "is_pair": _flag(features.get("mf.is_pair"))}                 # candidate (kl, minimax_knn, ...)
        pool = [p for p in pool if not unusable_choices(p, **kind)]
        if not pool:
            raise ConfigError("no candidate pipeline can run on this task (a regression task cannot use kl or "
                              "teacher_free, a pair task minimax_knn); give candidates that it can run.")
        frame = flat_rows(pool)
        for name in self.features:
            frame[name] = features.get(name, np.nan)
        inputs = self._inputs(frame).reindex(columns=self.input_names_).to_numpy(dtype=float)
        mean, spread = self.surrogate_.predict_spread(inputs)
        if self.method != "surrogate":
            keyed = (self.nearest_ if self.method == "nearest" else self.best_average_).score_keys(
                pd.Series(dict(features)))
            keys = [pipeline_key(p) for p in frame.to_dict("records")]
            mean = np.array([keyed.get(k, np.nan) for k in keys])
        out = pd.DataFrame({
            "predicted_score": mean,
            "uncertainty": spread,
            "predicted_train_seconds": np.exp(self.cost_model_.predict(inputs)),
            "student_params": [params_of(p) if params_of else self._lookup("student_params", p)
                               for p in frame.to_dict("records")],
            "predicted_latency_ms": [self._lookup("latency_ms", p) for p in frame.to_dict("records")],
            "pipeline": [pipeline_of(p) for p in frame.to_dict("records")],
        })
        keep = np.array([self._allowed(row, constraints, teacher_params) for row in out.to_dict("records")],
                        dtype=bool)
        out = out[keep & out["predicted_score"].notna().to_numpy()]
        out = out.sort_values(["predicted_score", "uncertainty"], ascending=[False, True], kind="stable")
        if runs is not None:  # checked best first, only until top_k pass: resolving a pipeline takes a few ms
            passing = []
            for index, pipeline in zip(out.index, out["pipeline"], strict=True):
                if len(passing) == top_k:
                    break
                if runs(pipeline):
                    passing.append(index)
            out = out.loc[passing]
        out = out.head(top_k)
        out.insert(0, "rank", range(1, len(out) + 1))
        out = out.reset_index(drop=True)
        out = pd.concat([out, pd.DataFrame(list(out["pipeline"]), index=out.index)], axis=1)
        out.attrs["nearest_tasks"] = self.nearest_tasks(features)
        return out

    def _lookup(self, metric: str, pipeline: Mapping[str, Any]) -> float:
        table = self.sizes_.get(metric, {})
        layers = pipeline.get("student.layers")
        if layers is None or not table:
            return float("nan")
        if str(int(layers)) in table:
            return table[str(int(layers))]
        known = sorted((int(k), v) for k, v in table.items())  # linear in depth beyond what ran
        (x0, y0), (x1, y1) = known[0], known[-1]
        return y0 if x1 == x0 else y0 + (y1 - y0) * (int(layers) - x0) / (x1 - x0)

    @staticmethod
    def _allowed(row: Mapping[str, Any], constraints: Constraints, teacher_params: float | None) -> bool:
        pipeline = row["pipeline"]
        if constraints.excludes(pipeline):
            return False
        if constraints.compress and (keeps_teacher_depth(pipeline) or (
                teacher_params is not None and not row["student_params"] < teacher_params)):
            return False
        if constraints.student_layers is not None and pipeline.get("student.layers") != constraints.student_layers:
            return False
        if constraints.max_params is not None and not row["student_params"] <= constraints.max_params:
            return False
        return constraints.max_latency_ms is None or row["predicted_latency_ms"] <= constraints.max_latency_ms

    def _check_fitted(self) -> None:
        if not hasattr(self, "surrogate_"):
            raise ConfigError("this Recommender is not fitted; call fit(training_table(rows)) first.")

    # ---- saving
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted recommender with skops, and ``<path>.json``: its stamp and the file's sha256."""
        import skops.io as sio

        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump(self, path)
        stamp = {**self.stamp_, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        Path(f"{path}.json").write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recommender:
        """Load a saved recommender; refuse a file whose checksum does not match its stamp, written by another
        version, or holding types outside the trusted list."""
        import skops.io as sio

        path = Path(path)
        stamp_path = Path(f"{path}.json")
        if not path.is_file() or not stamp_path.is_file():
            raise RecommenderFileError(f"{path}: a saved recommender needs the file and its {stamp_path.name} stamp.")
        stamp = json.loads(stamp_path.read_text())
        if hashlib.sha256(path.read_bytes()).hexdigest() != stamp.get("sha256"):
            raise RecommenderFileError(f"{path} does not match the checksum in {stamp_path.name}: it was changed "
                                       "after it was saved. Refit it (autodistiller recommend --refit).")
        if stamp.get("version") != __version__:
            raise RecommenderFileError(f"{path} was saved by autodistiller {stamp.get('version')}, this is "
                                       f"{__version__}; refit it.")
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise RecommenderFileError(f"{path} holds types outside the trusted list: {untrusted}; it is not loaded.")
        loaded = sio.load(path, trusted=list(TRUSTED_TYPES))
        if not isinstance(loaded, cls):
            raise RecommenderFileError(f"{path} holds a {type(loaded).__name__}, not a Recommender.")
        return loaded


#: the types a saved recommender may hold beyond skops' defaults (ours, and the numpy / sklearn pieces)
TRUSTED_TYPES = (
    "autodistiller.recommend._recommender.Recommender",
    "autodistiller.recommend._encode.PipelineEncoder",
    "autodistiller.recommend._estimator.SurrogateRecommender",
    "autodistiller.recommend._estimator.NearestTasks",
    "autodistiller.recommend._estimator.BestOnAverage",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
    "numpy.dtype",
    "numpy.ndarray",
    "builtins.float",
    "builtins.int",
)

