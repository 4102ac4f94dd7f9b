"""Task loading from local files and Hugging Face-shaped DatasetDicts, and its errors."""

import datasets
import numpy as np
import pandas as pd
import pytest

from autodistiller import TaskError, TaskSpec
from autodistiller.tasks import task_from_dataset_dict


def _frame(n=60, classes=3, pair=False):
    rows = {"sentence": [f"example number {i} about topic {i % classes}" for i in range(n)],
            "y": [i % classes for i in range(n)]}
    if pair:
        rows["other"] = [f"second text {i}" for i in range(n)]
    return pd.DataFrame(rows)


def test_single_csv_is_split_with_fixed_seed(tmp_path):
    path = tmp_path / "data.csv"
    _frame().to_csv(path, index=False)
    spec = TaskSpec(str(path), text_column="sentence", label_column="y")
    a, b = spec.load(), spec.load()
    assert a.card.rows == {"train": 48, "validation": 6, "test": 6}
    assert a.splits["test"]["text"] == b.splits["test"]["text"]
    assert a.card.num_classes == 3 and a.card.metric == "macro_f1"
    assert set(a.splits["train"].column_names) == {"text", "label"}
    assert a.fingerprint() == b.fingerprint()


def test_directory_of_split_files_with_pair_and_string_labels(tmp_path):
    for split, n in (("train", 40), ("dev", 10), ("test", 10)):
        frame = _frame(n, classes=2, pair=True)
        frame["y"] = frame["y"].map({0: "no", 1: "yes"})
        frame.to_json(tmp_path / f"{split}.jsonl", orient="records", lines=True)
    task = TaskSpec(str(tmp_path), text_column="sentence", text_pair_column="other", label_column="y").load()
    assert task.card.task_type == "pair" and task.card.label_names == ("no", "yes")
    assert task.card.rows == {"train": 40, "validation": 10, "test": 10}
    assert set(task.splits["train"].column_names) == {"text", "text_pair", "label"}
    assert task.card.metric == "accuracy"


def test_regression_file(tmp_path):
    frame = _frame()
    frame["y"] = np.linspace(-1, 1, len(frame))
    frame.to_parquet(tmp_path / "r.parquet")
    task = TaskSpec(str(tmp_path / "r.parquet"), text_column="sentence", label_column="y",
                    task_type="regression").load()
    assert task.is_regression and task.card.num_classes == 1 and task.card.metric == "pearson"
    assert task.splits["train"].features["label"].dtype == "float32"


@pytest.mark.parametrize(("mutate", "kwargs", "message"), [
    (lambda f: f.drop(columns=["y"]), {}, r"data.csv: label column 'y' is missing; columns are \['sentence'\]"),
    (lambda f: f, {"text_column": "body"}, r"text column 'body' is missing"),
    (lambda f: f, {"text_pair_column": "hypothesis"}, r"text pair column 'hypothesis' is missing"),
    (lambda f: f.assign(y=0), {}, r"has one class only"),
    (lambda f: f.assign(y=np.linspace(0, 1, len(f))), {}, r"labels in column 'y' are not integers.*regression"),
    (lambda f: f.assign(y=[None] * len(f)), {}, r"label column 'y' has 60 missing values"),
])
def test_bad_local_files(tmp_path, mutate, kwargs, message):
    path = tmp_path / "data.csv"
    mutate(_frame()).to_csv(path, index=False)
    spec = TaskSpec(str(path), **{"text_column": "sentence", "label_column": "y", **kwargs})
    with pytest.raises(TaskError, match=message):
        spec.load()


def test_empty_split_file(tmp_path):
    _frame(40).to_csv(tmp_path / "train.csv", index=False)
    _frame(0).to_csv(tmp_path / "validation.csv", index=False)
    with pytest.raises(TaskError, match=r"validation.csv: the validation split is empty"):
        TaskSpec(str(tmp_path), text_column="sentence", label_column="y").load()


def test_unseen_label_in_dev(tmp_path):
    _frame(40, classes=2).to_csv(tmp_path / "train.csv", index=False)
    _frame(9, classes=3).to_csv(tmp_path / "dev.csv", index=False)
    with pytest.raises(TaskError, match=r"labels \['2'\].*do not occur in the train split"):
        TaskSpec(str(tmp_path), text_column="sentence", label_column="y").load()


def test_missing_file_and_bad_suite_name(tmp_path):
    with pytest.raises(TaskError, match="does not exist"):
        TaskSpec(str(tmp_path / "nope.csv")).load()
    with pytest.raises(TaskError, match="is not a suite task; choose one of: .*trec6"):
        TaskSpec("suite:trec7").load()


