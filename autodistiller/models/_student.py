"""Build a student from a config: k layers taken from a source model, or a narrower random one."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from autodistiller.config import StudentConfig
from autodistiller.errors import ConfigError

__all__ = ["StudentInfo", "build_student", "select_teacher_layers", "student_dims"]

# "bert.encoder.layer.3.attention.self.query.weight" -> prefix, 3, rest. Covers BERT, RoBERTa, MPNet, ELECTRA
# (".layer.") and DistilBERT (".transformer.layer.") style encoders.
_LAYER_KEY = re.compile(r"^(?P<prefix>.*?\.layers?)\.(?P<index>\d+)\.(?P<rest>.*)$")


@dataclass(frozen=True)
class StudentInfo:
    """How a student was made: recorded with every result."""

    num_layers: int
    hidden_size: int
    initialised_from: tuple[int, ...]  # source layer (0-based) of each student layer; empty for random init
    source: str


def select_teacher_layers(num_teacher_layers: int, num_student_layers: int, init: str) -> list[int]:
    """0-based teacher layers that initialise each student layer.

    ``first``: 0..k-1. ``last``: L-k..L-1. ``uniform`` (PKD skip): student layer i (1-based) <- teacher layer
    floor(i * L / k), so a 2-layer student of a 6-layer teacher takes layers 3 and 6 (1-based).
    """
    n, k = num_teacher_layers, num_student_layers
    if k > n:
        raise ConfigError(f"student.layers={k} exceeds the {n} layers of the model it is taken from.")
    if init == "first":
        return list(range(k))
    if init == "last":
        return list(range(n - k, n))
    if init == "uniform":
        return [(i * n) // k - 1 for i in range(1, k + 1)]
    raise ConfigError(f"student.init={init!r} must be one of first, uniform, last.")


def _num_heads(hidden_size: int, source_heads: int) -> int:
    heads = min(source_heads, hidden_size)
    while hidden_size % heads:
        heads -= 1
    return heads


def student_dims(cfg: StudentConfig, source_dims: tuple[int, int, int]) -> tuple[int, int, int]:
    """(layers, width, heads) of the student ``cfg`` builds from a source of ``source_dims``, checked as
    :func:`build_student` checks them (without building anything)."""
    layers, width, heads = source_dims
    if cfg.hidden_size and cfg.hidden_size != width:
        if cfg.hidden_size > width:
            raise ConfigError(f"student.hidden_size={cfg.hidden_size} is wider than the source ({width}); a student "
                              "should be smaller.")
        return cfg.layers, cfg.hidden_size, _num_heads(cfg.hidden_size, heads)
    select_teacher_layers(layers, cfg.layers, cfg.init)
    return cfg.layers, width, heads


def freeze_word_embeddings(model: nn.Module) -> int:
    """Stop training the word embeddings (``student.freeze_embeddings``); returns how many parameters froze."""
    embeddings = model.get_input_embeddings()
    for param in embeddings.parameters():
        param.requires_grad_(False)
    return sum(p.numel() for p in embeddings.parameters())


def build_student(cfg: StudentConfig, source: nn.Module, *, source_name: str = "teacher") -> tuple[nn.Module, StudentInfo]:
    """A student with ``cfg.layers`` layers.

    Same width as ``source``: a copy of its embeddings, of the chosen layers (``cfg.init``) and of its head
    (pooler + classifier, already fine-tuned when ``source`` is the teacher). Narrower (``cfg.hidden_size`` <
    source width): the same architecture, randomly initialised; intermediate losses learn projections.
    """
    student, info = _build(cfg, source, source_name)
    if cfg.freeze_embeddings:
        freeze_word_embeddings(student)
    return student, info


def _build(cfg: StudentConfig, source: nn.Module, source_name: str) -> tuple[nn.Module, StudentInfo]:
    config = source.config
    total_layers = int(config.num_hidden_layers)
    new_config = type(config).from_dict(config.to_dict())
    new_config.num_hidden_layers = cfg.layers
    model_cls = type(source)

    student_dims(cfg, (total_layers, int(config.hidden_size), int(config.num_attention_heads)))
    if cfg.hidden_size and cfg.hidden_size != config.hidden_size:
        ratio = cfg.hidden_size / config.hidden_size
        new_config.hidden_size = cfg.hidden_size
        new_config.num_attention_heads = _num_heads(cfg.hidden_size, config.num_attention_heads)
        if hasattr(new_config, "intermediate_size"):
            new_config.intermediate_size = max(8, int(round(config.intermediate_size * ratio)))
        if getattr(new_config, "embedding_size", None):  # ELECTRA / ALBERT style factorised embeddings
            new_config.embedding_size = cfg.hidden_size
        student = model_cls(new_config)
        return student, StudentInfo(cfg.layers, cfg.hidden_size, (), f"random init ({source_name} architecture)")

    chosen = select_teacher_layers(total_layers, cfg.layers, cfg.init)
    student = model_cls(new_config)
    source_state = source.state_dict()
    new_state: dict[str, torch.Tensor] = {}
    for key in student.state_dict():
        match = _LAYER_KEY.match(key)
        if match and int(match["index"]) < cfg.layers and (
            f"{match['prefix']}.{chosen[int(match['index'])]}.{match['rest']}" in source_state
        ):
            source_key = f"{match['prefix']}.{chosen[int(match['index'])]}.{match['rest']}"
        else:
            source_key = key
        if source_key not in source_state:
            raise ConfigError(f"cannot initialise student weight {key!r}: {source_name} has no {source_key!r}.")
        new_state[key] = source_state[source_key].detach().clone()
    student.load_state_dict(new_state, strict=True)
    return student, StudentInfo(cfg.layers, int(config.hidden_size), tuple(chosen), source_name)

