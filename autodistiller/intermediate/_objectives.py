"""Intermediate-layer objectives: how one student layer is matched to its (mapped) teacher target.

An objective turns a model's :class:`Representations` into one feature per layer (:meth:`features`: token
hidden states, [CLS] vectors or attention scores) and scores one mapped pair with :meth:`pair_loss`. Which
teacher layer(s) a student layer is paired with is the layer mapping's business (``_mappings.py``). Learned
parts (projections to the teacher's width, MI critics) live in the objective and train with the student.

``slot`` numbers the student layers that are paired (0 = embeddings when they take part): per-layer parameters
such as MI critics are indexed by it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from autodistiller.intermediate._features import Representations, valid_pairs_mask
from autodistiller.registries import INTERMEDIATE_OBJECTIVES

__all__ = [
    "INTERMEDIATE_OBJECTIVES",
    "STAGE_PARAMETERS",
    "IntermediateObjective",
    "NoIntermediate",
    "HiddenMSE",
    "CosineDistance",
    "PKDLoss",
    "AttentionMSE",
    "masked_token_mean",
]


#: ``intermediate.*`` parameters every active objective reads (the stage's own knobs)
STAGE_PARAMETERS = ("mapping", "beta", "include_embeddings")


def masked_token_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of per-token ``values [B, T]`` over the real (unpadded) tokens of the batch."""
    weights = mask.to(values.dtype)
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


class IntermediateObjective(nn.Module):
    """Base class of a registered intermediate objective.

    ``uses`` names the ``intermediate.*`` parameters it reads (the search space makes them conditional on it);
    the builder passes those that are not :data:`STAGE_PARAMETERS` to ``__init__``. ``needs_attentions`` /
    ``needs_hidden_states`` say what the student and teacher forwards must return; ``token_level`` that the
    features are token sequences, so student and teacher must share a tokenizer.
    """

    uses: ClassVar[tuple[str, ...]] = STAGE_PARAMETERS
    needs_hidden_states: ClassVar[bool] = True
    needs_attentions: ClassVar[bool] = False
    #: False: the features come from transformer layers only (attention), so embeddings never take part
    has_embedding_layer: ClassVar[bool] = True
    token_level: bool = False

    def __init__(self, *, student_width: int, teacher_width: int, slots: int = 1, student_heads: int = 1,
                 teacher_heads: int = 1) -> None:
        super().__init__()
        self.student_width = student_width
        self.teacher_width = teacher_width
        self.slots = slots

    @property
    def name(self) -> str:
        return next((n for n, c in INTERMEDIATE_OBJECTIVES.items() if c is type(self)), type(self).__name__)

    def features(self, reps: Representations) -> list[Tensor]:
        """One feature per layer, index 0 = embeddings: token states ``[B, T, H]`` or [CLS] ``[B, H]``."""
        if self.token_level:
            return list(reps.hidden_states)
        return [h[:, 0] for h in reps.hidden_states]

    def pair_loss(self, slot: int, student: Tensor, teacher: Tensor, mask: Tensor) -> Tensor:
        """The loss of one mapped pair (``mask``: the ``[B, T]`` attention mask of real tokens)."""
        raise NotImplementedError

    def _projection(self) -> nn.Module:
        # TinyBERT's W_h: one learned map shared by all layers, only when the widths differ.
        if self.student_width == self.teacher_width:
            return nn.Identity()
        return nn.Linear(self.student_width, self.teacher_width)


@INTERMEDIATE_OBJECTIVES.register("none")
class NoIntermediate(IntermediateObjective):
    """No intermediate term: prediction-layer KD only (the default)."""

    uses = ()
    needs_hidden_states = False

    def pair_loss(self, slot: int, student: Tensor, teacher: Tensor, mask: Tensor) -> Tensor:
        return student.new_zeros(())


