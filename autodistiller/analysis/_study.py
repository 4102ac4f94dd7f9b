"""Trial rows as an Optuna study: for the importance evaluators, and exported for optuna-dashboard."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autodistiller.analysis._frame import (
    Filter,
    _require,
    pipeline_keys,
    python_value,
    searched_params,
    select,
)
from autodistiller.errors import ConfigError

__all__ = ["export_optuna", "param_distributions", "rows_to_study"]

#: columns copied into every exported trial's user attributes (when present and not null)
USER_ATTR_COLUMNS = ("trial_id", "experiment_id", "task", "status", "metric", "student_dev_score",
                     "student_test_score", "teacher_dev_score", "teacher_test_score", "score_retained",
                     "student_params", "teacher_params", "latency_ms", "teacher_latency_ms", "train_seconds",
                     "error")
_STATES = {"completed": "COMPLETE", "early_stopped": "PRUNED"}  # failed, interrupted, ...: FAIL


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna without its INFO lines ("A new study created ...") and experimental-feature warnings."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(before)


def _kind(key: str, values: pd.Series) -> type:
    from autodistiller.config import section_fields

    for spec in section_fields():
        if spec.key == key:
            return spec.type
    sample = python_value(values.iloc[0])
    return type(sample) if isinstance(sample, bool | int | float | str) else str


def param_distributions(frame: pd.DataFrame, params: Sequence[str]) -> dict[str, Any]:
    """One Optuna distribution per parameter, spanning the non-null values in ``frame``: categorical for text
    and flags, ``IntDistribution(min, max)`` for integers, ``FloatDistribution(min, max)`` for floats (log
    scale when every value is positive and they span 10x or more)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for key in params:
        values = frame[key].dropna()
        if values.empty:
            continue
        kind = _kind(key, values)
        if kind in (str, bool):
            choices = sorted({kind(python_value(v)) for v in values}, key=lambda v: (str(type(v)), v))
            out[key] = CategoricalDistribution(choices)
        elif kind is int:
            ints = values.astype("int64")
            out[key] = IntDistribution(int(ints.min()), int(ints.max()))
        else:
            floats = values.astype(float)
            low, high = float(floats.min()), float(floats.max())
            out[key] = FloatDistribution(low, high, log=bool(low > 0 and high >= 10 * low))
    return out


def _param_value(distribution: Any, value: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    value = python_value(value)
    if isinstance(distribution, CategoricalDistribution):
        kind = type(distribution.choices[0])
        return kind(value)
    if isinstance(distribution, IntDistribution):
        return int(value)
    return float(value)


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or pd.isna(value):  # NaT is a datetime too
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.to_pydatetime()


def _frozen_trial(row: Mapping[str, Any], distributions: Mapping[str, Any], score: str, number: int) -> Any:
    from optuna.trial import FrozenTrial, TrialState

    value = row.get(score)
    value = float(value) if value is not None and not pd.isna(value) and math.isfinite(float(value)) else None
    state = TrialState[_STATES.get(str(row.get("status")), "FAIL")]
    if state == TrialState.COMPLETE and value is None:
        state = TrialState.FAIL  # a finished trial without a score cannot be a complete Optuna trial
    if state == TrialState.FAIL:
        value = None
    params = {key: _param_value(dist, row[key]) for key, dist in distributions.items()
              if key in row and not pd.isna(row[key])}
    ended = _timestamp(row.get("ended_at")) or dt.datetime.now(dt.timezone.utc)
    started = _timestamp(row.get("started_at")) or ended
    history = row.get("dev_score_history")
    intermediate = {}
    if history is not None and not (np.isscalar(history) and pd.isna(history)):
        intermediate = {step: float(v) for step, v in enumerate(history, start=1)
                        if v is not None and math.isfinite(float(v))}
    user_attrs = {}
    for column in USER_ATTR_COLUMNS:
        item = row.get(column)
        if item is not None and not pd.isna(item):
            item = python_value(item)
            user_attrs[column] = item if isinstance(item, bool | int | float | str) else str(item)
    return FrozenTrial(number=number, state=state, value=value, datetime_start=started, datetime_complete=ended,
                       params=params, distributions={k: distributions[k] for k in params}, user_attrs=user_attrs,
                       system_attrs={}, intermediate_values=intermediate, trial_id=number)


def rows_to_study(frame: pd.DataFrame, *, score: str = "student_dev_score", params: Sequence[str] | None = None,
                  storage: Any = None, study_name: str | None = None, load_if_exists: bool = False) -> Any:
    """An Optuna study (direction ``maximize``) holding one trial per row of ``frame``, in ``ended_at`` order.

    - the trial's value is the row's ``score`` (default ``student_dev_score``, the value a search maximises);
    - params: ``params``, default every pipeline key that takes more than one value in ``frame``; a NULL
      (not applicable) value is left out of that trial's params, so conditional parameters stay conditional;
    - state: ``completed`` -> COMPLETE (FAIL when it has no score), ``early_stopped`` -> PRUNED, anything else
      (``failed``, ``interrupted``) -> FAIL; ``dev_score_history`` becomes the intermediate values (step =
      epoch), the trial id, status, scores, size and latency become user attributes;
    - ``storage`` / ``study_name`` / ``load_if_exists`` go to :func:`optuna.create_study` (default: in memory).
    """
    import optuna

    keys = searched_params(frame, params) if params is None else [p for p in params if p in frame.columns]
    distributions = param_distributions(frame, keys)
    ordered = frame.sort_values("ended_at", kind="stable") if "ended_at" in frame.columns else frame
    with quiet_optuna():
        study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize",
                                    load_if_exists=load_if_exists)
        study.add_trials([_frozen_trial(row, distributions, score, number)
                          for number, row in enumerate(ordered.to_dict("records"))])
    return study


