"""Mutual-information lower bounds (Poole et al., ICML 2019) as intermediate objectives with a learned critic.

Every bound reads a score matrix ``scores[i, j] = f(x_j, y_i)`` over a batch of B pairs (``x`` = student
features, ``y`` = teacher features; see :mod:`._critics`): the diagonal samples the joint p(x, y), the
off-diagonal samples p(x) p(y) (negatives: the batch's other samples). The objectives *maximise* the bound, so
their loss is ``-I``; the critic and the student both descend it. A batch of one example has no negatives: its
loss is 0.

* ``infonce`` (van den Oord et al. 2018; CRD's contrast with in-batch negatives):
  ``I_NCE = mean_i [ f(x_i, y_i) - log(1/B sum_j e^{f(x_j, y_i)}) ]``, never above ``log B``.
* ``tuba`` (Poole et al.): ``I_TUBA = 1 + E_p[f - a(y)] - E_{p(x)p(y)}[e^{f - a(y)}]`` with a learned a(y).
* ``nwj`` (Nguyen, Wainwright, Jordan 2010): TUBA with ``a(y) = 1``: ``E_p[f] - e^{-1} E_{p(x)p(y)}[e^f]``.
* ``mi_alpha``: the interpolated bound, what the Distiller study found best (alpha 0.9 in its best runs)::

      I_alpha = 1 + E_p[log(e^f(x,y) / (alpha m(y) + (1 - alpha) q(y)))]
                  - E_{p(x)p(y)}[e^f(x,y) / (alpha m(y) + (1 - alpha) q(y))]

  with ``m(y)`` the leave-one-out mean of ``e^f(x_k, y)`` over the batch's other x's and ``q(y) = e^{a(y)}``.
  alpha = 1 is InfoNCE with a leave-one-out baseline, alpha = 0 is TUBA. As the Distiller code computes it:
  ``nce_ij = log(1/(B-1) sum_{k != j} e^{S_ik})``, ``psi_ij = log(alpha e^{nce_ij} + (1 - alpha) e^{a(y_i)})``,
  ``I = 1 + mean_{i != j}(S_ii - psi_ij) - mean_{i != j} e^{S_ij - psi_ii}``.

True MI of correlated Gaussians (for checks): ``-d/2 log(1 - rho^2)``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from autodistiller.errors import ConfigError
from autodistiller.intermediate._critics import MI_CRITICS, Critic
from autodistiller.intermediate._objectives import (
    INTERMEDIATE_OBJECTIVES,
    STAGE_PARAMETERS,
    IntermediateObjective,
)

__all__ = [
    "MutualInformationObjective",
    "InfoNCE",
    "NWJ",
    "TUBA",
    "MIAlpha",
    "infonce_bound",
    "nwj_bound",
    "tuba_bound",
    "interpolated_bound",
    "log_loo_mean",
    "gaussian_mutual_information",
]

_CRITIC_PARAMETERS = ("critic", "critic_hidden", "critic_dim")


def gaussian_mutual_information(dim: int, rho: float) -> float:
    """MI in nats of ``y = rho x + sqrt(1 - rho^2) eps`` with ``x, eps ~ N(0, I_dim)``: ``-dim/2 log(1-rho^2)``."""
    return -0.5 * dim * math.log(1.0 - rho * rho)


def _off_diagonal(n: int, device: torch.device) -> Tensor:
    return ~torch.eye(n, dtype=torch.bool, device=device)


def _logmeanexp_off_diagonal(x: Tensor) -> Tensor:
    n = x.shape[0]
    return torch.logsumexp(x[_off_diagonal(n, x.device)], dim=0) - math.log(n * (n - 1))


def infonce_bound(scores: Tensor) -> Tensor:
    """``mean_i [S_ii - logsumexp_j S_ij] + log B`` (<= log B)."""
    scores = scores.float()
    return (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean() + math.log(scores.shape[0])


def tuba_bound(scores: Tensor, log_baseline: Tensor | None = None) -> Tensor:
    """``1 + mean_i (S_ii - a_i) - mean_{i != j} e^{S_ij - a_i}`` (``a`` = 0 when not given)."""
    scores = scores.float()
    if log_baseline is not None:
        scores = scores - log_baseline.float()[:, None]
    return 1.0 + scores.diagonal().mean() - torch.exp(_logmeanexp_off_diagonal(scores))


def nwj_bound(scores: Tensor) -> Tensor:
    """TUBA with the constant baseline ``a = 1``: ``mean_i S_ii - e^{-1} mean_{i != j} e^{S_ij}``."""
    return tuba_bound(scores.float() - 1.0)


def log_loo_mean(scores: Tensor) -> Tensor:
    """``out[i, j] = log(1/(B-1) sum_{k != j} e^{S_ik})``: row i's log-mean-exp leaving column j out."""
    n = scores.shape[0]
    expanded = scores[:, None, :].expand(n, n, n)  # [i, j, k]
    keep = _off_diagonal(n, scores.device)[None]  # k != j
    return torch.logsumexp(expanded.masked_fill(~keep, float("-inf")), dim=-1) - math.log(n - 1)


