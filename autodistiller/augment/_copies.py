"""Augmented copies of a task's training split, generated once and cached as Parquet.

``augmented_copies(task, pipeline, copies=k, seed=s)`` writes ``k`` augmented versions of every training row
to ``<cache>/augmented/<task>-<hash>/copies.parquet``, keyed by a hash of (task fingerprint, split, rows,
pipeline fingerprint, copies, seed). The directory appears by an atomic rename when complete
(``meta.json`` is written last); the next call with the same key reads it and augments nothing.

Copy ``c`` is generated with ``numpy.random.default_rng([seed, c])``, so copies are independent and any one
of them is reproducible on its own. Pair tasks augment ``text`` and ``text_pair`` independently; labels are
copied unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from autodistiller._paths import cache_root
from autodistiller.augment._base import Augmenter, atomic_directory
from autodistiller.augment._pipeline import AugmentationPipeline, StepSpec, build_pipeline

__all__ = ["AUGMENTED_DIRNAME", "augmented_copies", "augmented_key", "epoch_copy"]

AUGMENTED_DIRNAME = "augmented"
_META = "meta.json"
_FILE = "copies.parquet"
_FORMAT = 1  # bump when the generation scheme changes: older caches are then not reused


def augmented_key(task_fingerprint: str, split: str, rows: Sequence[int] | None, pipeline: AugmentationPipeline,
                  copies: int, seed: int) -> str:
    payload = {
        "task": task_fingerprint, "split": split, "pipeline": pipeline.fingerprint(), "copies": copies,
        "seed": seed, "format": _FORMAT,
        "rows": None if rows is None else hashlib.sha256(np.asarray(rows, dtype=np.int64).tobytes()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def augmented_copies(
    task: Any,
    pipeline: AugmentationPipeline | Augmenter | str | Iterable[StepSpec],
    *,
    copies: int,
    seed: int,
    cache_dir: str | os.PathLike[str] | None = None,
    split: str = "train",
    rows: Sequence[int] | None = None,
    log: Callable[[str], None] | None = None,
) -> Any:
    """``copies`` augmented versions of ``task``'s ``split`` as a ``datasets.Dataset``, generated once.

    Columns: ``text``, [``text_pair``], ``label``, ``source_index`` (the row in the original split) and
    ``copy`` (0 .. copies-1), ordered by copy then row. ``rows`` restricts the copies to those rows of the
    split (e.g. the seeded training subset of ``training.max_train_examples``).
    """
    import datasets

    if copies < 1:
        raise ValueError(f"{copies=} must be >= 1.")
    pipeline = build_pipeline(pipeline)
    key = augmented_key(task.fingerprint(), split, rows, pipeline, copies, seed)
    directory = cache_root(cache_dir) / AUGMENTED_DIRNAME / f"{task.name}-{key}"
    if not (directory / _META).is_file():
        frame = _generate(task, pipeline, copies=copies, seed=seed, split=split, rows=rows, log=log)
        with atomic_directory(directory, _META) as tmp:
            frame.to_parquet(tmp / _FILE, index=False)
            meta = {"task": task.name, "task_fingerprint": task.fingerprint(), "split": split, "key": key,
                    "pipeline": pipeline.fingerprint(), "copies": copies, "seed": seed, "rows": len(frame)}
            (tmp / _META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    elif log:
        log(f"augment: cached {directory}")
    return datasets.Dataset.from_pandas(pd.read_parquet(directory / _FILE), preserve_index=False)


def _generate(task: Any, pipeline: AugmentationPipeline, *, copies: int, seed: int, split: str,
              rows: Sequence[int] | None, log: Callable[[str], None] | None) -> pd.DataFrame:
    source = task.splits[split].to_pandas()
    index = np.arange(len(source)) if rows is None else np.asarray(rows, dtype=np.int64)
    source = source.iloc[index].reset_index(drop=True)
    has_pair = "text_pair" in source.columns
    frames = []
    for c in range(copies):
        started = time.perf_counter()
        rng = np.random.default_rng([seed, c])
        part = {"text": pipeline(source["text"].tolist(), rng)}
        if has_pair:  # independently: the pair's second text gets its own draws
            part["text_pair"] = pipeline(source["text_pair"].tolist(), rng)
        part.update(label=source["label"].to_numpy(), source_index=index, copy=np.full(len(source), c))
        frames.append(pd.DataFrame(part))
        if log:
            log(f"augment: {task.name} copy {c + 1}/{copies} with {pipeline.name} "
                f"({len(source)} rows, {time.perf_counter() - started:.1f} s)")
    frame = pd.concat(frames, ignore_index=True)
    frame["source_index"] = frame["source_index"].astype("int64")
    frame["copy"] = frame["copy"].astype("int64")
    return frame


def epoch_copy(augmented: Any, epoch: int) -> Any:
    """The copy for ``epoch`` (copy ``epoch % copies``): each epoch sees a freshly augmented copy while
    ``copies`` last, then they repeat."""
    copy = np.asarray(augmented["copy"])
    copies = int(copy.max()) + 1 if len(copy) else 1
    return augmented.select(np.flatnonzero(copy == epoch % copies))
