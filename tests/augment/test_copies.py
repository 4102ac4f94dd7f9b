"""Cached augmented copies of a training split: columns, labels, determinism, and reuse without work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from autodistiller.augment import Augmenter, augmented_copies, build_pipeline, epoch_copy
from autodistiller.augment._copies import AUGMENTED_DIRNAME
from autodistiller.tasks import TaskSpec


class CountingSwap(Augmenter):
    """The random augmenter, counting how many texts it was asked to augment."""

    uses = ("aug_p",)

    def __init__(self, aug_p: float = 0.3) -> None:
        self.aug_p = aug_p
        self.calls = 0
        self._inner = build_pipeline("random", params={"aug_p": aug_p})

    def __call__(self, texts, rng):
        self.calls += len(texts)
        return self._inner(texts, rng)


@pytest.fixture(scope="module")
def pair_task(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = ["the", "a", "movie", "film", "plot", "story", "good", "bad", "great", "awful", "very", "not", "and"]
    rows = [{"q": " ".join(rng.choice(words, 6)), "p": " ".join(rng.choice(words, 8)), "y": i % 3} for i in range(60)]
    path = tmp_path_factory.mktemp("pair") / "pairs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return TaskSpec(str(path), text_column="q", text_pair_column="p", label_column="y").load()


def test_copies_columns_labels_and_reuse(tiny_task, tmp_path):
    spy = CountingSwap()
    first = augmented_copies(tiny_task, spy, copies=3, seed=0, cache_dir=tmp_path)
    train = tiny_task.splits["train"]
    n = len(train)
    assert first.column_names == ["text", "label", "source_index", "copy"]
    assert len(first) == 3 * n and spy.calls == 3 * n
    frame = first.to_pandas()
    assert (frame["copy"].to_numpy() == np.repeat([0, 1, 2], n)).all()
    labels = np.asarray(train["label"])
    assert (frame["label"].to_numpy() == labels[frame["source_index"]]).all()  # labels kept
    originals = np.asarray(train["text"])[frame["source_index"]]
    assert (frame["text"] != originals).mean() > 0.8  # 30% of 6 words swapped: nearly every text changes
    assert frame.groupby("copy")["text"].apply(tuple).nunique() == 3  # copies differ from each other

    again = augmented_copies(tiny_task, spy, copies=3, seed=0, cache_dir=tmp_path)
    assert spy.calls == 3 * n  # the second call augmented nothing: it read the Parquet
    assert again.to_pandas().equals(frame)
    assert len(list((tmp_path / AUGMENTED_DIRNAME).iterdir())) == 1

    other = augmented_copies(tiny_task, spy, copies=3, seed=1, cache_dir=tmp_path)
    assert spy.calls == 6 * n and other["text"] != first["text"]
    assert epoch_copy(first, 4)["text"] == first.to_pandas().query("copy == 1")["text"].tolist()


def test_copies_are_seeded_across_fresh_caches(tiny_task, tmp_path):
    a = augmented_copies(tiny_task, "eda", copies=2, seed=5, cache_dir=tmp_path / "a")
    b = augmented_copies(tiny_task, "eda", copies=2, seed=5, cache_dir=tmp_path / "b")
    assert a["text"] == b["text"]


def test_pair_task_augments_both_texts_independently(pair_task, tmp_path):
    copies = augmented_copies(pair_task, "random", copies=2, seed=0, cache_dir=tmp_path, rows=[0, 2, 4, 6])
    frame = copies.to_pandas()
    assert list(frame.columns) == ["text", "text_pair", "label", "source_index", "copy"]
    assert frame["source_index"].tolist() == [0, 2, 4, 6] * 2
    train = pair_task.splits["train"].to_pandas()
    source = train.iloc[frame["source_index"]].reset_index(drop=True)
    assert (frame["label"] == source["label"]).all()
    for column in ("text", "text_pair"):  # both changed, each a permutation of its own original words
        assert (frame[column] != source[column]).any()
        assert all(sorted(a.split()) == sorted(b.split()) for a, b in zip(frame[column], source[column], strict=True))
