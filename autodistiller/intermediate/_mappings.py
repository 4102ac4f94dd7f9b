"""Layer mappings: which teacher layer(s) each student layer is distilled from, registered by canonical name.

A mapping sees the transformer layers only (lists of per-layer features, 0-based: entry ``j`` is layer
``j + 1``); the embedding layer, when it takes part, is always paired with the teacher's embeddings by the stage.
It returns the mean over student layers of ``pair_loss(j, student_j, target_j)``, where the target is one
teacher layer (``uniform``, ``last``, ``first``), a weighted combination of teacher layers (``alp``, ``ckd``), or,
for ``emd``, the transport-weighted sum over all (student, teacher) pairs. ``student_keys`` / ``teacher_keys``
are the layers' [CLS] hidden states, which ALP-KD's attention reads whatever the objective's features are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from autodistiller.errors import ConfigError
from autodistiller.models import select_teacher_layers
from autodistiller.registries import LAYER_MAPPINGS

__all__ = [
    "LAYER_MAPPINGS",
    "LayerMapping",
    "FixedMapping",
    "UniformMapping",
    "LastMapping",
    "FirstMapping",
    "ALPMapping",
    "CKDMapping",
    "EMDMapping",
    "PairLoss",
    "contiguous_groups",
    "transport_plan",
]


#: (student layer index j, student feature, teacher target) -> scalar loss
PairLoss = Callable[[int, Tensor, Tensor], Tensor]


def _combine(weights: Tensor, features: Sequence[Tensor]) -> Tensor:
    """``sum_k weights[..., k] * features[k]``; ``weights`` is ``[K]`` or per example ``[B, K]``."""
    stacked = torch.stack([f.float() for f in features], dim=-1)  # [..., K]
    if weights.ndim == 2:  # [B, K]: broadcast over the feature dimensions
        weights = weights.view(weights.shape[0], *([1] * (stacked.ndim - 2)), weights.shape[1])
    return (stacked * weights).sum(dim=-1)


class LayerMapping(nn.Module):
    """Base class: ``forward(student, teacher, pair_loss, *, student_keys, teacher_keys) -> scalar``."""

    def __init__(self, *, num_student_layers: int, num_teacher_layers: int, student_width: int,
                 teacher_width: int) -> None:
        super().__init__()
        if num_student_layers < 1 or num_teacher_layers < 1:
            raise ConfigError(f"a layer mapping needs layers on both sides, got {num_student_layers=}, "
                              f"{num_teacher_layers=}.")
        self.num_student_layers = num_student_layers
        self.num_teacher_layers = num_teacher_layers

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor], pair_loss: PairLoss, *,
                student_keys: Sequence[Tensor], teacher_keys: Sequence[Tensor]) -> Tensor:
        raise NotImplementedError


class FixedMapping(LayerMapping):
    """One teacher layer per student layer, fixed: ``loss = mean_j pair_loss(j, S_j, T_{m(j)})``."""

    rule: str = ""

    def __init__(self, **kwargs: int) -> None:
        super().__init__(**kwargs)
        self.pairs = select_teacher_layers(self.num_teacher_layers, self.num_student_layers, self.rule)

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor], pair_loss: PairLoss, *,
                student_keys: Sequence[Tensor], teacher_keys: Sequence[Tensor]) -> Tensor:
        losses = [pair_loss(j, student[j], teacher[k]) for j, k in enumerate(self.pairs)]
        return torch.stack(losses).mean()


@LAYER_MAPPINGS.register("uniform")
class UniformMapping(FixedMapping):
    """PKD-Skip / the Distiller's ``skip``: student layer i (1-based) <- teacher layer floor(i * L_T / L_S)."""

    rule = "uniform"


@LAYER_MAPPINGS.register("last")
class LastMapping(FixedMapping):
    """PKD-Last: student layer i <- teacher layer L_T - L_S + i (the last L_S teacher layers)."""

    rule = "last"


