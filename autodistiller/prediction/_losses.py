"""Prediction-layer distillation losses, registered by their canonical names.

Every loss is an ``nn.Module`` whose scalars are set in ``__init__`` and whose ``forward`` gets the student's
and teacher's logits, the labels and a :class:`StepInfo` (where training is, for schedules such as Annealing
KD). ``alpha`` always weighs the hard-label term: ``alpha * hard + (1 - alpha) * soft``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from autodistiller.config import LossConfig
from autodistiller.errors import ConfigError
from autodistiller.registries import PREDICTION_LOSSES

__all__ = [
    "PREDICTION_LOSSES",
    "PredictionLoss",
    "StepInfo",
    "HardLabelLoss",
    "KLDivergenceLoss",
    "LogitMSELoss",
    "AnnealingLoss",
    "hard_label_loss",
    "build_prediction_loss",
]



@dataclass(frozen=True)
class StepInfo:
    """Where training is: optimisation step ``step`` of ``total_steps``, in epoch ``epoch`` of ``num_epochs``."""

    step: int
    total_steps: int
    epoch: int
    num_epochs: int

    @property
    def progress(self) -> float:
        return self.step / max(1, self.total_steps)


def hard_label_loss(logits: Tensor, labels: Tensor, *, is_regression: bool) -> Tensor:
    """Cross-entropy on class labels, or MSE on the single output for a regression task."""
    if is_regression:
        return F.mse_loss(logits.squeeze(-1).float(), labels.float())
    return F.cross_entropy(logits.float(), labels)


class PredictionLoss(nn.Module):
    """Base class. ``uses`` names the ``loss.*`` parameters the loss reads (conditional search parameters)."""

    uses: ClassVar[tuple[str, ...]] = ()
    needs_teacher: ClassVar[bool] = True
    supports_regression: ClassVar[bool] = True
    #: the loss doing this one's job on a regression task, when this one cannot (a search adapts shared
    #: pipelines with it: registries.unusable_options)
    regression_counterpart: ClassVar[str | None] = None

    def __init__(self, *, is_regression: bool = False) -> None:
        super().__init__()
        if is_regression and not self.supports_regression:
            raise ConfigError(
                f"loss.kind={self.name!r} needs class probabilities and cannot distil a regression task; "
                "use 'mse' or 'annealing'."
            )
        self.is_regression = is_regression

    @property
    def name(self) -> str:
        return next((n for n, c in PREDICTION_LOSSES.items() if c is type(self)), type(self).__name__)

    def hard(self, student_logits: Tensor, labels: Tensor) -> Tensor:
        return hard_label_loss(student_logits, labels, is_regression=self.is_regression)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor | None, labels: Tensor,
                step: StepInfo) -> Tensor:
        raise NotImplementedError

    def soft_term(self, student_logits: Tensor, teacher_logits: Tensor, step: StepInfo) -> Tensor | None:
        """The teacher-matching term alone, for samples without a gold label (Minimax-kNN neighbours, MATE-KD's
        generated inputs); ``None`` when the loss has none at ``step`` (no KD, Annealing KD's stage 2)."""
        return None


@PREDICTION_LOSSES.register("none")
class HardLabelLoss(PredictionLoss):
    """No distillation: cross-entropy on the gold labels (MSE for regression). The "No KD" baseline."""

    needs_teacher = False

    def forward(self, student_logits: Tensor, teacher_logits: Tensor | None, labels: Tensor,
                step: StepInfo) -> Tensor:
        return self.hard(student_logits, labels)


@PREDICTION_LOSSES.register("kl")
class KLDivergenceLoss(PredictionLoss):
    """Hinton et al. 2015: ``alpha * CE(y, s) + (1 - alpha) * T^2 * KL(softmax(t/T) || softmax(s/T))``.

    The ``T^2`` factor keeps the soft gradients' scale independent of ``T``. Defaults: T = 2, alpha = 0.5.
    """

    uses = ("temperature", "alpha")
    supports_regression = False
    # one output has no class distribution to soften: distilling the teacher's output itself is logit MSE
    regression_counterpart = "mse"

    def __init__(self, *, temperature: float = 2.0, alpha: float = 0.5, is_regression: bool = False) -> None:
        super().__init__(is_regression=is_regression)
        self.temperature = temperature
        self.alpha = alpha

    def soft(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        t = self.temperature
        log_p_student = F.log_softmax(student_logits.float() / t, dim=-1)
        log_p_teacher = F.log_softmax(teacher_logits.float() / t, dim=-1)
        kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
        return kl * t * t

    def forward(self, student_logits: Tensor, teacher_logits: Tensor | None, labels: Tensor,
                step: StepInfo) -> Tensor:
        assert teacher_logits is not None
        soft = self.soft(student_logits, teacher_logits)
        if self.alpha == 0.0:
            return soft
        return self.alpha * self.hard(student_logits, labels) + (1.0 - self.alpha) * soft

    def soft_term(self, student_logits: Tensor, teacher_logits: Tensor, step: StepInfo) -> Tensor | None:
        return self.soft(student_logits, teacher_logits)


@PREDICTION_LOSSES.register("mse")
class LogitMSELoss(PredictionLoss):
    """Logit matching (Ba & Caruana 2014): ``alpha * hard + (1 - alpha) * mean((s - t)^2)``."""

    uses = ("alpha",)

    def __init__(self, *, alpha: float = 0.5, is_regression: bool = False) -> None:
        super().__init__(is_regression=is_regression)
        self.alpha = alpha

    def forward(self, student_logits: Tensor, teacher_logits: Tensor | None, labels: Tensor,
                step: StepInfo) -> Tensor:
        assert teacher_logits is not None
        soft = F.mse_loss(student_logits.float(), teacher_logits.float())
        if self.alpha == 0.0:
            return soft
        return self.alpha * self.hard(student_logits, labels) + (1.0 - self.alpha) * soft

    def soft_term(self, student_logits: Tensor, teacher_logits: Tensor, step: StepInfo) -> Tensor | None:
        return F.mse_loss(student_logits.float(), teacher_logits.float())


@PREDICTION_LOSSES.register("annealing")
class AnnealingLoss(PredictionLoss):
    """Annealing KD (Jafari et al., EACL 2021).

    Stage 1: ``MSE(s, t * Phi(T))`` with ``Phi(T) = 1 - (T - 1) / tau_max``, the temperature ``T`` stepping
    down from ``tau_max`` to 1 in equal shares of stage 1 (so the target grows from ``t / tau_max`` to ``t``).
    Stage 2: the hard-label loss (CE, or MSE for regression) alone.
    Stage 1 is every epoch but the last; a one-epoch run spends its first half in stage 1.
    ``alpha`` is not used: the paper's stages are pure. Default ``tau_max`` = 10 (the authors' code).
    """

    uses = ("tau_max",)

    def __init__(self, *, tau_max: float = 10.0, is_regression: bool = False) -> None:
        super().__init__(is_regression=is_regression)
        if tau_max < 1:
            raise ConfigError(f"loss.tau_max={tau_max!r} must be >= 1.")
        self.tau_max = tau_max

    @staticmethod
    def stage1_steps(step: StepInfo) -> int:
        if step.num_epochs >= 2:
            return round(step.total_steps * (step.num_epochs - 1) / step.num_epochs)
        return step.total_steps // 2

    def temperature_at(self, step: StepInfo) -> float | None:
        """The integer temperature at ``step`` (``None`` once stage 2 has begun).

        The ``ceil(tau_max)`` temperatures ``tau_max, tau_max - 1, ..., 1`` take equal shares of stage 1. A stage
        1 with fewer steps than temperatures spreads them evenly over its steps instead (some are skipped): its
        first step still uses ``tau_max`` and its last step ``T = 1`` (``Phi = 1``, the teacher's own logits).
        """
        stage1 = self.stage1_steps(step)
        if step.step >= stage1:
            return None
        levels = math.ceil(self.tau_max)
        if stage1 >= levels:
            level = min(levels - 1, int(step.step * levels / stage1))
        elif stage1 == 1:
            level = levels - 1
        else:
            level = int(step.step * (levels - 1) / (stage1 - 1) + 0.5)
        return max(1.0, self.tau_max - level)

    def phi(self, temperature: float) -> float:
        return 1.0 - (temperature - 1.0) / self.tau_max

    def forward(self, student_logits: Tensor, teacher_logits: Tensor | None, labels: Tensor,
                step: StepInfo) -> Tensor:
        temperature = self.temperature_at(step)
        if temperature is None:
            return self.hard(student_logits, labels)
        assert teacher_logits is not None
        return self._stage1(student_logits, teacher_logits, temperature)

    def _stage1(self, student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
        return F.mse_loss(student_logits.float(), teacher_logits.float() * self.phi(temperature))

    def soft_term(self, student_logits: Tensor, teacher_logits: Tensor, step: StepInfo) -> Tensor | None:
        temperature = self.temperature_at(step)
        return None if temperature is None else self._stage1(student_logits, teacher_logits, temperature)


def build_prediction_loss(cfg: LossConfig, *, is_regression: bool) -> PredictionLoss:
    """Instantiate the registered loss ``cfg.kind`` with the parameters it uses."""
    cls = PREDICTION_LOSSES.get(cfg.kind, key="loss.kind")
    kwargs = {name: getattr(cfg, name) for name in cls.uses}
    return cls(is_regression=is_regression, **kwargs)
