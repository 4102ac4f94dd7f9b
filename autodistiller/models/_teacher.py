"""Teachers: the fine-tuned model with its scores, saved and loaded as a directory (the engine fine-tunes them)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodistiller.config import TrainingConfig
from autodistiller.errors import ConfigError
from autodistiller.models._backbone import (
    quiet_transformers,
)
from autodistiller.tasks import Task

__all__ = ["Teacher", "TEACHER_TRAINING", "TEACHER_META", "load_teacher", "save_teacher", "teacher_key",
           "load_classifier"]

#: default fine-tuning of the teacher (3 epochs, best dev epoch kept)
TEACHER_TRAINING = TrainingConfig(epochs=3, batch_size=32, learning_rate=5e-5, max_length=128, seed=42)
#: the file that makes a directory a complete teacher (written last)
TEACHER_META = "teacher.json"


@dataclass
class Teacher:
    """A fine-tuned teacher: model, tokenizer, and its scores on the task."""

    model: Any
    tokenizer: Any
    backbone: str
    task_name: str
    training: TrainingConfig
    metrics: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    key: str = ""

    @property
    def dev_score(self) -> float:
        return float(self.metrics["dev_score"])

    # Pickled as class + config + weights (Ray ships the teacher to every trial through its object store): a
    # live model object can hold unpicklable runtime state (context variables, hooks) once it has been used.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        model = state.pop("model")
        state["_model_class"] = type(model)
        state["_model_config"] = model.config.to_dict()
        state["_model_weights"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        model_class = state.pop("_model_class")
        config = model_class.config_class.from_dict(state.pop("_model_config"))
        model = model_class(config)
        model.load_state_dict(state.pop("_model_weights"))
        state["model"] = model.eval()
        self.__dict__.update(state)

    @property
    def test_score(self) -> float:
        return float(self.metrics["test_score"])


def load_classifier(path: str, task: Task) -> Any:
    """``AutoModelForSequenceClassification`` for ``task`` (a new head when ``path`` is a bare encoder)."""
    from transformers import AutoModelForSequenceClassification

    quiet_transformers()
    card = task.card
    kwargs: dict[str, Any] = {
        "num_labels": card.num_classes,
        "problem_type": "regression" if card.is_regression else "single_label_classification",
    }
    if card.label_names and not card.is_regression:
        kwargs["id2label"] = dict(enumerate(card.label_names))
        kwargs["label2id"] = {name: i for i, name in enumerate(card.label_names)}
    return AutoModelForSequenceClassification.from_pretrained(path, **kwargs)


def teacher_key(backbone_identity: str, task_fingerprint: str, training: TrainingConfig) -> str:
    payload = json.dumps({"backbone": backbone_identity, "task": task_fingerprint,
                          "training": {k: v for k, v in training.__dict__.items()}}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def save_teacher(teacher: Teacher, directory: Path, extra: dict[str, Any] | None = None, *,
                 replace: bool = False) -> None:
    """Write ``teacher`` as a teacher directory (what :func:`load_teacher` reads), atomically: model, tokenizer,
    then ``teacher.json`` (with ``extra`` keys), renamed into place. An existing ``directory`` is replaced with
    ``replace``; otherwise it is kept (another process saved the same teacher first)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        teacher.model.save_pretrained(tmp)
        teacher.tokenizer.save_pretrained(tmp)
        meta = {"backbone": teacher.backbone, "task": teacher.task_name, "key": teacher.key,
                "training": teacher.training.__dict__, "metrics": teacher.metrics, **(extra or {})}
        (tmp / TEACHER_META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")  # last: complete
        if directory.exists():
            if not replace:
                return
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def load_teacher(path: str | os.PathLike[str]) -> Teacher:
    """Load a cached (or any saved) teacher directory written by :func:`fine_tune_teacher`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    quiet_transformers()
    path = Path(path)
    meta_path = path / TEACHER_META
    if not meta_path.is_file():
        raise ConfigError(f"{path} is not a teacher directory ({TEACHER_META} is missing).")
    meta = json.loads(meta_path.read_text())
    model = AutoModelForSequenceClassification.from_pretrained(str(path))
    model.eval()
    return Teacher(
        model=model,
        tokenizer=AutoTokenizer.from_pretrained(str(path)),
        backbone=meta["backbone"],
        task_name=meta["task"],
        training=TrainingConfig(**meta["training"]),
        metrics=meta["metrics"],
        path=path,
        key=meta["key"],
    )