def _storage_url(out: str | os.PathLike[str]) -> str:
    text = str(out)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _no_fsync(engine: Any) -> None:
    """SQLite without an fsync per commit (Optuna commits each trial: ~80 ms each otherwise). An export that
    crashes is simply run again."""
    from sqlalchemy import event

    def pragma(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    event.listen(engine, "connect", pragma)
    engine.dispose()  # connections opened before the listener get replaced


def export_optuna(frame: pd.DataFrame, out: str | os.PathLike[str], *, score: str = "student_dev_score",
                  task: Filter = None, family: Filter = None, status: Filter = None, experiment: Filter = None,
                  overwrite: bool = False) -> dict[str, int]:
    """Write the rows as Optuna studies in an RDB storage: one study per search (``experiment_id``), named
    after it (``<experiment_id>@<task>`` when an experiment spans several tasks). ``out`` is a file path
    (an SQLite database, created if needed) or an SQLAlchemy URL. Open it with
    ``optuna.load_study(study_name=..., storage="sqlite:///study.db")`` or ``optuna-dashboard sqlite:///study.db``.

    Each study holds the experiment's rows as :func:`rows_to_study` builds them; pipeline parameters fixed
    in the whole search become the study's user attributes (``fixed.<key>``). A study that already exists is
    an error unless ``overwrite=True`` (then it is replaced). Returns ``{study name: trials}``.
    """
    import optuna

    rows = select(frame, task=task, family=family, status=status, experiment=experiment)
    _require(rows, ["experiment_id", "task", "status"], what="export_optuna")
    if rows.empty:
        raise ConfigError("no trial rows to export: the meta-dataset (after the --task/--status/--experiment "
                          "filters) is empty.")
    url = _storage_url(out)
    storage = optuna.storages.RDBStorage(url)
    if url.startswith("sqlite:"):
        _no_fsync(storage.engine)
    tasks_per_experiment = rows.groupby("experiment_id")["task"].nunique()
    existing = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    plan: list[tuple[str, pd.DataFrame]] = []
    for (experiment_id, task_name), group in rows.groupby(["experiment_id", "task"], sort=True):
        name = str(experiment_id) if tasks_per_experiment[experiment_id] == 1 else f"{experiment_id}@{task_name}"
        plan.append((name, group))
    clashes = sorted(name for name, _ in plan if name in existing)
    if clashes and not overwrite:
        raise ConfigError(f"study {clashes[0]!r} already exists in {url}; pass overwrite=True "
                          "(--overwrite) to replace it, or write to another --out file.")
    written: dict[str, int] = {}
    with quiet_optuna():
        for name, group in plan:
            if name in existing:
                optuna.delete_study(study_name=name, storage=storage)
            study = rows_to_study(group, score=score, storage=storage, study_name=name)
            for key in pipeline_keys():
                if key in group.columns and group[key].dropna().nunique() == 1:
                    study.set_user_attr(f"fixed.{key}", python_value(group[key].dropna().iloc[0]))
            study.set_user_attr("task", str(group["task"].iloc[0]))
            study.set_user_attr("score", score)
            if "metric" in group.columns and group["metric"].notna().any():
                study.set_user_attr("metric", str(group["metric"].dropna().iloc[0]))
            written[name] = len(group)
    storage.remove_session()
    return written
