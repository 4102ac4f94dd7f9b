"""The training objective of a run: prediction loss + beta * intermediate loss, as the policy shapes it."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from autodistiller.augment import LABELLED
from autodistiller.engine._inputs import TeacherTargets
from autodistiller.engine._plan import Plan
from autodistiller.intermediate import representations
from autodistiller.models import model_inputs
from autodistiller.prediction import PredictionLoss, StepInfo

__all__ = ["DistillationObjective"]


def partly_labelled_loss(loss: PredictionLoss, logits: torch.Tensor, teacher_logits: torch.Tensor | None,
                         batch: dict[str, torch.Tensor], step: StepInfo, weight: float) -> torch.Tensor:
    """The configured loss on rows with a gold label, its teacher term alone (times ``weight``) on the others;
    each part weighted by its share of the batch so the scale matches an all-labelled batch."""
    host = batch[LABELLED].numpy()  # on the host: row indices without a device sync (boolean masks would sync)
    n = float(len(host))
    device = logits.device
    rows = torch.from_numpy(np.flatnonzero(host)).to(device, non_blocking=True)
    others = torch.from_numpy(np.flatnonzero(~host)).to(device, non_blocking=True)
    total = logits.new_zeros((), dtype=torch.float32)
    if len(rows):
        part_teacher = teacher_logits.index_select(0, rows) if teacher_logits is not None else None
        total = total + loss(logits.index_select(0, rows), part_teacher, batch["labels"].index_select(0, rows),
                             step) * (len(rows) / n)
    if len(others) and teacher_logits is not None:
        soft = loss.soft_term(logits.index_select(0, others), teacher_logits.index_select(0, others), step)
        if soft is not None:
            total = total + weight * soft * (len(others) / n)
    return total


class DistillationObjective:
    """``(model, batch, step) -> loss`` for the training loop.

    The teacher's logits come with the batch (``teacher_logits``: cached, or soft targets) or, with an
    intermediate stage, from the teacher's representations of the batch (cache or online teacher).
    """

    def __init__(self, plan: Plan, stage: Any, targets: TeacherTargets) -> None:
        self.loss, self.policy, self.stage, self.targets = plan.loss, plan.policy, stage, targets
        self.weight = plan.config.augment.weight
        self.attentions = stage is not None and stage.needs_attentions

    def __call__(self, model: Any, batch: dict[str, torch.Tensor], step: StepInfo) -> torch.Tensor:
        stage, loss = self.stage, self.loss
        out = model(**model_inputs(batch), output_hidden_states=stage is not None,
                    output_attentions=self.attentions)
        target = self.targets.representations(batch, self.attentions) if stage is not None else None
        if target is not None:
            teacher_logits = target.logits if loss.needs_teacher else None
        else:
            teacher_logits = batch.get("teacher_logits")
        if teacher_logits is None and loss.needs_teacher:  # no targets yet (self-distillation's first epoch)
            total = loss.hard(out.logits, batch["labels"])
        elif LABELLED in batch:
            total = partly_labelled_loss(loss, out.logits, teacher_logits, batch, step, self.weight)
        else:
            total = loss(out.logits, teacher_logits, batch["labels"], step)
        if stage is not None:
            assert target is not None
            total = total + stage.beta * stage(representations(out, batch["attention_mask"]), target)
        return self.policy.loss(model, batch, out.logits, teacher_logits, total, step)
