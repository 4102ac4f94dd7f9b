"""Critics ``f(s, t)`` of the mutual-information objectives, registered by their canonical names.

A critic scores every (student, teacher) pair of a batch at once: ``scores[i, j] = f(s_j, t_i)`` (rows are the
teacher side ``y``, columns the student side ``x``, as in Poole et al. 2019's code), so the diagonal holds the
samples of the joint p(x, y) and the off-diagonal the samples of p(x) p(y). Every critic also carries the
learned log-baseline ``a(y)`` of the TUBA / MI-alpha bounds. Critic parameters train jointly with the student.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from autodistiller.registries import MI_CRITICS

__all__ = ["MI_CRITICS", "Critic", "SeparableCritic", "BilinearCritic", "TransformerCritic"]



def _mlp(width: int, hidden: int, out: int, layers: int = 3) -> nn.Sequential:
    modules: list[nn.Module] = []
    for _ in range(layers - 1):
        modules += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    modules.append(nn.Linear(width, out))
    return nn.Sequential(*modules)


def _masked_mean(x: Tensor, mask: Tensor | None) -> Tensor:
    if mask is None:
        return x.mean(dim=1)
    weights = mask.to(x.dtype)[..., None]
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


class Critic(nn.Module):
    """Base class: ``forward(s, t, mask) -> scores [B, B]`` and ``log_baseline(t, mask) -> a(t) [B]``.

    ``token_level`` critics read whole token sequences ``[B, T, H]``; the others read one vector per example
    (the [CLS] state, ``[B, H]``).
    """

    token_level: ClassVar[bool] = False

    def __init__(self, student_width: int, teacher_width: int, *, hidden: int = 128, dim: int = 32) -> None:
        super().__init__()
        # a(y): a small network of the teacher side only, so q(y) = exp(a(y)) is a valid baseline.
        self.baseline = _mlp(teacher_width, hidden, 1, layers=2)

    def log_baseline(self, teacher: Tensor, mask: Tensor | None = None) -> Tensor:
        pooled = _masked_mean(teacher, mask) if self.token_level else teacher
        return self.baseline(pooled.float()).squeeze(-1)

    def forward(self, student: Tensor, teacher: Tensor, mask: Tensor | None = None) -> Tensor:
        raise NotImplementedError


@MI_CRITICS.register("mlp")
class SeparableCritic(Critic):
    """Separable critic ``f(s, t) = g_s(s)^T g_t(t)``, g_s and g_t 3-layer ReLU MLPs (hidden 128, output 32).

    The Distiller code's critic on the [CLS] vectors; different widths need no projection (each MLP reads its own).
    """

    def __init__(self, student_width: int, teacher_width: int, *, hidden: int = 128, dim: int = 32) -> None:
        super().__init__(student_width, teacher_width, hidden=hidden, dim=dim)
        self.g_s = _mlp(student_width, hidden, dim)
        self.g_t = _mlp(teacher_width, hidden, dim)

    def forward(self, student: Tensor, teacher: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.g_t(teacher.float()) @ self.g_s(student.float()).T


@MI_CRITICS.register("bilinear")
class BilinearCritic(Critic):
    """Bilinear critic ``f(s, t) = t^T W s`` on the [CLS] vectors (``W`` of teacher x student width, starts at 0)."""

    def __init__(self, student_width: int, teacher_width: int, *, hidden: int = 128, dim: int = 32) -> None:
        super().__init__(student_width, teacher_width, hidden=hidden, dim=dim)
        # zero start: every score is 0, so the exp terms of NWJ / TUBA begin at a safe scale
        self.weight = nn.Parameter(torch.zeros(teacher_width, student_width))

    def forward(self, student: Tensor, teacher: Tensor, mask: Tensor | None = None) -> Tensor:
        return teacher.float() @ self.weight @ student.float().T


class _SequenceEncoder(nn.Module):
    def __init__(self, width: int, hidden: int, dim: int, layers: int = 2) -> None:
        super().__init__()
        heads = next(h for h in (4, 2, 1) if hidden % h == 0)
        self.project = nn.Linear(width, hidden)
        layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        padding = ~mask.bool() if mask is not None else None
        encoded = self.encoder(self.project(x.float()), src_key_padding_mask=padding)
        return self.out(_masked_mean(encoded, mask))


@MI_CRITICS.register("transformer")
class TransformerCritic(Critic):
    """Separable critic over token sequences: ``f(S, T) = g_s(S)^T g_t(T)``.

    Each of g_s, g_t projects the tokens to ``hidden``, runs a 2-layer transformer encoder (randomly
    initialised, no dropout), mean-pools the real tokens and maps to ``dim``: the Distiller's later token-level critic.
    """

    token_level = True

    def __init__(self, student_width: int, teacher_width: int, *, hidden: int = 128, dim: int = 32) -> None:
        super().__init__(student_width, teacher_width, hidden=hidden, dim=dim)
        self.g_s = _SequenceEncoder(student_width, hidden, dim)
        self.g_t = _SequenceEncoder(teacher_width, hidden, dim)

    def forward(self, student: Tensor, teacher: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.g_t(teacher, mask) @ self.g_s(student, mask).T
