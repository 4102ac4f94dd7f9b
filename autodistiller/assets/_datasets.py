"""The suite-task registry and the atomic writer of ``<cache>/tasks/<name>/``.

A builder is a function registered by its task name with :func:`suite_task`; it gets the source package's
:class:`Archive` and returns a :class:`BuiltTask` (card fields + ``train``/``validation``/``test`` frames).
The writer checks the frames, fills ``source_package``, ``license`` and ``rows`` and writes the task.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autodistiller.assets._archive import Archive
from autodistiller.assets._packages import get_package
from autodistiller.errors import AssetError
from autodistiller.registries import Registry
from autodistiller.task_card import SPLITS, TaskCard

__all__ = [
    "BuiltTask",
    "TASK_BUILDERS",
    "TASK_PACKAGES",
    "TASKS_DIRNAME",
    "suite_task",
    "is_task_built",
    "write_task",
    "encode_labels",
    "classification_metric",
]

TASKS_DIRNAME = "tasks"
PRIMARY_METRICS = ("accuracy", "macro_f1", "mcc", "pearson")
# A class rarer than this share of the largest class makes accuracy misleading: score with macro-F1.
_IMBALANCE_RATIO = 0.5
_MANY_CLASSES = 10


@dataclass
class BuiltTask:
    """What a builder returns: every card field except name/source_package/license/rows, and the splits."""

    card: dict[str, Any]
    splits: dict[str, pd.DataFrame] = field(default_factory=dict)


TaskBuilder = Callable[[Archive], BuiltTask]
TASK_BUILDERS: Registry[TaskBuilder] = Registry("suite task")
TASK_PACKAGES: dict[str, str] = {}  # task name -> the package whose archive the builder reads


def suite_task(name: str, package: str) -> Callable[[TaskBuilder], TaskBuilder]:
    """Register ``fn`` as the builder of suite task ``name``, reading the archive of ``package``."""
    get_package(package)  # fail at import time on a typo, not at build time

    def decorator(fn: TaskBuilder) -> TaskBuilder:
        TASK_BUILDERS.register(name)(fn)
        TASK_PACKAGES[name] = package
        return fn

    return decorator


def encode_labels(values: pd.Series, names: Sequence[str]) -> pd.Series:
    """Map label strings to ids ``0..len(names)-1`` in ``names`` order; unknown values become missing."""
    mapping = {name: i for i, name in enumerate(names)}
    return values.map(mapping).astype("Int64")


def classification_metric(train_labels: pd.Series, num_classes: int) -> str:
    """accuracy for a balanced task with few classes, macro_f1 for imbalanced or many-class ones."""
    counts = np.bincount(train_labels.to_numpy(dtype=np.int64), minlength=num_classes)
    if num_classes > _MANY_CLASSES or counts.min() < _IMBALANCE_RATIO * counts.max():
        return "macro_f1"
    return "accuracy"


#: bump when a converter changes its output: caches built by an older version are rebuilt, not reused
BUILDER_VERSION = "1"


def is_task_built(directory: Path) -> bool:
    """``card.json`` is written last inside a temp dir that is then renamed: it marks a complete task, if it
    was written by the current converters (``builder_version``)."""
    card = directory / "card.json"
    if not card.is_file():
        return False
    try:
        return json.loads(card.read_text()).get("builder_version") == BUILDER_VERSION
    except (OSError, ValueError):
        return False


def _check(name: str, built: BuiltTask) -> None:
    """Refuse to write a task that the loaders would reject later (a bug in a builder, not user input)."""
    card = built.card
    regression = card["task_type"] == "regression"
    columns = ["text", "text_pair", "label"] if card["task_type"] == "pair" else ["text", "label"]
    problems = []
    if set(built.splits) != set(SPLITS):
        problems.append(f"splits {sorted(built.splits)} != {list(SPLITS)}")
    if card.get("metric") not in PRIMARY_METRICS:
        problems.append(f"metric {card.get('metric')!r} not in {PRIMARY_METRICS}")
    for split, frame in built.splits.items():
        if list(frame.columns) != columns:
            problems.append(f"{split} columns {list(frame.columns)} != {columns}")
            continue
        if frame.empty:
            problems.append(f"{split} is empty")
            continue
        if frame["label"].isna().any() or frame["text"].isna().any():
            problems.append(f"{split} has missing values")
        if not regression:
            labels = frame["label"]
            if labels.min() < 0 or labels.max() >= card["num_classes"]:
                problems.append(f"{split} labels outside 0..{card['num_classes'] - 1}")
    if not regression and not problems:
        missing = set(range(card["num_classes"])) - set(built.splits["train"]["label"])
        if missing:
            problems.append(f"classes {sorted(missing)} have no train row")
    if problems:
        raise AssetError(f"suite task {name!r} was built wrong: " + "; ".join(problems))


def write_task(name: str, built: BuiltTask, tasks_dir: Path, *, replace: bool = False) -> tuple[Path, TaskCard]:
    """Write ``tasks_dir/<name>/{train,validation,test}.parquet`` + ``card.json`` atomically.

    ``replace`` swaps out a complete older build (``build_assets(force=True)``); otherwise a complete
    directory that appeared meanwhile (a concurrent build) is kept.
    """
    _check(name, built)
    package = get_package(TASK_PACKAGES[name])
    regression = built.card["task_type"] == "regression"
    splits = {}
    for split in SPLITS:
        frame = built.splits[split].reset_index(drop=True).copy()
        for col in ("text", "text_pair"):
            if col in frame.columns:
                frame[col] = frame[col].astype(str)
        frame["label"] = frame["label"].astype("float64" if regression else "int64")
        splits[split] = frame
    card = TaskCard(
        name=name,
        source_package=package.spec,
        license=package.card_license,
        rows={split: len(frame) for split, frame in splits.items()},
        builder_version=BUILDER_VERSION,
        **built.card,
    )
    final = tasks_dir / name
    tasks_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=tasks_dir))
    try:
        content = tmp / name
        content.mkdir()
        for split, frame in splits.items():
            frame.to_parquet(content / f"{split}.parquet", index=False)
        card.save(content)  # last: the completeness marker
        if final.exists() and (replace or not is_task_built(final)):
            # A leftover without card.json is incomplete by definition; move it aside, then delete it.
            os.rename(final, tmp / "old")
        try:
            os.rename(content, final)
        except OSError:
            if not is_task_built(final):  # else a concurrent build finished first: keep its result
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, card
