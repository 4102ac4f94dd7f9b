"""``TaskSpec``: name a task by the offline suite, a Hugging Face dataset id, or a local file, and load it.

Every source ends in the same standard form: a :class:`Task` with a :class:`TaskCard` and ``datasets``
splits ``train`` / ``validation`` / ``test`` holding ``text``, optional ``text_pair``, and ``label``.
Bad input is reported with one clear :class:`TaskError` naming the file and column, before any training.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autodistiller.errors import TaskError
from autodistiller.task_card import SPLITS, TASK_TYPES, TaskCard
from autodistiller.tasks._metrics import METRICS
from autodistiller.tasks._notes import unused_text_columns, unused_text_note
from autodistiller.tasks._split import SPLIT_SEED, TaskSplit, split_frame

__all__ = ["TaskSpec", "Task", "load_task", "stratified_split", "GLUE_TASKS"]

SUITE_PREFIX = "suite:"
_READERS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}
_SPLIT_ALIASES = {"train": ("train",), "validation": ("validation", "valid", "dev", "val"), "test": ("test",)}

# GLUE / SuperGLUE shorthands: (Hub dataset, config) -> columns, validation split, metric.
GLUE_TASKS: dict[str, dict[str, Any]] = {
    "cola": {"text": "sentence", "metric": "mcc"},
    "sst2": {"text": "sentence", "metric": "accuracy"},
    "mrpc": {"text": "sentence1", "pair": "sentence2", "metric": "f1"},
    "qqp": {"text": "question1", "pair": "question2", "metric": "f1"},
    "stsb": {"text": "sentence1", "pair": "sentence2", "metric": "pearson", "task_type": "regression"},
    "mnli": {"text": "premise", "pair": "hypothesis", "metric": "accuracy", "validation": "validation_matched",
             "test": "test_matched"},
    "qnli": {"text": "question", "pair": "sentence", "metric": "accuracy"},
    "rte": {"text": "sentence1", "pair": "sentence2", "metric": "accuracy"},
    "wnli": {"text": "sentence1", "pair": "sentence2", "metric": "accuracy"},
}


@dataclass(frozen=True)
class TaskSpec:
    """Where a task comes from and how to read it.

    ``source`` is ``suite:<name>`` (the offline suite), a local ``.csv/.tsv/.jsonl/.json/.parquet`` file or a
    directory of ``train.*`` / ``validation.*`` (or ``dev.*``) / ``test.*`` files, or a Hugging Face dataset id
    (``glue/sst2``, ``imdb``, ``owner/name:config``). The column options apply to local files and Hub datasets.

    ``group_column``: rows with one value there (the sentence of a pair dataset whose sentences each come with
    many candidates) land in one split when a single file is split. ``label_names``: the names of integer-coded
    labels (name ``k`` for label ``k``), or the order of string labels; else read from a card file beside the
    data (``<file>.card.json``, or ``card.json`` in its directory, with a ``label_names`` list).
    """

    source: str
    text_column: str = "text"
    text_pair_column: str | None = None
    label_column: str = "label"
    task_type: str | None = None
    metric: str | None = None
    name: str | None = None
    group_column: str | None = None
    label_names: Sequence[str] | str | None = None

    def __post_init__(self) -> None:
        if not self.source or not self.source.strip():
            raise TaskError("task source is empty; name a suite task (suite:trec6), a file, or a Hub dataset id.")
        if self.label_names is not None:
            object.__setattr__(self, "label_names", _label_names(self.label_names, "label_names"))
        if self.task_type is not None and self.task_type not in TASK_TYPES:
            raise TaskError(f"task_type={self.task_type!r} must be one of {TASK_TYPES}.")
        if self.metric is not None and self.metric not in METRICS:
            raise TaskError(f"metric={self.metric!r} must be one of {METRICS}.")
        if self.kind == "local":  # a Hub shorthand (glue/mrpc) may name the pair column itself: checked on load
            _check_pair_column(self)

    @property
    def kind(self) -> str:
        if self.source.startswith(SUITE_PREFIX):
            return "suite"
        path = Path(self.source).expanduser()
        if path.exists() or path.suffix.lower() in _READERS or self.source.startswith((".", "/", "~")):
            return "local"
        return "hub"

    def load(self, cache_dir: str | os.PathLike[str] | None = None) -> Task:
        return load_task(self, cache_dir=cache_dir)


@dataclass
class Task:
    """A loaded task: its card and its standard splits (``datasets.Dataset``)."""

    card: TaskCard
    splits: dict[str, Any]
    spec: TaskSpec
    #: which source rows each split holds, and how they were chosen (``split.json`` of an output folder)
    split: TaskSplit | None = None
    #: warnings about the data, for the log and the run's summary (text columns the task does not read, ...)
    notes: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def is_regression(self) -> bool:
        return self.card.is_regression

    def labels(self, split: str) -> np.ndarray:
        return np.asarray(self.splits[split]["label"])

    def fingerprint(self) -> str:
        """A content hash of the card and every row: a cache key that changes when the data changes."""
        card = self.card  # only what changes the data's meaning: a re-written description keeps the key
        digest = hashlib.sha256(repr((card.name, card.task_type, card.num_classes, card.label_names)).encode())
        for split in SPLITS:
            if split in self.splits:
                frame = self.splits[split].to_pandas()
                digest.update(split.encode())
                digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        return digest.hexdigest()[:16]


def load_task(spec: TaskSpec | str, *, cache_dir: str | os.PathLike[str] | None = None) -> Task:
    """Load a task into the standard form. ``spec`` may be a plain source string."""
    if isinstance(spec, str):
        spec = TaskSpec(spec)
    if spec.kind == "suite":
        return _load_suite(spec, cache_dir)
    if spec.kind == "local":
        frames, where, how, notes = _read_local(spec)
        if spec.label_names is None:
            names = _card_file_label_names(Path(spec.source).expanduser())
            spec = dataclasses.replace(spec, label_names=names) if names else spec
        return _standardize(frames, spec, where, default_name=Path(spec.source).stem, source_package="local",
                            how=how, notes=notes)
    return _load_hub(spec)


def _label_names(value: Any, where: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",")) if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not all(isinstance(n, str) and n for n in names):
        raise TaskError(f"{where}={value!r} must be a list of non-empty label names (or 'a,b,c').")
    if len(names) < 2 or len(set(names)) != len(names):
        raise TaskError(f"{where}={value!r} must name at least two classes, each once.")
    return tuple(names)


def _card_file_label_names(path: Path) -> tuple[str, ...] | None:
    """``label_names`` of the card file beside local data: ``<file>.card.json``, else ``card.json`` in the
    file's directory (or in the directory of split files)."""
    candidates = [path / "card.json"] if path.is_dir() else [path.with_name(f"{path.name}.card.json"),
                                                             path.parent / "card.json"]
    for card in candidates:
        if card.is_file():
            try:
                data = json.loads(card.read_text())
            except ValueError as exc:
                raise TaskError(f"{card}: not valid JSON ({exc}).") from exc
            if isinstance(data, dict) and data.get("label_names"):
                return _label_names(data["label_names"], f"{card}: label_names")
    return None


