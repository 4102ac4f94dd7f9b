"""Pipelines as model inputs: which flat keys are choices, a pipeline's identity across tasks, and a numeric
encoding of (pipeline, task meta-features) rows for the surrogate."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from autodistiller.config import PipelineConfig, section_fields
from autodistiller.registries import AUGMENTERS

__all__ = ["NOT_CHOICES", "PipelineEncoder", "choice_keys", "flat_rows", "pipeline_key", "pipeline_of"]

#: flat keys that say how a run was made, not which pipeline it is: left out of a pipeline's identity and of
#: the model's inputs (a seed is noise; resources and model paths do not transfer between users)
NOT_CHOICES = frozenset({"training.seed", "training.compile", "training.precision", "augment.mlm",
                         "augment.translators", "student.model"})
#: numbers spanning decades enter the model as log10
_LOG_SCALE = frozenset({"training.learning_rate", "augment.mate_generator_lr", "intermediate.beta",
                        "training.weight_decay"})


def choice_keys() -> list[str]:
    """The flat pipeline keys that are choices (every config key but :data:`NOT_CHOICES`)."""
    return [spec.key for spec in section_fields() if spec.key not in NOT_CHOICES]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def pipeline_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The choice keys of a (resolved) row that are set: its pipeline, inactive parameters left out, each value
    of its config field's type (a DataFrame holds an integer column with nulls as floats)."""
    types = _field_types()
    return {key: _plain(row[key], types[key]) for key in choice_keys() if key in row and not _missing(row[key])}


@functools.cache
def _field_types() -> dict[str, type]:
    return {spec.key: spec.type for spec in section_fields()}


def _plain(value: Any, kind: type) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def pipeline_key(row: Mapping[str, Any]) -> str:
    """A pipeline's identity: the same string for the same choices on every task (seed and paths ignored)."""
    return json.dumps(pipeline_of(row), sort_keys=True, default=str)


class PipelineEncoder:
    """Numeric columns for pipeline choices: numbers as they are (log10 for rates), booleans 0/1, categories
    one-hot, each augmenter of an ``augment.pipeline`` sequence its own indicator; an inactive parameter is
    NaN (numbers) or all zeros (categories). Fitted on training rows: the category values it saw."""

    def __init__(self) -> None:
        self.categories_: dict[str, list[str]] = {}
        self.numeric_: list[str] = []

    def fit(self, frame: pd.DataFrame) -> PipelineEncoder:
        specs = {spec.key: spec for spec in section_fields()}
        self.numeric_, self.categories_ = [], {}
        for key in choice_keys():
            if key not in frame:
                continue
            spec = specs[key]
            if key == "augment.pipeline":
                self.categories_[key] = sorted(AUGMENTERS.names())
            elif spec.type in (int, float, bool):
                self.numeric_.append(key)
            else:
                values = sorted({str(v) for v in frame[key] if not _missing(v)})
                if values:
                    self.categories_[key] = values
        return self

    @property
    def feature_names(self) -> list[str]:
        return [*self.numeric_, *(f"{key}={value}" for key, values in self.categories_.items() for value in values)]

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        columns: dict[str, np.ndarray] = {}
        n = len(frame)
        for key in self.numeric_:
            raw = frame[key] if key in frame else pd.Series([None] * n)
            values = np.array([np.nan if _missing(v) else float(v) for v in raw], dtype=float)
            if key in _LOG_SCALE:
                with np.errstate(divide="ignore"):
                    values = np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)
            columns[key] = values
        for key, options in self.categories_.items():
            raw = frame[key] if key in frame else pd.Series([None] * n)
            for value in options:
                if key == "augment.pipeline":
                    hit = [0.0 if _missing(v) else float(value in AUGMENTERS.chosen(v)) for v in raw]
                else:
                    hit = [0.0 if _missing(v) else float(str(v) == value) for v in raw]
                columns[f"{key}={value}"] = np.asarray(hit)
        return pd.DataFrame(columns, index=frame.index)


def flat_rows(pipelines: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Candidate pipelines (flat keys, inactive ones left out) as a frame of every choice key (None where
    inactive), resolved over the config defaults."""
    from autodistiller.config import active_parameters, procedure_settings

    rows = []
    defaults = PipelineConfig().to_flat()
    for pipeline in pipelines:
        values = {**defaults, **pipeline}
        values.update(procedure_settings(values["procedure.kind"])[0])
        active = active_parameters(values)
        rows.append({key: values[key] if key in active else None for key in choice_keys()})
    return pd.DataFrame(rows)
