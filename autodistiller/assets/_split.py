"""Cleaning and seeded stratified splitting shared by every suite-task builder.

Rules (recorded per task in ``card.split_note``):

* clean: strip whitespace, drop rows with empty text (or pair text) or a missing label;
* the pool that is split (official train, or everything when the source has no split) is de-duplicated by
  exact text (+ pair text): copies of one text with different labels are dropped as label noise, other
  copies keep their first occurrence; rows whose text is also in an official test split are dropped from
  train, so no split ever shares a text with another;
* official test splits are kept as they are (only cleaned);
* validation is carved from the official train (10%, at most 2,000 rows), or the pool is split 80/10/10;
  stratified by label (by 5 quantile bins for regression), seed 13, optional groups kept together
  (sentences of one review, ...); row order inside each split follows the source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "GROUP_COLUMN",
    "SPLIT_SEED",
    "clean_frame",
    "dedupe_pool",
    "split_with_official_test",
    "split_pool",
    "text_keys",
]

SPLIT_SEED = 13
VALIDATION_FRACTION = 0.10
VALIDATION_CAP = 2000
TEST_FRACTION = 0.10
GROUP_COLUMN = _GROUP = "_group"  # optional column: rows with one value go to the same split
_REGRESSION_BINS = 5


def text_keys(frame: pd.DataFrame) -> pd.Series:
    """The exact-text identity of each row (text, plus the pair text for pair tasks)."""
    if "text_pair" in frame.columns:
        return frame["text"] + "\x00" + frame["text_pair"]
    return frame["text"]


def clean_frame(frame: pd.DataFrame, *, regression: bool) -> pd.DataFrame:
    """Strip text, drop empty texts and missing labels, fix dtypes; keeps the source order."""
    text_cols = [c for c in ("text", "text_pair") if c in frame.columns]
    out = frame.dropna(subset=[*text_cols, "label"]).copy()
    for col in text_cols:
        out[col] = out[col].astype(str).str.strip()
        out = out[out[col] != ""]
    out["label"] = out["label"].astype("float64" if regression else "int64")
    columns = [*text_cols, "label"] + ([_GROUP] if _GROUP in out.columns else [])
    return out[columns].reset_index(drop=True)


def dedupe_pool(frame: pd.DataFrame, *, regression: bool) -> tuple[pd.DataFrame, int, int]:
    """Drop exact duplicate texts: returns (frame, copies dropped, rows dropped for conflicting labels)."""
    keys = text_keys(frame)
    conflicting = 0
    if not regression:
        n_labels = frame.groupby(keys, sort=False)["label"].transform("nunique")
        bad = n_labels > 1
        conflicting = int(bad.sum())
        frame, keys = frame[~bad], keys[~bad]
    dup = keys.duplicated(keep="first")
    return frame[~dup].reset_index(drop=True), int(dup.sum()), conflicting


def _strata(frame: pd.DataFrame, regression: bool) -> np.ndarray:
    """Stratum per row. With groups, a whole group gets one stratum (its first label, or the score bin of
    its mean score), else the rows of a group in different strata could land in different splits."""
    labels = frame["label"]
    if _GROUP in frame.columns:
        by_group = labels.groupby(frame[_GROUP].to_numpy(), sort=False)
        labels = by_group.transform("mean" if regression else "first")
    if not regression:
        return labels.to_numpy()
    bins = pd.qcut(labels.rank(method="dense"), q=_REGRESSION_BINS, labels=False, duplicates="drop")
    return np.asarray(bins, dtype=np.int64)


def _assign(frame: pd.DataFrame, fractions: dict[str, float], *, regression: bool, seed: int) -> np.ndarray:
    """Split name per row: per stratum, shuffled groups fill each split's row quota in turn; rest is train."""
    rng = np.random.default_rng(seed)
    strata = _strata(frame, regression)
    groups = frame[_GROUP].to_numpy() if _GROUP in frame.columns else np.arange(len(frame))
    out = np.full(len(frame), "train", dtype=object)
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        units, inverse = np.unique(groups[members], return_inverse=True)
        sizes = np.bincount(inverse)
        quotas = {name: int(frac * len(members) + 0.5) for name, frac in fractions.items()}
        taken = dict.fromkeys(quotas, 0)
        unit_split = np.full(len(units), "train", dtype=object)
        order = rng.permutation(len(units))
        for position, unit in enumerate(order):
            if position == len(order) - 1 and (unit_split == "train").sum() == 0:
                break  # keep at least one unit of every stratum in train (every class is trainable)
            for name in quotas:
                if taken[name] < quotas[name]:
                    unit_split[unit] = name
                    taken[name] += sizes[unit]
                    break
        out[members] = unit_split[inverse]
    return out