def _load_suite(spec: TaskSpec, cache_dir: str | os.PathLike[str] | None) -> Task:
    import datasets

    from autodistiller.assets import suite_task_names, task_dir

    datasets.disable_progress_bars()  # "Generating train split" bars on every load are noise in a search log
    name = spec.source[len(SUITE_PREFIX):]
    if name not in suite_task_names():
        raise TaskError(f"{spec.source!r} is not a suite task; choose one of: {', '.join(suite_task_names())}")
    directory = task_dir(name, cache_dir)
    card = TaskCard.load(directory)
    splits = {}
    for split in SPLITS:
        path = directory / f"{split}.parquet"
        if not path.is_file():
            raise TaskError(f"{path} is missing; rebuild the suite with `autodistiller assets build --tasks {name}`.")
        splits[split] = datasets.Dataset.from_parquet(str(path), cache_dir=str(directory.parent / ".hf_cache"))
    split = TaskSplit(method="given", description=f"the suite's split files: {card.split_note}".rstrip(": "),
                      files={s: str(directory / f"{s}.parquet") for s in SPLITS},
                      source_rows={s: np.arange(len(splits[s])) for s in SPLITS})
    return Task(card=card, splits=splits, spec=spec, split=split)


def _read_frame(path: Path) -> pd.DataFrame:
    kind = _READERS.get(path.suffix.lower())
    try:
        if kind == "csv":
            return pd.read_csv(path)
        if kind == "tsv":
            return pd.read_csv(path, sep="\t")
        if kind == "jsonl":
            return pd.read_json(path, lines=True)
        if kind == "json":
            return pd.read_json(path)
        if kind == "parquet":
            return pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise TaskError(f"cannot read {path}: {exc}") from exc
    raise TaskError(f"{path}: unsupported file type {path.suffix!r}; use one of {sorted(_READERS)}.")


