"""A cheap baseline beside every task: TF-IDF features + a linear model (scikit-learn), fitted in seconds.

Distillation is worth its cost only when the student beats what a bag-of-words model reaches for almost
nothing. :func:`tfidf_baseline` fits that model on a task's training split and scores it on dev and test
under the task card's metric, with its size and its latency, so that reports, ``distill``/``search`` and the
recommender (as a "landmarker" meta-feature) can put it next to the teacher and the student.

>>> from autodistiller.baseline import tfidf_baseline
>>> result = tfidf_baseline(task)             # BaselineResult(metric='macro_f1', dev_score=..., ...)

The recipe (fixed, so that every consumer sees the same number):

- text: ``text``, or ``text + " [SEP] " + text_pair`` for pair tasks (the ``sep`` token marks the boundary);
- features: ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=100_000)``, lower-cased
  words of two or more characters;
- model: logistic regression fitted by SGD (``SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=100,
  random_state=seed)``, one-vs-rest; as accurate as lbfgs on the suite and 10-40x faster on its large tasks)
  for classification, ``Ridge(alpha=1)`` for regression tasks. Deterministic for a given seed;
- ``max_train_examples > 0`` fits on the same seeded, stratified subset a student with
  ``training.max_train_examples`` and ``training.seed = seed`` sees (``autodistiller.tasks.subset_indices``).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autodistiller.errors import ConfigError, TaskError

__all__ = ["BASELINE_NAME", "BaselineResult", "baseline_note", "cached_tfidf_baseline", "tfidf_baseline"]

#: bump when the recipe changes: cached results of another recipe are then ignored
RECIPE_VERSION = 1
#: the name the baseline goes by in tables and reports
BASELINE_NAME = "tfidf baseline"
_LATENCY_EXAMPLES = 48
_LATENCY_WARMUP = 4
_SEPARATOR = " [SEP] "


@dataclass(frozen=True)
class BaselineResult:
    """The TF-IDF baseline of one task.

    ``dev_score`` / ``test_score``: the task card's primary ``metric`` on the dev and test splits (``nan``
    when the task has no test split). ``fit_seconds``: wall time of fitting the pipeline (vectorizer +
    model). ``size_bytes``: the pickled fitted pipeline. ``latency_ms``: median milliseconds to predict one
    example (batch size 1, the first 48 dev examples after 4 warm-up calls), like the students' latency.
    ``model``: ``tfidf+logreg`` (SGD) or ``tfidf+ridge``. ``train_examples``: examples it was fitted on.
    """

    task: str
    metric: str
    dev_score: float
    test_score: float
    fit_seconds: float
    size_bytes: int
    latency_ms: float
    model: str
    train_examples: int
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (f"TF-IDF baseline ({self.model}): dev {self.metric} {self.dev_score:.4f} / test "
                f"{self.test_score:.4f}  {self.size_bytes / 1e6:.1f} MB  {self.latency_ms:.2f} ms/example  "
                f"fitted in {self.fit_seconds:.1f} s")


def _texts(task: Any, split: str) -> list[str]:
    data = task.splits[split]
    texts = [str(t) for t in data["text"]]
    if task.card.has_pair:
        pairs = [str(t) for t in data["text_pair"]]
        texts = [f"{a}{_SEPARATOR}{b}" for a, b in zip(texts, pairs, strict=True)]
    return texts


def _pipeline(regression: bool, seed: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge, SGDClassifier
    from sklearn.pipeline import Pipeline

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=100_000)
    model = (Ridge(alpha=1.0) if regression
             else SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=100, tol=1e-4, random_state=seed))
    return Pipeline([("tfidf", vectorizer), ("model", model)])


def _predictions(pipeline: Any, texts: list[str], *, regression: bool, num_classes: int) -> np.ndarray:
    """What :func:`autodistiller.tasks.compute_metrics` takes: values for regression, else ``[n, C]`` scores
    (class probabilities placed in the columns of the classes seen in training)."""
    if regression:
        return np.asarray(pipeline.predict(texts), dtype=np.float64)
    proba = pipeline.predict_proba(texts)
    scores = np.zeros((len(texts), max(2, num_classes)))
    scores[:, pipeline.classes_.astype(np.int64)] = proba
    return scores


def _score(pipeline: Any, task: Any, split: str) -> float:
    from autodistiller.tasks import compute_metrics

    if split not in task.splits or len(task.splits[split]) == 0:
        return float("nan")
    card = task.card
    scores = _predictions(pipeline, _texts(task, split), regression=card.is_regression,
                          num_classes=card.num_classes)
    metrics = compute_metrics(card.task_type, scores, task.labels(split))
    if card.metric not in metrics:
        raise TaskError(f"task {card.name!r}: metric={card.metric!r} is not computed for task_type="
                         f"{card.task_type!r}; metrics are: {sorted(metrics)}")
    return float(metrics[card.metric])


def _latency_ms(pipeline: Any, texts: list[str]) -> float:
    sample = texts[:_LATENCY_EXAMPLES]
    if not sample:
        return float("nan")
    timings = []
    for step, text in enumerate(sample[:_LATENCY_WARMUP] + sample):
        start = time.perf_counter()
        pipeline.predict([text])
        if step >= _LATENCY_WARMUP:
            timings.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(timings)


def tfidf_baseline(task: Any, *, seed: int = 0, max_train_examples: int = 0) -> BaselineResult:
    """Fit the TF-IDF baseline on ``task``'s training split and score it (see the module docstring).

    ``task`` is a loaded :class:`autodistiller.tasks.Task`. ``max_train_examples > 0`` fits on a seeded
    subset of that many training examples (stratified for classification); ``seed`` picks the subset.
    Deterministic: the same task and arguments give the same scores.
    """
    if max_train_examples < 0:
        raise ConfigError(f"max_train_examples={max_train_examples} must be >= 0 (0: the whole training split).")
    from sklearn.exceptions import ConvergenceWarning

    from autodistiller.tasks import subset_indices

    card = task.card
    texts = _texts(task, "train")
    labels = task.labels("train")
    keep = subset_indices(labels, max_train_examples, seed=seed, classification=not card.is_regression)
    texts = [texts[i] for i in keep]
    labels = labels[keep].astype(np.float64 if card.is_regression else np.int64)
    pipeline = _pipeline(card.is_regression, seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a quick baseline: 100 epochs of SGD at most
        pipeline.fit(texts, labels)
    fit_seconds = time.perf_counter() - start
    return BaselineResult(
        task=card.name,
        metric=card.metric,
        dev_score=_score(pipeline, task, "validation"),
        test_score=_score(pipeline, task, "test"),
        fit_seconds=fit_seconds,
        size_bytes=len(pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL)),
        latency_ms=_latency_ms(pipeline, _texts(task, "validation")),
        model="tfidf+ridge" if card.is_regression else "tfidf+logreg",
        train_examples=len(texts),
        seed=seed,
    )


def baseline_note(baseline: BaselineResult, *, teacher_dev_score: float | None = None,
                  student_dev_score: float | None = None) -> str | None:
    """One plain sentence when the baseline beats the teacher on dev (or, failing that, matches the student);
    else None."""
    model = "ridge regression" if baseline.model == "tfidf+ridge" else "logistic regression"
    score = baseline.dev_score
    if not np.isfinite(score):
        return None
    if teacher_dev_score is not None and np.isfinite(teacher_dev_score) and score > teacher_dev_score:
        return (f"a TF-IDF + {model} reaches {score:.4f} on dev, above the teacher's {teacher_dev_score:.4f}: "
                "distillation may not be worth it here.")
    if student_dev_score is not None and np.isfinite(student_dev_score) and score >= student_dev_score:
        return (f"a TF-IDF + {model} reaches {score:.4f} on dev, at least the student's {student_dev_score:.4f}, "
                f"at {baseline.latency_ms:.2f} ms/example and {baseline.size_bytes / 1e6:.1f} MB: weigh it against "
                "the student.")
    return None


def cached_tfidf_baseline(task: Any, *, seed: int = 0, max_train_examples: int = 0,
                          cache_dir: str | os.PathLike[str] | None = None) -> BaselineResult:
    """:func:`tfidf_baseline`, stored as JSON under ``<cache>/baselines/`` and reused while the task's data
    (its content hash), the arguments and the recipe are unchanged. ``cache_dir`` defaults to the AutoDistiller
    cache (``$AUTODISTILLER_CACHE`` or ``~/.cache/autodistiller``)."""
    from autodistiller._paths import cache_root

    key = hashlib.sha256(repr((RECIPE_VERSION, task.fingerprint(), seed, max_train_examples)).encode()).hexdigest()
    path = Path(cache_root(cache_dir)) / "baselines" / f"{task.name}-{key[:16]}.json"
    if path.is_file():
        try:
            return BaselineResult(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            pass  # unreadable or from another version of the dataclass: fit again
    result = tfidf_baseline(task, seed=seed, max_train_examples=max_train_examples)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result.to_dict(), allow_nan=True) + "\n")
    os.replace(tmp, path)
    return result
