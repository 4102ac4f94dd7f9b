"""Every suite task, as built in the shared cache: splits, columns, labels, card, no cross-split overlap."""

from __future__ import annotations

import numpy as np
import pytest

from autodistiller.assets import PACKAGES, TASK_BUILDERS, suite_table, suite_task_names
from autodistiller.assets._archive import Archive
from autodistiller.assets._datasets import TASK_PACKAGES
from autodistiller.assets._fetch import find_archive
from autodistiller.task_card import SPLITS

TASKS = suite_task_names()
PRIMARY_METRICS = {"accuracy", "macro_f1", "mcc", "pearson"}


def _keys(frame):
    if "text_pair" in frame.columns:
        return set(frame["text"] + "\x00" + frame["text_pair"])
    return set(frame["text"])


@pytest.mark.parametrize("name", TASKS)
def test_splits_columns_and_labels(name, load_task):
    card, frames = load_task(name)
    expected = ["text", "text_pair", "label"] if card.task_type == "pair" else ["text", "label"]
    for split in SPLITS:
        frame = frames[split]
        assert len(frame) > 0, f"{name}/{split} is empty"
        assert list(frame.columns) == expected, f"{name}/{split} columns"
        for col in expected[:-1]:
            assert frame[col].map(type).eq(str).all(), f"{name}/{split}.{col} must be str"
            assert (frame[col].str.strip() == frame[col]).all(), f"{name}/{split}.{col} not stripped"
            assert (frame[col] != "").all(), f"{name}/{split}.{col} has empty texts"
        assert not frame["label"].isna().any()
        if card.is_regression:
            assert frame["label"].dtype == np.float64
        else:
            assert frame["label"].dtype == np.int64
            assert frame["label"].between(0, card.num_classes - 1).all(), f"{name}/{split} label out of range"
    if not card.is_regression:
        missing = set(range(card.num_classes)) - set(frames["train"]["label"])
        assert not missing, f"{name}: classes {missing} have no train row"


@pytest.mark.parametrize("name", TASKS)
def test_label_distribution_is_sane(name, load_task):
    card, frames = load_task(name)
    train = frames["train"]["label"]
    if card.is_regression:
        assert train.std() > 0.1
        for split in ("validation", "test"):  # stratified by score bins: similar means
            assert abs(frames[split]["label"].mean() - train.mean()) < 0.5 * train.std()
        return
    shares = train.value_counts(normalize=True)
    assert shares.max() < 0.9, f"{name}: one class is {shares.max():.0%} of train"
    if "official" not in card.split_note:  # our own splits are stratified: same class shares everywhere
        for split in ("validation", "test"):
            other = frames[split]["label"].value_counts(normalize=True).reindex(shares.index, fill_value=0)
            assert (other - shares).abs().max() < 0.05, f"{name}/{split} is not stratified"


@pytest.mark.parametrize("name", TASKS)
def test_card_is_consistent(name, load_task):
    card, frames = load_task(name)
    package = PACKAGES.get(TASK_PACKAGES[name])
    assert card.name == name
    assert card.rows == {split: len(frames[split]) for split in SPLITS}
    assert card.metric in PRIMARY_METRICS
    assert (card.metric == "pearson") == card.is_regression
    assert card.source_package == package.spec
    assert card.license == package.card_license
    assert card.family and card.family == card.family.strip()
    assert card.description and "\n" not in card.description
    assert card.split_note and "seed 13" in card.split_note
    if card.is_regression:
        assert card.num_classes == 1 and card.label_names == ()
    else:
        assert len(card.label_names) == card.num_classes == len(set(card.label_names))


@pytest.mark.parametrize("name", TASKS)
def test_source_path_is_in_the_archive(name, load_task, suite_cache):
    card, _ = load_task(name)
    archive_path = find_archive(PACKAGES.get(TASK_PACKAGES[name]), suite_cache / "packages")
    if archive_path is None:
        pytest.skip("task built from an archive no longer in the cache")
    archive = Archive(archive_path)
    first = card.source_path.split("::")[0].split(" ")[0]  # "a.tab + b.tab", "x.tar.gz::inner", "x (+ y)"
    assert first in archive, f"{card.source_path!r} not in {archive_path.name}"


@pytest.mark.parametrize("name", TASKS)
def test_no_text_is_shared_between_splits(name, load_task):
    """Builders drop train rows that duplicate a test text (counted in split_note), so any overlap is a bug.

    Duplicates inside one split are allowed (official test splits are kept as they are).
    """
    _, frames = load_task(name)
    keys = {split: _keys(frames[split]) for split in SPLITS}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        shared = keys[a] & keys[b]
        assert not shared, f"{name}: {len(shared)} texts in both {a} and {b}, e.g. {sorted(shared)[:2]}"


def test_metric_follows_the_balance_rule(load_task):
    for name in TASKS:
        card, frames = load_task(name)
        if card.is_regression:
            continue
        counts = frames["train"]["label"].value_counts()
        imbalanced = counts.min() < 0.5 * counts.max() or card.num_classes > 10
        assert card.metric == ("macro_f1" if imbalanced else "accuracy"), name


def test_suite_covers_the_required_range(load_task):
    cards = {name: load_task(name) for name in TASKS}
    assert len(cards) >= 12
    task_types = {card.task_type for card, _ in cards.values()}
    assert {"single", "pair", "regression"} <= task_types
    classes = {card.num_classes for card, _ in cards.values() if not card.is_regression}
    assert 2 in classes and max(classes) >= 52 and any(2 < c <= 20 for c in classes)
    train_rows = [card.rows["train"] for card, _ in cards.values()]
    assert min(train_rows) < 2000 and max(train_rows) > 10000
    mean_chars = [frames["train"]["text"].str.len().mean() for _, frames in cards.values()]
    assert min(mean_chars) < 100 and max(mean_chars) > 1000


def test_families_group_shared_sources(load_task):
    family = {name: load_task(name)[0].family for name in TASKS}
    assert family["trec6"] == family["trec_fine"] == "trec"
    assert family["reuters8"] == family["reuters52"] == "reuters"
    pang_lee = {"rotten_tomatoes", "rt_subjectivity", "vader_movies", "pattern_polarity"}
    assert {family[name] for name in pang_lee} == {"pang_lee"}
    assert family["pattern_reviews"] == "pang_lee_reviews"


def test_suite_table_lists_every_built_task(suite_cache, load_task):
    table = suite_table(suite_cache)
    assert list(table.columns) == [
        "name", "family", "task_type", "num_classes", "train", "validation", "test", "metric",
        "source_package", "license",
    ]
    assert list(table["name"]) == TASKS
    for row in table.itertuples():
        card, frames = load_task(row.name)
        assert (row.train, row.validation, row.test) == tuple(len(frames[s]) for s in SPLITS)
        assert row.family == card.family and row.metric == card.metric


def test_registry_and_packages_agree():
    assert set(TASK_PACKAGES) == set(TASK_BUILDERS.names())
    assert all(name in PACKAGES for name in TASK_PACKAGES.values())