def _read_local(spec: TaskSpec) -> tuple[dict[str, pd.DataFrame], dict[str, str], tuple[str, str, int | None],
                                        tuple[str, ...]]:
    """The frames of each split (index: the source row ids), where each came from, how they were split
    (method, words, seed) and notes about the data."""
    path = Path(spec.source).expanduser()
    if not path.exists():
        raise TaskError(f"task file {path} does not exist.")
    used = (spec.text_column, spec.text_pair_column, spec.label_column, spec.group_column)
    if path.is_file():
        frame = _read_frame(path)
        _require_columns(frame, spec, str(path))
        missing = int(frame[spec.label_column].isna().sum())
        if missing:  # say it of the whole file, before the split hides part of it
            raise TaskError(f"{path}: label column {spec.label_column!r} has {missing} missing values.")
        frames, method, how = split_frame(frame, spec.label_column, classification=spec.task_type != "regression",
                                          group_column=spec.group_column)
        unused = unused_text_columns(frame, used)
        notes = (unused_text_note(path.name, unused, text_column=spec.text_column,
                                  text_pair_column=spec.text_pair_column),) if unused else ()
        return frames, dict.fromkeys(frames, str(path)), (method, f"{how}, of {path.name}", SPLIT_SEED), notes
    frames: dict[str, pd.DataFrame] = {}
    where: dict[str, str] = {}
    for split, aliases in _SPLIT_ALIASES.items():
        found = [p for alias in aliases for p in sorted(path.glob(f"{alias}.*")) if p.suffix.lower() in _READERS]
        if found:
            frames[split] = _read_frame(found[0])
            where[split] = str(found[0])
    if "train" not in frames:
        raise TaskError(f"{path} has no train.csv/.tsv/.jsonl/.json/.parquet file.")
    if "validation" not in frames:
        raise TaskError(f"{path} has no validation (or dev) file next to {where['train']}.")
    notes: list[str] = []
    unused = unused_text_columns(frames["train"], used)
    if unused:
        notes.append(unused_text_note(Path(where["train"]).name, unused, text_column=spec.text_column,
                                      text_pair_column=spec.text_pair_column))
    if spec.group_column:
        notes.extend(_shared_groups(frames, where, spec))
    return frames, where, ("given", "the given split files", None), tuple(notes)


def _shared_groups(frames: dict[str, pd.DataFrame], where: dict[str, str], spec: TaskSpec) -> list[str]:
    """Given split files are used as they are: say when a group of ``spec.group_column`` is in several."""
    column = spec.group_column
    for split, frame in frames.items():
        _require_columns(frame, spec, where[split])
    seen: dict[str, str] = {}
    shared: set[str] = set()
    for split, frame in frames.items():
        for group in frame[column].dropna().astype(str).unique():
            if seen.setdefault(group, split) != split:
                shared.add(group)
    if not shared:
        return []
    examples = ", ".join(repr(g) for g in sorted(shared)[:3])
    return [f"{len(shared)} groups of column {column!r} are in more than one of the given split files (e.g. "
            f"{examples}); --group-column splits a single file so that no group crosses splits."]


