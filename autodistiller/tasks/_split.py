"""Seeded train / validation / test splits of one table, and :class:`TaskSplit`: the source rows of each split.

A split keeps the table's index, so each part still says which source rows it holds. Without a group column,
:func:`split_frame` is scikit-learn's ``train_test_split`` twice (stratified by label for classification when
every class has at least 3 rows). With ``group_column``, the rows of one group (the sentence of a pair dataset
whose sentences each have many candidates, the author of many tweets, ...) all land in the same split:
``StratifiedGroupKFold`` deals the groups into ``1 / smallest holdout fraction`` folds (10 for 80/10/10),
balancing the labels (5 quantile bins of the score for regression) as far as the groups allow; the first folds
are test and validation, the rest is train.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from autodistiller.errors import TaskError

__all__ = ["SPLIT_FILE", "SPLIT_SEED", "TaskSplit", "split_frame"]

SPLIT_SEED = 13
#: the file ``distill --output`` and ``search`` write into their output folder
SPLIT_FILE = "split.json"
#: above this many rows in all, ``split.json`` holds each split's hash, not its row ids
MAX_SAVED_IDS = 1_000_000
_REGRESSION_BINS = 5
_NAMES = ("train", "validation", "test")


def _describe_fractions(fractions: tuple[float, float, float]) -> str:
    shown = [(name, f) for name, f in zip(_NAMES, fractions, strict=True) if f > 0]
    return "/".join(f"{round(f * 100):d}" for _, f in shown) + " " + "/".join(name for name, _ in shown)


def split_frame(frame: pd.DataFrame, label_column: str, *, classification: bool = True,
                fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = SPLIT_SEED,
                group_column: str | None = None) -> tuple[dict[str, pd.DataFrame], str, str]:
    """Split ``frame`` into train / validation (/ test when ``fractions[2] > 0``); the parts keep its index.

    Returns ``(parts, method, how)``: ``method`` is ``stratified``, ``random``, ``grouped_stratified``;
    ``how`` says it in words for the log.
    """
    if len(frame) < 10:
        raise TaskError(f"only {len(frame)} rows: too few to split into train/validation/test.")
    if group_column is not None:
        return _grouped(frame, label_column, classification=classification, fractions=fractions, seed=seed,
                        group_column=group_column)
    from sklearn.model_selection import train_test_split

    stratify = None
    if classification and label_column in frame:
        counts = frame[label_column].value_counts()
        stratify = frame[label_column] if counts.min() >= 3 else None
    holdout = fractions[1] + fractions[2]
    train, rest = train_test_split(frame, test_size=holdout, random_state=seed, stratify=stratify)
    method = "stratified" if stratify is not None else "random"
    how = (f"{_describe_fractions(fractions)}, "
           + ("stratified by label" if stratify is not None
              else "random (regression)" if not classification else "random (a class has fewer than 3 rows)")
           + f", seed {seed}")
    if fractions[2] == 0:
        return {"train": train, "validation": rest}, method, how
    rest_stratify = rest[label_column] if stratify is not None and rest[label_column].value_counts().min() >= 2 \
        else None
    validation, test = train_test_split(rest, test_size=fractions[2] / holdout, random_state=seed,
                                        stratify=rest_stratify)
    return {"train": train, "validation": validation, "test": test}, method, how


def _grouped(frame: pd.DataFrame, label_column: str, *, classification: bool,
             fractions: tuple[float, float, float], seed: int, group_column: str
             ) -> tuple[dict[str, pd.DataFrame], str, str]:
    from sklearn.model_selection import StratifiedGroupKFold

    groups = frame[group_column]
    if groups.isna().any():
        raise TaskError(f"group column {group_column!r} has {int(groups.isna().sum())} missing values; every row "
                        "needs a group (fill or drop those rows).")
    unit = min(f for f in fractions[1:] if f > 0)
    n_folds = round(1 / unit)
    folds_of = {"validation": round(fractions[1] / unit), "test": round(fractions[2] / unit)}
    codes = pd.factorize(groups.astype(str), sort=False)[0]
    n_groups = int(codes.max()) + 1
    if n_groups < n_folds:
        raise TaskError(f"group column {group_column!r} has {n_groups} distinct groups: too few to split into "
                        f"{_describe_fractions(fractions)} with each group in one split (at least {n_folds} needed).")
    labels = frame[label_column]
    if classification:
        strata = pd.factorize(labels.astype(str), sort=True)[0]
        by = "stratified by label where the groups allow"
    else:
        ranks = pd.to_numeric(labels, errors="coerce").rank(method="first")
        strata = np.asarray(pd.qcut(ranks, q=_REGRESSION_BINS, labels=False, duplicates="drop"), dtype=np.int64)
        by = f"stratified by {_REGRESSION_BINS} quantile bins of the score where the groups allow"
    folder = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold = np.empty(len(frame), dtype=np.int64)
    with warnings.catch_warnings():  # "the least populated class has only N members": stratified where possible
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, held) in enumerate(folder.split(np.zeros(len(frame)), strata, codes)):
            fold[held] = k
    assignment = np.full(len(frame), "train", dtype=object)
    assignment[fold < folds_of["test"]] = "test"
    assignment[(fold >= folds_of["test"]) & (fold < folds_of["test"] + folds_of["validation"])] = "validation"
    parts = {name: frame[assignment == name] for name in _NAMES if name == "train" or folds_of.get(name)}
    for name, part in parts.items():
        if part.empty:
            raise TaskError(f"grouping by {group_column!r} left the {name} split empty ({n_groups} groups); "
                            "use a finer group column.")
    how = (f"{_describe_fractions(fractions)}, grouped by column {group_column!r} ({n_groups} groups, none in two "
           f"splits), {by}, seed {seed}")
    return parts, "grouped_stratified", how


def _ids_sha256(ids: np.ndarray) -> str:
    return hashlib.sha256(",".join(str(int(i)) for i in ids).encode()).hexdigest()


@dataclass(frozen=True)
class TaskSplit:
    """Which source rows each split of a task holds, and how they were chosen.

    ``files[split]`` is the file (or Hub split) the split's rows come from; ``source_rows[split]`` their 0-based
    positions in it as pandas reads it (header excluded), in the split's order. ``method`` is ``given`` (the
    source's own split files), ``stratified``, ``random`` or ``grouped_stratified``; ``seed`` the seed of a
    split made here (None for given splits); ``description`` the whole story in one line, for the log.
    """

    method: str
    description: str
    files: Mapping[str, str]
    source_rows: Mapping[str, np.ndarray] = field(repr=False)
    seed: int | None = None
    group_column: str | None = None

    def to_dict(self, *, max_ids: int = MAX_SAVED_IDS) -> dict[str, Any]:
        """The content of ``split.json``: the row ids of each split while there are at most ``max_ids`` in all,
        else only their count and hash (``sha256`` of the ids written as decimal numbers joined by commas)."""
        total = sum(len(rows) for rows in self.source_rows.values())
        splits: dict[str, Any] = {}
        for name in _NAMES:
            if name not in self.source_rows:
                continue
            rows = np.asarray(self.source_rows[name], dtype=np.int64)
            entry: dict[str, Any] = {"file": self.files[name], "rows": int(len(rows)), "ids_sha256": _ids_sha256(rows)}
            if total <= max_ids:
                entry["source_rows"] = rows.tolist()
            splits[name] = entry
        return {
            "format": 1,
            "method": self.method,
            "seed": self.seed,
            "group_column": self.group_column,
            "description": self.description,
            "source_rows": "0-based positions of the rows in `file` as pandas reads it (header excluded), in the "
                           "order of the split",
            "splits": splits,
        }

    def save(self, directory: str | os.PathLike[str]) -> str:
        """Write ``split.json`` into ``directory`` (a local path or a pyarrow-supported URI); returns its path."""
        text = json.dumps(self.to_dict(), indent=1) + "\n"
        directory = str(directory)
        if "://" in directory:
            import pyarrow.fs as pafs

            fs, base = pafs.FileSystem.from_uri(directory)
            fs.create_dir(base, recursive=True)
            with fs.open_output_stream(f"{base}/{SPLIT_FILE}") as stream:
                stream.write(text.encode())
            return f"{directory.rstrip('/')}/{SPLIT_FILE}"
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, SPLIT_FILE)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TaskSplit:
        """Read a ``split.json`` (or the folder holding one) back; a split saved as hashes has no row ids."""
        path = os.path.join(path, SPLIT_FILE) if os.path.isdir(path) else str(path)
        with open(path) as handle:
            data = json.load(handle)
        splits = data["splits"]
        return cls(method=data["method"], description=data["description"], seed=data["seed"],
                   group_column=data.get("group_column"),
                   files={name: entry["file"] for name, entry in splits.items()},
                   source_rows={name: np.asarray(entry.get("source_rows", []), dtype=np.int64)
                                for name, entry in splits.items()})