def interpolated_bound(scores: Tensor, log_baseline: Tensor, alpha: float) -> Tensor:
    """Poole et al.'s ``I_alpha`` (see the module docstring), as the Distiller code computes it."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha=}.")
    scores = scores.float()
    n = scores.shape[0]
    baseline = log_baseline.float()[:, None].expand(n, n)
    if alpha == 1.0:
        psi = log_loo_mean(scores)
    elif alpha == 0.0:
        psi = baseline
    else:
        psi = torch.logaddexp(math.log(alpha) + log_loo_mean(scores), math.log(1.0 - alpha) + baseline)
    off = _off_diagonal(n, scores.device)
    joint = (scores.diagonal()[:, None] - psi)[off].mean()
    marginal = torch.exp(_logmeanexp_off_diagonal(scores - psi.diagonal()[:, None]))
    return 1.0 + joint - marginal


class MutualInformationObjective(IntermediateObjective):
    """Maximise a lower bound on I(student layer; teacher layer) with one learned critic per student slot.

    ``critic`` names a registered critic (``mlp``, ``bilinear``, ``transformer``; the last reads token
    sequences, the others [CLS] vectors); ``critic_hidden`` and ``critic_dim`` size it.
    """

    uses: ClassVar[tuple[str, ...]] = STAGE_PARAMETERS + _CRITIC_PARAMETERS

    def __init__(self, *, critic: str = "mlp", critic_hidden: int = 128, critic_dim: int = 32, **dims: Any) -> None:
        super().__init__(**dims)
        critic_cls = MI_CRITICS.get(critic, key="intermediate.critic")
        self.critic_kind = critic
        self.token_level = critic_cls.token_level
        self.critics = nn.ModuleList(
            critic_cls(self.student_width, self.teacher_width, hidden=critic_hidden, dim=critic_dim)
            for _ in range(self.slots)
        )

    def bound(self, scores: Tensor, critic: Critic, teacher: Tensor, mask: Tensor | None) -> Tensor:
        raise NotImplementedError

    def estimate(self, slot: int, student: Tensor, teacher: Tensor, mask: Tensor | None = None) -> Tensor:
        """The bound's value (nats) on this batch with critic ``slot``."""
        critic = self.critics[slot]
        token_mask = mask if self.token_level else None
        scores = critic(student, teacher, token_mask)
        return self.bound(scores, critic, teacher, token_mask)

    def pair_loss(self, slot: int, student: Tensor, teacher: Tensor, mask: Tensor | None = None) -> Tensor:
        if student.shape[0] < 2:  # no negatives in the batch: nothing to contrast
            return student.float().sum() * 0.0
        return -self.estimate(slot, student, teacher, mask)


@INTERMEDIATE_OBJECTIVES.register("infonce")
class InfoNCE(MutualInformationObjective):
    """InfoNCE (van den Oord et al. 2018), CRD-style contrast with in-batch negatives; saturates at log B."""

    def bound(self, scores: Tensor, critic: Critic, teacher: Tensor, mask: Tensor | None) -> Tensor:
        return infonce_bound(scores)


@INTERMEDIATE_OBJECTIVES.register("nwj")
class NWJ(MutualInformationObjective):
    """NWJ / f-GAN KL bound (Nguyen et al. 2010): ``E_p[f] - e^{-1} E_{p(x)p(y)}[e^f]``."""

    def bound(self, scores: Tensor, critic: Critic, teacher: Tensor, mask: Tensor | None) -> Tensor:
        return nwj_bound(scores)


@INTERMEDIATE_OBJECTIVES.register("tuba")
class TUBA(MutualInformationObjective):
    """TUBA (Poole et al. 2019): ``1 + E_p[f - a(y)] - E_{p(x)p(y)}[e^{f - a(y)}]``, a(y) learned."""

    def bound(self, scores: Tensor, critic: Critic, teacher: Tensor, mask: Tensor | None) -> Tensor:
        return tuba_bound(scores, critic.log_baseline(teacher, mask))


@INTERMEDIATE_OBJECTIVES.register("mi_alpha")
class MIAlpha(MutualInformationObjective):
    """The interpolated bound ``I_alpha`` (Poole et al. 2019) that the Distiller study uses; default alpha 0.9.

    alpha trades the variance of TUBA (alpha = 0) against the bias of InfoNCE (alpha = 1, capped at log B).
    """

    uses = MutualInformationObjective.uses + ("mi_alpha",)

    def __init__(self, *, mi_alpha: float = 0.9, **kwargs: Any) -> None:
        if not 0.0 <= mi_alpha <= 1.0:
            raise ConfigError(f"intermediate.mi_alpha={mi_alpha!r} must be in [0, 1].")
        super().__init__(**kwargs)
        self.alpha = mi_alpha

    def bound(self, scores: Tensor, critic: Critic, teacher: Tensor, mask: Tensor | None) -> Tensor:
        return interpolated_bound(scores, critic.log_baseline(teacher, mask), self.alpha)