def _load_hub(spec: TaskSpec) -> Task:
    import datasets

    source = spec.source
    config: str | None = None
    defaults: dict[str, Any] = {}
    family, _, sub = source.partition("/")
    if family in ("glue", "super_glue") and sub:
        config = sub
        source = "nyu-mll/glue" if family == "glue" else "aps/super_glue"
        defaults = GLUE_TASKS.get(sub, {})
    elif ":" in source:
        source, config = source.split(":", 1)
    try:
        dataset_dict = datasets.load_dataset(source, config)
    except Exception as exc:  # the Hub raises many kinds; all mean "cannot use this id here"
        raise TaskError(
            f"cannot load Hugging Face dataset {spec.source!r} ({type(exc).__name__}: {exc}). Offline, use a suite "
            "task (`autodistiller tasks`) or a local file."
        ) from exc
    if defaults:
        spec = dataclasses.replace(
            spec,
            text_column=defaults.get("text", spec.text_column) if spec.text_column == "text" else spec.text_column,
            text_pair_column=spec.text_pair_column or defaults.get("pair"),
            task_type=spec.task_type or defaults.get("task_type"),
            metric=spec.metric or defaults.get("metric"),
        )
    return task_from_dataset_dict(dataset_dict, spec, split_names=defaults)


def task_from_dataset_dict(dataset_dict: Mapping[str, Any], spec: TaskSpec,
                           split_names: Mapping[str, Any] | None = None) -> Task:
    """Standardise a ``datasets.DatasetDict`` (the shape ``load_dataset`` returns) into a :class:`Task`.

    Test splits without labels (GLUE's are all -1) are dropped; a missing validation split is carved from train.
    """
    split_names = split_names or {}
    frames: dict[str, pd.DataFrame] = {}
    chosen: dict[str, str] = {}
    for split, aliases in _SPLIT_ALIASES.items():
        wanted = split_names.get(split)
        candidates = (wanted,) if wanted else aliases
        for name in candidates:
            if name in dataset_dict:
                frames[split], chosen[split] = dataset_dict[name].to_pandas(), name
                break
    if "train" not in frames:
        raise TaskError(f"dataset {spec.source!r} has no train split; it has {sorted(dataset_dict)}.")
    where = {split: f"{spec.source} [{name}]" for split, name in chosen.items()}
    feature = (getattr(dataset_dict[chosen["train"]], "features", None) or {}).get(spec.label_column)
    names = getattr(feature, "names", None)  # a ClassLabel feature names its integer labels
    if spec.label_names is None and names and len(names) >= 2:
        spec = dataclasses.replace(spec, label_names=tuple(names))
    if "test" in frames and spec.label_column in frames["test"]:
        test_labels = frames["test"][spec.label_column]
        if spec.task_type != "regression" and (pd.to_numeric(test_labels, errors="coerce") < 0).all():
            del frames["test"], where["test"]  # hidden test labels (GLUE)
    how: tuple[str, str, int | None] = ("given", "the dataset's own splits", None)
    if "validation" not in frames:
        parts, method, words = split_frame(frames["train"], spec.label_column,
                                           classification=spec.task_type != "regression",
                                           fractions=(0.9, 0.1, 0.0) if "test" in frames else (0.8, 0.1, 0.1),
                                           group_column=spec.group_column)
        frames["train"], frames["validation"] = parts["train"], parts["validation"]
        where["validation"] = where["train"]
        if "test" not in frames:
            frames["test"], where["test"] = parts["test"], where["train"]
        how = (method, f"{words}, of {where['train']}", SPLIT_SEED)
    default_name = spec.source.replace("/", "_").replace(":", "_")
    return _standardize(frames, spec, where, default_name=default_name, source_package=f"hf:{spec.source}",
                        how=how)


def stratified_split(frame: pd.DataFrame, label_column: str, *, classification: bool = True,
                     fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                     seed: int = SPLIT_SEED, group_column: str | None = None) -> dict[str, pd.DataFrame]:
    """A fixed seeded (stratified for classification) train / validation / test split of one table; with
    ``group_column``, no value of it is in two splits (see :func:`autodistiller.tasks.split_frame`)."""
    parts, _, _ = split_frame(frame, label_column, classification=classification, fractions=fractions, seed=seed,
                              group_column=group_column)
    return {split: part.reset_index(drop=True) for split, part in parts.items()}