def test_pair_task_without_its_pair_column_is_a_clear_error(tmp_path):
    path = tmp_path / "nli.csv"
    _frame(pair=True).to_csv(path, index=False)
    with pytest.raises(TaskError, match=r"nli.csv: task_type='pair' needs .*--text-pair-column"):
        TaskSpec(str(path), text_column="sentence", label_column="y", task_type="pair")  # before reading the file
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_pandas(_frame(pair=True))})
    with pytest.raises(TaskError, match=r"task_type='pair' needs .*--text-pair-column"):  # a Hub dataset
        task_from_dataset_dict(dd, TaskSpec("owner/nli", text_column="sentence", label_column="y", task_type="pair"))
    task = TaskSpec(str(path), text_column="sentence", text_pair_column="other", label_column="y",
                    task_type="pair").load()
    assert task.card.task_type == "pair" and "text_pair" in task.splits["train"].column_names


def test_glue_shaped_dataset_dict_drops_hidden_test_labels():
    def split(n, labels):
        return datasets.Dataset.from_dict({"sentence": [f"s {i}" for i in range(n)], "label": labels,
                                           "idx": list(range(n))})

    dd = datasets.DatasetDict({"train": split(40, [i % 2 for i in range(40)]),
                               "validation": split(10, [i % 2 for i in range(10)]),
                               "test": split(10, [-1] * 10)})
    spec = TaskSpec("glue/sst2", text_column="sentence", metric="accuracy")
    task = task_from_dataset_dict(dd, spec)
    assert task.card.rows == {"train": 40, "validation": 5, "test": 5}  # hidden test dropped, dev halved
    assert task.name == "glue_sst2" and task.card.source_package == "hf:glue/sst2"


def test_hub_loader_maps_glue_shorthand(monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None):
        calls.append((path, name))
        return datasets.DatasetDict({
            "train": datasets.Dataset.from_dict({"sentence1": ["a b"] * 20, "sentence2": ["c"] * 20,
                                                 "label": [0.5 * (i % 5) for i in range(20)]}),
            "validation": datasets.Dataset.from_dict({"sentence1": ["d"] * 10, "sentence2": ["e"] * 10,
                                                      "label": [0.1 * i for i in range(10)]}),
        })

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    task = TaskSpec("glue/stsb").load()
    assert calls == [("nyu-mll/glue", "stsb")]
    assert task.card.task_type == "regression" and task.card.metric == "pearson"
    assert set(task.splits["train"].column_names) == {"text", "text_pair", "label"}


def test_unreachable_hub_is_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(TaskError, match=r"cannot load Hugging Face dataset 'imdb'.*suite task"):
        TaskSpec("imdb").load()


def test_label_names_from_the_spec_or_a_card_file(tmp_path):
    path = tmp_path / "news.csv"
    _frame(classes=3).to_csv(path, index=False)
    spec = dict(text_column="sentence", label_column="y")
    assert TaskSpec(str(path), **spec).load().card.label_names == ("0", "1", "2")  # integer codes lose their names
    named = TaskSpec(str(path), **spec, label_names="world,sports,business").load()
    assert named.card.label_names == ("world", "sports", "business") and named.card.num_classes == 3
    assert named.fingerprint() != TaskSpec(str(path), **spec).load().fingerprint()  # a teacher names its classes
    (tmp_path / "news.csv.card.json").write_text('{"label_names": ["w", "s", "b"]}')
    assert TaskSpec(str(path), **spec).load().card.label_names == ("w", "s", "b")
    assert TaskSpec(str(path), **spec, label_names=["x", "y", "z"]).load().card.label_names == ("x", "y", "z")
    # 1-based codes: the k-th smallest label gets the k-th name
    one_based = _frame(classes=3).assign(y=lambda f: f["y"] + 1)
    one_based.to_csv(tmp_path / "stars.csv", index=False)
    stars = TaskSpec(str(tmp_path / "stars.csv"), **spec, label_names=("low", "mid", "high")).load()
    assert stars.card.label_names == ("low", "mid", "high")
    assert set(stars.labels("train")) == {0, 1, 2}
    # string labels: the names give the order of the classes
    strings = _frame(classes=2).assign(y=lambda f: f["y"].map({0: "spam", 1: "ham"}))
    strings.to_csv(tmp_path / "sms.csv", index=False)
    sms = TaskSpec(str(tmp_path / "sms.csv"), **spec, label_names="ham,spam").load()
    assert sms.card.label_names == ("ham", "spam")
    spam = [text.endswith("topic 0") for text in sms.splits["train"]["text"]]  # topic 0 was labelled spam
    assert sms.labels("train").tolist() == [int(is_spam) for is_spam in spam]  # spam is class 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"label_names": "a,b"}, r"2 label_names \['a', 'b'\] for the labels \[0, 1, 2\]"),
    ({"label_names": "a"}, "must name at least two classes"),
    ({"label_names": "a,a,b"}, "must name at least two classes, each once"),
    ({"label_names": "a,b,c", "task_type": "regression"}, "given for a regression task"),
])
def test_bad_label_names(tmp_path, kwargs, message):
    _frame(classes=3).to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(TaskError, match=message):
        TaskSpec(str(tmp_path / "data.csv"), text_column="sentence", label_column="y", **kwargs).load()
