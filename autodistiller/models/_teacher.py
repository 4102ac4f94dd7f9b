"""Teachers: the fine-tuned model with its scores, saved and loaded as a directory (the engine fine-tunes them)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodistiller._defaults import TEACHER_TRAINING
from autodistiller.config import TrainingConfig
from autodistiller.errors import AutoDistillerError, ConfigError
from autodistiller.models._backbone import (
    quiet_transformers,
)
from autodistiller.tasks import Task

__all__ = ["Teacher", "TEACHER_TRAINING", "TEACHER_META", "TeacherIntegrityError", "load_teacher", "save_teacher",
           "teacher_key", "load_classifier", "name_labels", "weights_sha256"]

#: the file that makes a directory a complete teacher (written last)
TEACHER_META = "teacher.json"
#: the weight files of a saved model, whose sha256 ``teacher.json`` records
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


class TeacherIntegrityError(AutoDistillerError, RuntimeError):
    """A saved teacher's weights do not match the checksums its ``teacher.json`` recorded, or do not load."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"the teacher in {path} is damaged: {problem}. Its weights changed after it was saved (a partial copy, "
            f"a full disk, an edit), and a student taught by it would learn from noise. Fix: delete {path} and "
            "fine-tune the teacher again (`autodistiller teacher ... --force-teacher`, or without --teacher-dir), "
            "or restore the folder from a good copy."
        )


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
    #: sha256 of the saved weight files (their per-file checksums, combined); "" for a teacher never saved
    weights_sha256: str = ""

    @property
    def cache_key(self) -> str:
        """What caches derived from this teacher (its outputs, TAKD assistants) are keyed by: its config hash and
        its weights' checksum, so damaged or replaced weights never meet outputs of other weights."""
        return f"{self.key}-{self.weights_sha256[:16]}" if self.weights_sha256 else self.key

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
        **_label_names(task),
    }
    return AutoModelForSequenceClassification.from_pretrained(path, **kwargs)


def _label_names(task: Task) -> dict[str, Any]:
    card = task.card
    if not card.label_names or card.is_regression or len(card.label_names) != card.num_classes:
        return {}
    return {"id2label": dict(enumerate(card.label_names)),
            "label2id": {name: i for i, name in enumerate(card.label_names)}}


def name_labels(model: Any, task: Task) -> Any:
    """Give ``model``'s config the task card's class names (``id2label`` / ``label2id``), whatever the model
    it was built from called them (a teacher saved elsewhere may say LABEL_0, LABEL_1): a saved student then
    predicts names, not indices. Returns ``model``."""
    names = _label_names(task)
    if names and int(getattr(model.config, "num_labels", 0)) == task.card.num_classes:
        model.config.id2label, model.config.label2id = names["id2label"], names["label2id"]
    return model


def teacher_key(backbone_identity: str, task_fingerprint: str, training: TrainingConfig) -> str:
    payload = json.dumps({"backbone": backbone_identity, "task": task_fingerprint,
                          "training": {k: v for k, v in training.__dict__.items()}}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _weight_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)


def weights_sha256(files: dict[str, str]) -> str:
    """One checksum for a model's weight files from their per-file sha256s (``{file name: sha256}``)."""
    if len(files) == 1:
        return next(iter(files.values()))
    return hashlib.sha256("".join(f"{name}:{sha}\n" for name, sha in sorted(files.items())).encode()).hexdigest()


def save_teacher(teacher: Teacher, directory: Path, extra: dict[str, Any] | None = None, *,
                 replace: bool = False) -> None:
    """Write ``teacher`` as a teacher directory (what :func:`load_teacher` reads), atomically: model, tokenizer,
    then ``teacher.json`` (with ``extra`` keys and the sha256 of every weight file), renamed into place. Sets
    ``teacher.weights_sha256``. An existing ``directory`` is replaced with ``replace``; otherwise it is kept
    (another process saved the same teacher first)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        teacher.model.save_pretrained(tmp)
        teacher.tokenizer.save_pretrained(tmp)
        files = {p.name: _file_sha256(p) for p in _weight_files(tmp)}
        meta = {"backbone": teacher.backbone, "task": teacher.task_name, "key": teacher.key,
                "training": teacher.training.__dict__, "metrics": teacher.metrics, **(extra or {}),
                "weights_sha256": files, "weights_bytes": {p.name: p.stat().st_size for p in _weight_files(tmp)}}
        (tmp / TEACHER_META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")  # last: complete
        teacher.weights_sha256 = weights_sha256(files)
        if directory.exists():
            if not replace:
                return
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    files = [directory / TEACHER_META, *_weight_files(directory)]
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)


@functools.lru_cache(maxsize=64)
def _checked_weights(directory: str, stamp: tuple[tuple[str, int, int], ...]) -> tuple[str, str | None]:
    """``(weights_sha256, problem)`` of a teacher directory, hashed once per process (again whenever a weight
    file or teacher.json changes: ``stamp``). ``problem`` is None when every file matches its recorded
    checksum; a teacher saved before checksums were recorded is hashed as it is."""
    path = Path(directory)
    meta = json.loads((path / TEACHER_META).read_text())
    recorded: dict[str, str] | None = meta.get("weights_sha256")
    if recorded is None:  # saved by an older AutoDistiller: nothing to check against
        return weights_sha256({p.name: _file_sha256(p) for p in _weight_files(path)}), None
    sizes = meta.get("weights_bytes", {})
    for name, expected in sorted(recorded.items()):
        file = path / name
        if not file.is_file():
            return "", f"{name} is missing"
        if name in sizes and file.stat().st_size != sizes[name]:
            return "", f"{name} has {file.stat().st_size} bytes, {sizes[name]} when it was saved (truncated?)"
        if _file_sha256(file) != expected:
            return "", f"the sha256 of {name} differs from the one recorded in {TEACHER_META} when it was saved"
    return weights_sha256(recorded), None


def load_teacher(path: str | os.PathLike[str]) -> Teacher:
    """Load a cached (or any saved) teacher directory written by :func:`fine_tune_teacher`.

    The weight files are checked against the sha256 recorded in ``teacher.json`` (once per process and
    directory, until a file changes); a mismatch, or weights that do not load, raise
    :class:`TeacherIntegrityError` naming the folder and the fix.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    quiet_transformers()
    path = Path(path)
    meta_path = path / TEACHER_META
    if not meta_path.is_file():
        raise ConfigError(f"{path} is not a teacher directory ({TEACHER_META} is missing).")
    meta = json.loads(meta_path.read_text())
    checksum, problem = _checked_weights(str(path.resolve()), _stamp(path))
    if problem:
        raise TeacherIntegrityError(path, problem)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(str(path))
    except Exception as exc:  # a teacher saved without checksums, damaged: safetensors' or torch's own errors
        raise TeacherIntegrityError(path, f"its weights do not load ({type(exc).__name__}: {exc})") from exc
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
        weights_sha256=checksum,
    )