def _finish(frame: pd.DataFrame, assignment: np.ndarray) -> dict[str, pd.DataFrame]:
    frame = frame.drop(columns=[_GROUP], errors="ignore")
    return {
        name: frame[assignment == name].reset_index(drop=True) for name in ("train", "validation", "test")
    }


def _dedupe_text(dups: int, conflicting: int) -> str:
    parts = []
    if dups:
        parts.append(f"{dups} exact duplicate texts")
    if conflicting:
        parts.append(f"{conflicting} rows whose text has conflicting labels")
    return ", ".join(parts)


def split_with_official_test(
    train: pd.DataFrame, test: pd.DataFrame, *, regression: bool = False, seed: int = SPLIT_SEED,
    source_note: str = "",
) -> tuple[dict[str, pd.DataFrame], str]:
    """Keep the official test; carve a stratified validation split (10%, at most 2,000 rows) from train."""
    test = clean_frame(test, regression=regression).drop(columns=[_GROUP], errors="ignore")
    pool = clean_frame(train, regression=regression)
    pool, dups, conflicting = dedupe_pool(pool, regression=regression)
    leaked = text_keys(pool).isin(set(text_keys(test)))
    pool = pool[~leaked].reset_index(drop=True)
    fraction = min(VALIDATION_FRACTION, VALIDATION_CAP / max(len(pool), 1))
    assignment = _assign(pool, {"validation": fraction}, regression=regression, seed=seed)
    splits = _finish(pool, assignment)
    splits["test"] = test
    removed = _dedupe_text(dups, conflicting)
    if leaked.any():
        removed = ", ".join(filter(None, [removed, f"{int(leaked.sum())} rows whose text is also in test"]))
    note = (
        f"official train/test split kept{f' ({source_note})' if source_note else ''}; validation is a "
        f"stratified seeded (seed {seed}) {fraction:.1%} of the official train; "
        f"dropped from train: {removed or 'nothing'}."
    )
    return splits, note


def split_pool(
    pool: pd.DataFrame, *, regression: bool = False, seed: int = SPLIT_SEED, source_note: str = "",
    group_note: str = "",
) -> tuple[dict[str, pd.DataFrame], str]:
    """No official split: a stratified seeded 80/10/10 train/validation/test split of the whole source.

    When ``pool`` has a ``_group`` column, rows of one group land in the same split (``group_note`` says
    what a group is).
    """
    pool = clean_frame(pool, regression=regression)
    pool, dups, conflicting = dedupe_pool(pool, regression=regression)
    assignment = _assign(
        pool, {"validation": VALIDATION_FRACTION, "test": TEST_FRACTION}, regression=regression, seed=seed
    )
    strat = "5 quantile bins of the score" if regression else "label"
    note = (
        f"no official split{f' ({source_note})' if source_note else ''}: stratified (by {strat}) seeded "
        f"(seed {seed}) 80/10/10 train/validation/test split"
        f"{f', {group_note} kept in one split' if group_note else ''}; "
        f"dropped before splitting: {_dedupe_text(dups, conflicting) or 'nothing'}."
    )
    return _finish(pool, assignment), note