def _check_pair_column(spec: TaskSpec) -> None:
    if spec.task_type == "pair" and not spec.text_pair_column:
        raise TaskError(f"{spec.source}: task_type='pair' needs the column of each example's second text; pass "
                        "--text-pair-column NAME (TaskSpec(text_pair_column=...)), or --task-type single for one "
                        "text per example.")


def _require_columns(frame: pd.DataFrame, spec: TaskSpec, where: str) -> None:
    needed = [("text column", spec.text_column), ("label column", spec.label_column)]
    if spec.text_pair_column:
        needed.append(("text pair column", spec.text_pair_column))
    if spec.group_column:
        needed.append(("group column", spec.group_column))
    for what, column in needed:
        if column not in frame.columns:
            raise TaskError(
                f"{where}: {what} {column!r} is missing; columns are {list(frame.columns)}. "
                f"Pass the right name (--{what.replace(' ', '-')} / TaskSpec({what.replace(' ', '_')}=...))."
            )


def _named_classes(standard: dict[str, pd.DataFrame], spec: TaskSpec, where: dict[str, str]) -> tuple[dict, Any]:
    """``(encode, key)`` for labels named by ``spec.label_names``: string labels take the names' order; integer
    label ``k`` is named ``label_names[k]`` (labels 0..K-1), else the k-th smallest label is."""
    names = tuple(spec.label_names or ())
    labels = pd.concat([out["label"] for out in standard.values()])
    numeric = pd.to_numeric(labels, errors="coerce")
    if numeric.isna().any():
        return {name: i for i, name in enumerate(names)}, lambda s: s.astype(str)
    if not np.all(np.isclose(numeric, np.round(numeric))):
        raise TaskError(f"{where['train']}: labels in column {spec.label_column!r} are not integers; label_names "
                        "name classes, not scores.")
    values = sorted(int(v) for v in np.unique(np.round(numeric)))
    key = lambda s: pd.to_numeric(s, errors="coerce").round().astype("Int64")  # noqa: E731
    if values[0] >= 0 and values[-1] < len(names):
        return {k: k for k in range(len(names))}, key
    if len(values) == len(names):
        return {v: i for i, v in enumerate(values)}, key
    raise TaskError(f"{where['train']}: {len(names)} label_names {list(names)} for the labels {values[:10]} of column "
                    f"{spec.label_column!r}: give label k the k-th name (labels 0..{len(names) - 1}), or one name "
                    f"per distinct label ({len(values)}).")