@INTERMEDIATE_OBJECTIVES.register("hidden_mse")
class HiddenMSE(IntermediateObjective):
    """TinyBERT's hidden-state loss (Jiao et al. 2020): ``MSE(h_S W_h, h_T)`` over all real tokens.

    ``W_h`` is a learned linear projection, used only when the student is narrower. The mean runs over the real
    tokens and the teacher's hidden dimension (TinyBERT's code also averages over padding).
    """

    token_level = True

    def __init__(self, **dims: Any) -> None:
        super().__init__(**dims)
        self.projection = self._projection()

    def pair_loss(self, slot: int, student: Tensor, teacher: Tensor, mask: Tensor) -> Tensor:
        diff = self.projection(student).float() - teacher.float()
        return masked_token_mean(diff.pow(2).mean(dim=-1), mask)


@INTERMEDIATE_OBJECTIVES.register("cosine")
class CosineDistance(IntermediateObjective):
    """DistilBERT's cosine loss (Sanh et al. 2019): ``1 - cos(h_S W, h_T)`` averaged over the real tokens.

    ``W`` is a learned projection when the widths differ (identity otherwise).
    """

    token_level = True

    def __init__(self, **dims: Any) -> None:
        super().__init__(**dims)
        self.projection = self._projection()

    def pair_loss(self, slot: int, student: Tensor, teacher: Tensor, mask: Tensor) -> Tensor:
        cos = F.cosine_similarity(self.projection(student).float(), teacher.float(), dim=-1, eps=1e-8)
        return masked_token_mean(1.0 - cos, mask)


@INTERMEDIATE_OBJECTIVES.register("pkd")
class PKDLoss(IntermediateObjective):
    """Patient KD (Sun et al. 2019): ``MSE(s / ||s||, t / ||t||)`` between L2-normalised [CLS] vectors.

    The mean runs over the batch and the teacher's width (the PKD code's ``mse_loss``; the paper writes the sum
    of squared distances). ``s = h_S W`` with a learned projection when the widths differ.
    """

    def __init__(self, **dims: Any) -> None:
        super().__init__(**dims)
        self.projection = self._projection()

    def pair_loss(self, slot: int, student: Tensor, teacher: Tensor, mask: Tensor) -> Tensor:
        s = F.normalize(self.projection(student).float(), dim=-1)
        t = F.normalize(teacher.float(), dim=-1)
        return F.mse_loss(s, t)


@INTERMEDIATE_OBJECTIVES.register("attention_mse")
class AttentionMSE(IntermediateObjective):
    """TinyBERT's attention loss: ``MSE(A_S, A_T)`` of the pre-softmax scores ``A = Q K^T / sqrt(d_head)``.

    Averaged over heads and over the (query, key) pairs of real tokens (TinyBERT zeroes the padded entries).
    When the student has fewer heads than the teacher, both sides are averaged over their heads first (TinyBERT
    assumes equal head counts). Attention exists only in transformer layers, so embeddings never take part.
    """

    uses = ("mapping", "beta")
    needs_attentions = True
    has_embedding_layer = False
    token_level = True

    def __init__(self, **dims: Any) -> None:
        super().__init__(**dims)
        self.average_heads = dims.get("student_heads", 1) != dims.get("teacher_heads", 1)

    def features(self, reps: Representations) -> list[Tensor]:
        if reps.attentions is None:
            raise ValueError("attention_mse needs attention scores: run the model with output_attentions=True "
                             "inside autodistiller.intermediate.attention_scores(model).")
        maps = [a.mean(dim=1, keepdim=True) if self.average_heads else a for a in reps.attentions]
        return [maps[0].new_zeros(()), *maps]  # index 0 (embeddings) has no attention

    def pair_loss(self, slot: int, student: Tensor, teacher: Tensor, mask: Tensor) -> Tensor:
        valid = valid_pairs_mask(mask)
        # select, never multiply: padded scores may be -inf (a masked softmax input), and -inf * 0 is NaN. The
        # inputs are selected before the difference, so no NaN reaches the gradient either.
        zero = student.new_zeros((), dtype=torch.float32)
        sq = (torch.where(valid, student.float(), zero) - torch.where(valid, teacher.float(), zero)).pow(2)
        heads = sq.shape[1]
        return sq.sum() / (valid.sum() * heads).clamp_min(1)
