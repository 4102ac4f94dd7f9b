"""The task card: what a task is, where its data came from, and how it is scored."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodistiller.errors import TaskError

__all__ = ["TaskCard", "TASK_TYPES", "SPLITS"]

TASK_TYPES = ("single", "pair", "regression")
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class TaskCard:
    """Metadata of one task in the standard on-disk form (``{split}.parquet`` + ``card.json``).

    ``family`` groups near-duplicates (tasks built from the same documents or source) so that an evaluation
    never trains on one member of a family and tests on another.
    """

    name: str
    family: str
    task_type: str
    num_classes: int
    metric: str
    source_package: str
    license: str
    label_names: tuple[str, ...] = ()
    description: str = ""
    source_path: str = ""
    split_note: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    builder_version: str = ""  # suite tasks: which converter wrote the files (a stale build is rebuilt)

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise TaskError(f"task {self.name!r}: task_type={self.task_type!r} must be one of {TASK_TYPES}.")
        if self.task_type == "regression":
            if self.num_classes != 1:
                raise TaskError(f"task {self.name!r}: a regression task has num_classes=1, got {self.num_classes}.")
        elif self.num_classes < 2:
            raise TaskError(f"task {self.name!r}: a classification task needs >= 2 classes, got {self.num_classes}.")
        if self.label_names and len(self.label_names) != self.num_classes and self.task_type != "regression":
            raise TaskError(
                f"task {self.name!r}: {len(self.label_names)} label_names for num_classes={self.num_classes}."
            )
        object.__setattr__(self, "label_names", tuple(self.label_names))

    @property
    def is_regression(self) -> bool:
        return self.task_type == "regression"

    @property
    def has_pair(self) -> bool:
        return self.task_type == "pair"

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["label_names"] = list(self.label_names)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskCard:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TaskError(f"task card has unknown keys {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    def save(self, directory: Path) -> None:
        (directory / "card.json").write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: Path) -> TaskCard:
        path = directory / "card.json"
        if not path.is_file():
            raise TaskError(f"{path} is missing: {directory} is not a task directory (run `autodistiller assets build`).")
        return cls.from_dict(json.loads(path.read_text()))
