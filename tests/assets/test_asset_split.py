"""The shared cleaning / splitting rules, on small synthetic frames (no cache needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from autodistiller.assets._split import GROUP_COLUMN, split_pool, split_with_official_test


def _frame(n: int, classes: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"text": [f"text {i}" for i in range(n)], "label": [i % classes for i in range(n)]})


def test_pool_split_is_stratified_seeded_and_ordered():
    splits, note = split_pool(_frame(1000))
    assert {k: len(v) for k, v in splits.items()} == {"train": 802, "validation": 99, "test": 99}
    for frame in splits.values():
        assert frame["label"].value_counts().max() - frame["label"].value_counts().min() <= 1
        numbers = frame["text"].str.split().str[1].astype(int)
        assert numbers.is_monotonic_increasing  # source order kept inside each split
    again, _ = split_pool(_frame(1000))
    pd.testing.assert_frame_equal(splits["test"], again["test"])
    assert "seed 13" in note and "80/10/10" in note


def test_cleaning_and_dedupe():
    frame = pd.DataFrame({
        "text": ["  a  ", "a", "b", "b", "", None, "c", "d"] + [f"x{i}" for i in range(20)],
        "label": [0, 0, 0, 1, 1, 0, None, 1] + [i % 2 for i in range(20)],
    })
    splits, note = split_pool(frame)
    texts = pd.concat(splits.values())["text"].tolist()
    assert texts.count("a") == 1  # stripped, then de-duplicated
    assert "b" not in texts  # conflicting labels: dropped
    assert "" not in texts and "c" not in texts and None not in texts  # empty text, missing label
    assert "1 exact duplicate texts" in note and "2 rows whose text has conflicting labels" in note


def test_official_test_is_kept_and_leaks_leave_train():
    train = _frame(300)
    test = pd.DataFrame({"text": ["text 5", "new one", "new one"], "label": [2, 0, 0]})
    splits, note = split_with_official_test(train, test)
    pd.testing.assert_frame_equal(splits["test"], test.astype({"label": "int64"}))
    assert "text 5" not in set(splits["train"]["text"]) | set(splits["validation"]["text"])
    assert len(splits["validation"]) == 30 and "1 rows whose text is also in test" in note


def test_validation_is_capped_at_2000_rows():
    splits, _ = split_with_official_test(_frame(30000), _frame(10).assign(text=lambda f: "t" + f["text"]))
    assert abs(len(splits["validation"]) - 2000) <= 3


def test_every_class_keeps_a_train_row():
    frame = pd.concat([_frame(200, 2), pd.DataFrame({"text": ["rare"], "label": [2]})], ignore_index=True)
    splits, _ = split_pool(frame)
    assert "rare" in set(splits["train"]["text"])


def test_groups_stay_in_one_split_for_regression():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "text": [f"sentence {i}" for i in range(600)],
        "label": rng.normal(size=600),
        GROUP_COLUMN: np.repeat(np.arange(100), 6),
    })
    splits, note = split_pool(frame, regression=True, group_note="sentences of one review")
    seen = {}
    for name, part in splits.items():
        assert GROUP_COLUMN not in part.columns
        for text in part["text"]:
            seen[int(text.split()[1]) // 6] = seen.get(int(text.split()[1]) // 6, set()) | {name}
    assert all(len(names) == 1 for names in seen.values())
    assert 40 <= len(splits["test"]) <= 80 and "sentences of one review kept in one split" in note
