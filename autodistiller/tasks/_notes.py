"""Silent traps of a user's own data, said out loud: text columns the task does not read, and scores that sit at
the majority-class score (a model that learned nothing from the text, e.g. a pair task whose pair column was
forgotten)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from autodistiller.tasks._metrics import majority_baseline

__all__ = ["majority_note", "unused_text_columns", "unused_text_note"]

_SAMPLE = 5000
#: a text-like column: string values of at least this many words (median) ...
_MIN_WORDS = 3
#: ... and varied: at least this many distinct values, and this share of the rows
_MIN_DISTINCT = 10
_MIN_DISTINCT_SHARE = 0.05
#: a score within this of the majority-class score "sits at" it
MAJORITY_TOLERANCE = 0.01


def unused_text_columns(frame: pd.DataFrame, used: Iterable[str | None]) -> list[tuple[str, float]]:
    """``(column, median words)`` of each string column not in ``used`` whose values are long and varied
    (at least 3 words at the median, at least 10 distinct values and 5% of the rows): a text the task may
    have been meant to read. Read from the first 5,000 rows."""
    skip = {c for c in used if c}
    found = []
    for column in frame.columns:
        if column in skip:
            continue
        values = frame[column].head(_SAMPLE).dropna()
        if values.empty or not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        values = values.astype(str)
        words = float(values.str.split().str.len().median())
        distinct = values.nunique()
        if words >= _MIN_WORDS and distinct >= max(_MIN_DISTINCT, _MIN_DISTINCT_SHARE * len(values)):
            found.append((str(column), words))
    return found


def unused_text_note(where: str, found: list[tuple[str, float]], *, text_column: str,
                     text_pair_column: str | None) -> str:
    """The log line for :func:`unused_text_columns`: the columns, and the flag that reads one."""
    listed = ", ".join(f"{column!r} (median {words:.0f} words)" for column, words in found)
    read = repr(text_column) + (f" and {text_pair_column!r}" if text_pair_column else "")
    if text_pair_column is None:
        hint = ("If each example is a pair of texts, name the second one with --text-pair-column COL "
                "(TaskSpec(text_pair_column=...)); to read another text, --text-column COL")
    else:
        hint = "To read one of them instead, pass --text-column / --text-pair-column"
    return f"{where} has text columns this task does not read: {listed}; it reads only {read}. {hint}."


def majority_note(task: Any, *, student_dev_score: float | None, teacher_dev_score: float | None) -> str | None:
    """A warning when the student (and the teacher, when there is one) score no better on dev than always
    predicting the majority class (the training mean for regression); else None."""
    card = task.card
    if student_dev_score is None or not math.isfinite(student_dev_score):
        return None
    majority = majority_baseline(card.task_type, task.labels("train"), task.labels("validation")).get(card.metric)
    if majority is None or not math.isfinite(majority):
        return None

    def at(score: float | None) -> bool:
        return score is not None and math.isfinite(score) and score <= majority + MAJORITY_TOLERANCE

    has_teacher = teacher_dev_score is not None and math.isfinite(teacher_dev_score)
    if not at(student_dev_score) or (has_teacher and not at(teacher_dev_score)):
        return None
    constant = "predicting the training mean" if card.is_regression else "always predicting the majority class"
    who = (f"teacher ({teacher_dev_score:.4f}) and student ({student_dev_score:.4f}) both sit"
           if has_teacher else f"the student ({student_dev_score:.4f}) sits")
    columns = "" if card.has_pair else "the columns (a pair task needs --text-pair-column), "
    learned = "neither learned anything" if has_teacher else "it learned nothing"
    return (f"{who} at the majority-class dev {card.metric} {majority:.4f} ({constant}): {learned} from the text. "
            f"Check {columns}the labels, and the training budget (epochs, learning rate).")