def _standardize(frames: dict[str, pd.DataFrame], spec: TaskSpec, where: dict[str, str], *,
                 default_name: str, source_package: str,
                 how: tuple[str, str, int | None] = ("given", "the given split files", None),
                 notes: tuple[str, ...] = ()) -> Task:
    """The standard form of ``frames``; their index holds each row's position in its source (``where``), and
    ``how`` says how the splits were made (method, words, seed)."""
    import datasets

    _check_pair_column(spec)
    for split, frame in frames.items():
        _require_columns(frame, spec, where[split])
        if len(frame) == 0:
            raise TaskError(f"{where[split]}: the {split} split is empty.")
    task_type = spec.task_type or ("pair" if spec.text_pair_column else "single")
    is_regression = task_type == "regression"
    columns = {spec.text_column: "text", spec.label_column: "label"}
    if spec.text_pair_column:
        columns[spec.text_pair_column] = "text_pair"
    standard: dict[str, pd.DataFrame] = {}
    for split, frame in frames.items():
        out = frame[list(columns)].rename(columns=columns)
        for column in ("text", "text_pair"):
            if column in out:
                if out[column].isna().any():
                    original = spec.text_column if column == "text" else spec.text_pair_column
                    raise TaskError(f"{where[split]}: column {original!r} has {int(out[column].isna().sum())} "
                                    "empty values; fill or drop those rows.")
                out[column] = out[column].astype(str)
        if out["label"].isna().any():
            raise TaskError(f"{where[split]}: label column {spec.label_column!r} has "
                            f"{int(out['label'].isna().sum())} missing values.")
        standard[split] = out  # the index: source rows

    label_names: tuple[str, ...] = ()
    if is_regression and spec.label_names:
        raise TaskError(f"label_names={list(spec.label_names)} given for a regression task; its labels are scores.")
    if is_regression:
        for split, out in standard.items():
            values = pd.to_numeric(out["label"], errors="coerce")
            if values.isna().any():
                raise TaskError(f"{where[split]}: label column {spec.label_column!r} of a regression task must "
                                "hold numbers.")
            out["label"] = values.astype("float32")
        num_classes = 1
    elif spec.label_names:
        encode, key = _named_classes(standard, spec, where)
        label_names = tuple(spec.label_names)
        for split, out in standard.items():
            mapped = key(out["label"]).map(encode)
            if mapped.isna().any():
                unknown = sorted({str(v) for v in out["label"][mapped.isna()]})[:5]
                raise TaskError(f"{where[split]}: labels {unknown} in column {spec.label_column!r} are not among "
                                f"the label names {list(label_names)}.")
            out["label"] = mapped.astype("int64")
        num_classes = len(label_names)
    else:
        train_labels = standard["train"]["label"]
        numeric = pd.to_numeric(train_labels, errors="coerce")
        if not numeric.isna().any():
            if not np.all(np.isclose(numeric, np.round(numeric))):
                raise TaskError(
                    f"{where['train']}: labels in column {spec.label_column!r} are not integers "
                    f"(e.g. {numeric[~np.isclose(numeric, np.round(numeric))].iloc[0]!r}); for scores pass "
                    "task_type='regression' (--task-type regression)."
                )
            classes = sorted(int(v) for v in np.unique(np.round(numeric)))
            encode = {c: i for i, c in enumerate(classes)}
            label_names = tuple(str(c) for c in classes)
            key = lambda s: pd.to_numeric(s, errors="coerce").round().astype("Int64")  # noqa: E731
        else:
            classes = sorted(str(v) for v in train_labels.unique())
            encode = {c: i for i, c in enumerate(classes)}
            label_names = tuple(classes)
            key = lambda s: s.astype(str)  # noqa: E731
        if len(classes) < 2:
            raise TaskError(f"{where['train']}: label column {spec.label_column!r} has one class only "
                            f"({classes[0]!r}); a classification task needs at least two.")
        for split, out in standard.items():
            mapped = key(out["label"]).map(encode)
            if mapped.isna().any():
                unseen = sorted({str(v) for v in out["label"][mapped.isna()]})[:5]
                raise TaskError(f"{where[split]}: labels {unseen} in column {spec.label_column!r} do not occur in "
                                "the train split.")
            out["label"] = mapped.astype("int64")
        num_classes = len(classes)

    method, description, seed = how
    if "test" not in standard:
        parts, _, words = split_frame(standard["validation"], "label", classification=not is_regression,
                                      fractions=(0.5, 0.5, 0.0))
        standard["validation"], standard["test"] = parts["train"], parts["validation"]
        where = {**where, "test": where["validation"]}
        description += f"; no test split: the validation rows split {words.replace('train/validation', 'validation/test')}"
        seed = SPLIT_SEED
    split = TaskSplit(method=method, description=description, seed=seed, group_column=spec.group_column,
                      files={name: where[name] for name in SPLITS},
                      source_rows={name: standard[name].index.to_numpy() for name in SPLITS})
    metric = spec.metric or ("pearson" if is_regression else ("accuracy" if num_classes <= 2 else "macro_f1"))
    card = TaskCard(
        name=spec.name or default_name,
        family=spec.name or default_name,
        task_type=task_type,
        num_classes=num_classes,
        metric=metric,
        source_package=source_package,
        license="unknown (user data)",
        label_names=label_names,
        source_path=where["train"],
        split_note=description,
        rows={split: len(standard[split]) for split in SPLITS},
    )
    splits = {split: datasets.Dataset.from_pandas(standard[split], preserve_index=False) for split in SPLITS}
    return Task(card=card, splits=splits, spec=spec, split=split, notes=tuple(notes))
