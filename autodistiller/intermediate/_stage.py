"""The intermediate stage as one module: objective + layer mapping (+ the embedding pair), built from config.

``loss = mean over mapped pairs of the objective``; the engine adds ``beta * loss`` to the prediction loss.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from autodistiller.config import IntermediateConfig
from autodistiller.errors import ConfigError
from autodistiller.intermediate._features import Representations
from autodistiller.intermediate._mappings import LAYER_MAPPINGS, LayerMapping
from autodistiller.intermediate._objectives import (
    INTERMEDIATE_OBJECTIVES,
    STAGE_PARAMETERS,
    IntermediateObjective,
)

__all__ = ["IntermediateDistillation", "build_intermediate", "model_dims"]


def model_dims(model_or_config: Any) -> tuple[int, int, int]:
    """(layers, hidden width, attention heads) of a Hugging Face encoder or its config."""
    config = getattr(model_or_config, "config", model_or_config)
    return int(config.num_hidden_layers), int(config.hidden_size), int(config.num_attention_heads)


class IntermediateDistillation(nn.Module):
    """``forward(student_reps, teacher_reps) -> loss``: the objective on every mapped layer pair.

    With ``include_embeddings`` (and an objective on hidden states) the embedding outputs form one more pair,
    0 <-> 0, as in the Distiller code's skip mapping; the stage loss is the mean over all pairs, each student
    layer counting once.
    """

    def __init__(self, objective: IntermediateObjective, mapping: LayerMapping, *, include_embeddings: bool,
                 beta: float = 1.0) -> None:
        super().__init__()
        self.objective = objective
        self.mapping = mapping
        self.include_embeddings = include_embeddings and objective.has_embedding_layer
        self.beta = beta

    @property
    def needs_attentions(self) -> bool:
        return self.objective.needs_attentions

    @property
    def token_level(self) -> bool:
        return self.objective.token_level

    def forward(self, student: Representations, teacher: Representations) -> Tensor:
        s_feats, t_feats = self.objective.features(student), self.objective.features(teacher)
        mask = student.attention_mask
        offset = 1 if self.include_embeddings else 0

        def pair_loss(j: int, s: Tensor, t: Tensor) -> Tensor:
            return self.objective.pair_loss(j + offset, s, t, mask)

        layers = self.mapping(
            s_feats[1:], t_feats[1:], pair_loss,
            student_keys=[student.cls(layer) for layer in range(1, student.num_layers + 1)],
            teacher_keys=[teacher.cls(layer) for layer in range(1, teacher.num_layers + 1)],
        )
        if not self.include_embeddings:
            return layers
        embeddings = self.objective.pair_loss(0, s_feats[0], t_feats[0], mask)
        n = student.num_layers
        return (embeddings + n * layers) / (n + 1)


def build_intermediate(cfg: IntermediateConfig, student: Any, teacher: Any) -> IntermediateDistillation | None:
    """The stage for ``cfg`` between a ``student`` and a ``teacher`` model (or configs); ``None`` when off."""
    if cfg.objective == "none":
        return None
    objective_cls = INTERMEDIATE_OBJECTIVES.get(cfg.objective, key="intermediate.objective")
    mapping_cls = LAYER_MAPPINGS.get(cfg.mapping, key="intermediate.mapping")
    s_layers, s_width, s_heads = model_dims(student)
    t_layers, t_width, t_heads = model_dims(teacher)
    include_embeddings = cfg.include_embeddings and objective_cls.has_embedding_layer
    params = {name: getattr(cfg, name) for name in objective_cls.uses if name not in STAGE_PARAMETERS}
    objective = objective_cls(student_width=s_width, teacher_width=t_width, student_heads=s_heads,
                              teacher_heads=t_heads, slots=s_layers + int(include_embeddings), **params)
    try:
        mapping = mapping_cls(num_student_layers=s_layers, num_teacher_layers=t_layers, student_width=s_width,
                              teacher_width=t_width)
    except ConfigError as exc:
        raise ConfigError(f"intermediate.mapping={cfg.mapping!r}: {exc}") from exc
    return IntermediateDistillation(objective, mapping, include_embeddings=include_embeddings, beta=cfg.beta)

