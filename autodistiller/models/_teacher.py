"""Teacher fine-tuning, cached on disk by a hash of (backbone, task data, hyper-parameters)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from autodistiller._paths import cache_root
from autodistiller.config import TrainingConfig
from autodistiller.errors import ConfigError
from autodistiller.models._backbone import (
    DEFAULT_BACKBONE,
    model_identity,
    quiet_transformers,
    resolve_model_path,
)
from autodistiller.tasks import Task

__all__ = ["Teacher", "TEACHER_TRAINING", "fine_tune_teacher", "load_teacher", "save_teacher", "teacher_key",
           "load_classifier"]

#: default fine-tuning of the teacher (3 epochs, best dev epoch kept)
TEACHER_TRAINING = TrainingConfig(epochs=3, batch_size=32, learning_rate=5e-5, max_length=128, seed=42)
_META = "teacher.json"


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
        (tmp / _META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")  # last: complete
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
    meta_path = path / _META
    if not meta_path.is_file():
        raise ConfigError(f"{path} is not a teacher directory ({_META} is missing).")
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


def fine_tune_teacher(
    task: Task,
    *,
    backbone: str = DEFAULT_BACKBONE,
    training: TrainingConfig = TEACHER_TRAINING,
    cache_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    device: str | torch.device | None = None,
    log: Callable[[str], None] = print,
) -> Teacher:
    """Fine-tune ``backbone`` on ``task`` once; later calls with the same inputs load the cached teacher."""
    from transformers import AutoTokenizer

    from autodistiller.engine import (
        PrintProgress,
        encode_splits,
        evaluate,
        seed_everything,
        select_device,
        subset_indices,
        train_model,
    )
    from autodistiller.models._inputs import model_inputs
    from autodistiller.models._latency import count_parameters, measure_latency_ms
    from autodistiller.prediction import hard_label_loss

    resolved = resolve_model_path(backbone, cache_dir)
    fingerprint = task.fingerprint()  # hashes every row: once
    key = teacher_key(model_identity(backbone, resolved), fingerprint, training)
    directory = cache_root(cache_dir) / "teachers" / f"{task.name}-{key}"
    if (directory / _META).is_file() and not force:
        teacher = load_teacher(directory)
        log(f"teacher: cached {directory} (dev {task.card.metric} {teacher.dev_score:.4f})")
        return teacher

    device = select_device(device)
    seed_everything(training.seed)
    tokenizer = AutoTokenizer.from_pretrained(resolved)
    model = load_classifier(resolved, task)
    splits = encode_splits(task, tokenizer, training.max_length)
    if training.max_train_examples:
        keep = subset_indices(splits["train"].labels, training.max_train_examples, seed=training.seed,
                              classification=not task.is_regression)
        splits["train"] = splits["train"].subset(keep)
    is_regression = task.is_regression
    log(f"teacher: fine-tuning {backbone} on {task.name} ({len(splits['train'])} examples, "
        f"{training.epochs} epochs) on {device}")

    def loss_fn(model: Any, batch: dict[str, torch.Tensor], step: Any) -> torch.Tensor:
        logits = model(**model_inputs(batch)).logits
        return hard_label_loss(logits, batch["labels"], is_regression=is_regression)

    outcome = train_model(model, splits["train"], splits["validation"], loss_fn, training,
                          task_type=task.card.task_type, metric=task.card.metric, device=device,
                          callbacks=[PrintProgress("teacher: ", log)])
    test = evaluate(model, splits["test"], task.card.task_type, device, training.precision)
    metrics = {
        "metric": task.card.metric,
        "dev": outcome.best_dev,
        "test": test,
        "dev_score": outcome.best_dev[task.card.metric],
        "test_score": test[task.card.metric],
        "best_epoch": outcome.best_epoch,
        "epochs_run": outcome.epochs_run,
        "train_seconds": outcome.train_seconds,
        "params": count_parameters(model),
        "latency_ms": measure_latency_ms(model, splits["validation"], "cpu"),
    }
    model.to("cpu").eval()
    teacher = Teacher(model=model, tokenizer=tokenizer, backbone=backbone, task_name=task.name, training=training,
                      metrics=metrics, path=directory, key=key)
    # a forced rebuild, or another process that won the race: replace the directory whole
    save_teacher(teacher, directory, {"backbone_path": resolved, "task_fingerprint": fingerprint}, replace=True)
    log(f"teacher: dev {task.card.metric} {metrics['dev_score']:.4f}, test {metrics['test_score']:.4f} "
        f"-> {directory}")
    return teacher