@LAYER_MAPPINGS.register("first")
class FirstMapping(FixedMapping):
    """Student layer i <- teacher layer i (the first L_S teacher layers)."""

    rule = "first"


@LAYER_MAPPINGS.register("alp")
class ALPMapping(LayerMapping):
    """ALP-KD (Passban et al., AAAI 2021): each student layer attends over all teacher layers.

    ``a_jk = softmax_k(h_S^j . h_T^k)`` on the [CLS] states (per example; the paper's formula, no 1/sqrt(d)),
    ``c_j = sum_k a_jk T_k`` combines the objective's teacher features, and the loss is
    ``mean_j pair_loss(j, S_j, c_j)`` (MSE(h_S^j, c_j) with ``hidden_mse`` / ``pkd``). A narrower student's
    [CLS] is first mapped to the teacher's width by a learned linear projection.
    """

    def __init__(self, *, student_width: int, teacher_width: int, **kwargs: int) -> None:
        super().__init__(student_width=student_width, teacher_width=teacher_width, **kwargs)
        self.projection: nn.Module = (nn.Identity() if student_width == teacher_width
                                      else nn.Linear(student_width, teacher_width))

    def attention_weights(self, student_keys: Sequence[Tensor], teacher_keys: Sequence[Tensor]) -> Tensor:
        """``a [B, L_S, L_T]``: each student layer's softmax over the teacher layers (rows sum to 1)."""
        s = torch.stack([self.projection(k).float() for k in student_keys], dim=1)  # [B, L_S, H_T]
        t = torch.stack([k.float() for k in teacher_keys], dim=1)  # [B, L_T, H_T]
        return torch.softmax(s @ t.transpose(1, 2), dim=-1)

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor], pair_loss: PairLoss, *,
                student_keys: Sequence[Tensor], teacher_keys: Sequence[Tensor]) -> Tensor:
        weights = self.attention_weights(student_keys, teacher_keys)
        losses = [pair_loss(j, student[j], _combine(weights[:, j], teacher)) for j in range(len(student))]
        return torch.stack(losses).mean()


def contiguous_groups(num_teacher_layers: int, num_student_layers: int) -> list[list[int]]:
    """Split teacher layers 0..L_T-1 into L_S contiguous groups covering all, sizes differing by at most 1."""
    if num_student_layers > num_teacher_layers:
        raise ConfigError(f"intermediate.mapping='ckd' needs no more student layers ({num_student_layers}) than "
                          f"teacher layers ({num_teacher_layers}).")
    return [g.tolist() for g in np.array_split(np.arange(num_teacher_layers), num_student_layers)]


@LAYER_MAPPINGS.register("ckd")
class CKDMapping(LayerMapping):
    """Combinatorial KD (Wu et al., EMNLP 2020 "Why Skip If You Can Combine"): no teacher layer is skipped.

    The teacher layers are split into L_S contiguous groups covering them all; student layer j matches
    ``c_j = sum_{k in G_j} softmax(w_j)_k T_k``, a learned combination of its group (``w_j`` start equal, i.e. the
    group mean). The paper also combines by concatenation + projection; a convex combination works for any
    feature (attention maps included) and keeps the target on the teacher's scale.
    """

    def __init__(self, **kwargs: int) -> None:
        super().__init__(**kwargs)
        self.groups = contiguous_groups(self.num_teacher_layers, self.num_student_layers)
        self.logits = nn.ParameterList(nn.Parameter(torch.zeros(len(g))) for g in self.groups)

    def group_weights(self) -> list[Tensor]:
        return [torch.softmax(w, dim=0) for w in self.logits]

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor], pair_loss: PairLoss, *,
                student_keys: Sequence[Tensor], teacher_keys: Sequence[Tensor]) -> Tensor:
        losses = []
        for j, (group, weights) in enumerate(zip(self.groups, self.group_weights(), strict=True)):
            losses.append(pair_loss(j, student[j], _combine(weights, [teacher[k] for k in group])))
        return torch.stack(losses).mean()


