from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from autodistiller.tasks import Task, TaskSpec


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run tiny models on one intra-op thread: a second thread gains nothing on them, and costs 10-100x when
    another process shares the cores (the threads spin waiting for each other)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_POSITIVE = ["good", "great", "fine", "lovely", "superb", "nice", "excellent", "pleasant"]
_NEGATIVE = ["bad", "awful", "poor", "dull", "terrible", "boring", "weak", "ugly"]
_FILLER = ["the", "movie", "plot", "was", "really", "quite", "a", "story", "and", "acting", "music", "film"]


def tiny_task(directory: str | Path, *, rows: int = 40, seed: int = 0, regression: bool = False,
              name: str | None = None) -> Task:
    """A small sentiment task (a polar word decides the label) written as a local CSV (``<name>.csv``) and
    loaded from it."""
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        label = i % 2
        words = rng.sample(_FILLER, 5) + [rng.choice(_POSITIVE if label else _NEGATIVE)]
        rng.shuffle(words)
        score = (1.0 if label else -1.0) + rng.uniform(-0.3, 0.3)
        records.append({"text": " ".join(words), "label": score if regression else label})
    path = Path(directory) / f"{name or ('tiny_regression' if regression else 'tiny')}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(records).to_csv(path, index=False)
    return TaskSpec(str(path), task_type="regression" if regression else None).load()


def tiny_bert(directory: str | Path, *, num_labels: int = 2, layers: int = 4, hidden: int = 32, seed: int = 0) -> Path:
    """Save a randomly initialised BERT of ``layers`` x ``hidden`` with a word-level tokenizer to ``directory``.

    The weights come from ``seed`` (torch's global generator is left as it was): the same model whatever ran
    before, so tests built on a tiny teacher do not depend on the order they run in.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    directory = Path(directory)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(_POSITIVE + _NEGATIVE + _FILLER))]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                        cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                        model_max_length=128)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=hidden * 2, max_position_embeddings=128, num_labels=num_labels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertForSequenceClassification(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tiny_teacher(directory: str | Path, task: Task, **kwargs: Any) -> Any:
    """Fine-tune a tiny BERT on ``task`` (a few seconds on a CPU) through the real teacher path."""
    from autodistiller.config import TrainingConfig
    from autodistiller.engine import fine_tune_teacher

    backbone = tiny_bert(Path(directory) / "backbone", num_labels=task.card.num_classes)
    training = TrainingConfig(epochs=kwargs.pop("epochs", 8), batch_size=8, learning_rate=1e-3, max_length=32,
                              warmup_ratio=0.0)
    return fine_tune_teacher(task, backbone=str(backbone), training=training,
                             cache_dir=Path(directory) / "cache", log=lambda _: None, **kwargs)


def log_result(root: str | Path, result: Any, trial_id: str, *, experiment_id: str = "test") -> None:
    """Write a :class:`DistillResult` to the meta-dataset at ``root`` as one completed trial row (as a search's
    logger would: the row records the plan that ran)."""
    import time

    from autodistiller.meta_dataset import trial_row, write_row

    row = trial_row(experiment_id=experiment_id, trial_id=trial_id, status="completed", columns=result.to_row(),
                    context={"task_family": result.task_family}, ended_at=time.time())
    write_row(root, result.task_name, row)


#: pipelines of a tiny meta-dataset: losses, an intermediate objective, augmentation and learning rates that
#: really change a tiny student's score (a narrow student starts from random weights)
TINY_PIPELINES = (
    {"loss.kind": "kl"}, {"loss.kind": "none"}, {"loss.kind": "mse"},
    {"loss.kind": "kl", "intermediate.objective": "hidden_mse"},
    {"loss.kind": "kl", "augment.pipeline": "random"},
    {"loss.kind": "kl", "training.learning_rate": 2e-2}, {"loss.kind": "none", "training.learning_rate": 2e-2},
    {"loss.kind": "kl", "student.layers": 2},
)
_TINY_FIDELITY = {"training.epochs": 3, "training.batch_size": 16, "training.max_length": 32,
                  "training.warmup_ratio": 0.0, "training.learning_rate": 5e-3, "student.hidden_size": 16,
                  "student.layers": 1}


def tiny_meta_dataset(root: str | Path, runs: list[tuple[Any, Any]], *, pipelines: tuple[dict, ...] = TINY_PIPELINES,
                      cache_dir: str | Path | None = None) -> Path:
    """A small REAL meta-dataset at ``root``: each pipeline distilled for real on each ``(task, teacher)`` of
    ``runs`` and logged as a search logs it (the task's full meta-features, the plan that ran, its metrics)."""
    import time

    from autodistiller.config import PipelineConfig
    from autodistiller.engine import distill
    from autodistiller.meta_dataset import trial_row, write_row
    from autodistiller.recommend import task_features
    from autodistiller.registries import unusable_options

    root = Path(root)
    with one_torch_thread():
        for task, teacher in runs:
            context = {"task_family": task.card.family, "task_type": task.card.task_type,
                       "teacher_backbone": teacher.backbone, **task_features(task, teacher, cache_dir=cache_dir)}
            for number, pipeline in enumerate(pipelines):
                flat = {**_TINY_FIDELITY, **pipeline}
                counterparts = unusable_options(is_regression=task.card.is_regression).get("loss.kind", {})
                if flat.get("loss.kind") in counterparts:  # kl -> mse on a regression task, as a search does
                    flat["loss.kind"] = counterparts[flat["loss.kind"]]
                result = distill(PipelineConfig.from_flat(flat), task, teacher, cache_dir=cache_dir,
                                 log=lambda _: None)
                columns = {**result.to_row(), "started_at": time.time() - result.train_seconds}
                write_row(root, task.name, trial_row(experiment_id=f"{task.name}-tiny", trial_id=f"t{number:02d}",
                                                     status="completed", columns=columns, context=context,
                                                     ended_at=time.time()))
    return root