def transport_plan(cost: np.ndarray, supply: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """The earth mover's optimal flow ``F`` (min ``sum F_ij C_ij``, rows sum to ``supply``, columns to ``demand``).

    ``supply`` and ``demand`` are non-negative and sum to 1; solved exactly as a linear program (HiGHS).
    """
    from scipy.optimize import linprog

    m, n = cost.shape
    rows = np.kron(np.eye(m), np.ones((1, n)))  # sum_j F_ij = supply_i
    cols = np.kron(np.ones((1, m)), np.eye(n))  # sum_i F_ij = demand_j
    a_eq = np.vstack([rows, cols])[:-1]  # one constraint is implied by the others
    b_eq = np.concatenate([supply, demand])[:-1]
    result = linprog(cost.ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if not result.success:
        raise FloatingPointError(f"earth mover's distance: the transport problem failed ({result.message}).")
    return np.clip(result.x.reshape(m, n), 0.0, None)


@LAYER_MAPPINGS.register("emd")
class EMDMapping(LayerMapping):
    """BERT-EMD (Li et al., EMNLP 2020): a many-to-many mapping from an earth mover's transport plan.

    Cost ``C_ij = pair_loss(i, S_i, T_j)`` for every student layer i and teacher layer j; ``F`` is the optimal
    flow moving the student layer weights ``w_S`` onto the teacher layer weights ``w_T``; the loss is
    ``sum_ij F_ij C_ij`` (gradients flow through C, F is held fixed). The layer weights start uniform and are
    learned with BERT-EMD's cost attention after every training step: a layer's unit cost
    ``c_i = sum_j F_ij C_ij / w_i``, then ``w = softmax((sum_k c_k / c_i) / tau)`` with tau = 1, so layers that are
    cheap to transfer gain weight. Costs are shifted to be positive for that update (a constant shift leaves
    ``F`` unchanged), which lets it also serve objectives with negative values such as the MI bounds.
    """

    def __init__(self, *, temperature: float = 1.0, **kwargs: int) -> None:
        super().__init__(**kwargs)
        self.temperature = temperature
        self.register_buffer("student_weights", torch.full((self.num_student_layers,), 1.0 / self.num_student_layers,
                                                           dtype=torch.float64))
        self.register_buffer("teacher_weights", torch.full((self.num_teacher_layers,), 1.0 / self.num_teacher_layers,
                                                           dtype=torch.float64))
        self.last_plan: np.ndarray | None = None

    def _update_weights(self, plan: np.ndarray, cost: np.ndarray) -> None:
        shifted = cost - cost.min() + 1e-6 * (np.abs(cost).mean() + 1e-12)
        moved = plan * shifted
        for weights, unit_cost in ((self.student_weights, moved.sum(axis=1)), (self.teacher_weights, moved.sum(axis=0))):
            current = weights.cpu().numpy()
            unit = unit_cost / np.maximum(current, 1e-12)
            ratio = unit.sum() / np.maximum(unit, 1e-12)
            logits = ratio / self.temperature
            new = np.exp(logits - logits.max())
            weights.copy_(torch.from_numpy(new / new.sum()))

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor], pair_loss: PairLoss, *,
                student_keys: Sequence[Tensor], teacher_keys: Sequence[Tensor]) -> Tensor:
        cost = torch.stack([torch.stack([pair_loss(i, s, t) for t in teacher]) for i, s in enumerate(student)])
        cost_np = cost.detach().double().cpu().numpy()
        plan = transport_plan(cost_np, self.student_weights.cpu().numpy(), self.teacher_weights.cpu().numpy())
        self.last_plan = plan
        if self.training:
            self._update_weights(plan, cost_np)
        return (cost * torch.as_tensor(plan, dtype=cost.dtype, device=cost.device)).sum()
