"""Each prediction loss against values computed by hand (derivations in the comments)."""

import math

import pytest
import torch

from autodistiller import ConfigError
from autodistiller.config import LossConfig
from autodistiller.prediction import (
    AnnealingLoss,
    HardLabelLoss,
    KLDivergenceLoss,
    LogitMSELoss,
    StepInfo,
    build_prediction_loss,
)

STEP = StepInfo(step=0, total_steps=10, epoch=0, num_epochs=1)
S = torch.tensor([[1.0, 0.0]])  # student logits
T = torch.tensor([[0.0, 1.0]])  # teacher logits
Y = torch.tensor([0])


def test_hard_label_ce():
    # CE = -log softmax([1, 0])[0] = log(1 + e^-1) = 0.313262
    assert HardLabelLoss()(S, None, Y, STEP).item() == pytest.approx(0.313262, abs=1e-6)


def test_kl_at_temperature_one():
    # p_t = [0.268941, 0.731059]; log p_t - log p_s = [-1, +1]  ->  KL = 0.731059 - 0.268941 = 0.462117
    loss = KLDivergenceLoss(temperature=1.0, alpha=0.0)
    assert loss(S, T, Y, STEP).item() == pytest.approx(0.462117, abs=1e-6)


def test_kl_scales_by_t_squared_and_mixes_alpha():
    # T = 2: s/T = [0.5, 0], t/T = [0, 0.5]; p_t = [0.377541, 0.622459]; log-ratio = [-0.5, +0.5]
    # KL = 0.5 * (p_t1 - p_t0) = 0.5 * tanh(0.25) = 0.122459; * T^2 = 2 * tanh(0.25) = 0.489837
    assert KLDivergenceLoss(temperature=2.0, alpha=0.0)(S, T, Y, STEP).item() == pytest.approx(0.489837, abs=1e-6)
    # alpha = 0.5: 0.5 * 0.313262 + 0.5 * 0.489837 = 0.401550
    assert KLDivergenceLoss(temperature=2.0, alpha=0.5)(S, T, Y, STEP).item() == pytest.approx(0.401550, abs=1e-6)
    # alpha = 1 is plain CE
    assert KLDivergenceLoss(temperature=2.0, alpha=1.0)(S, T, Y, STEP).item() == pytest.approx(0.313262, abs=1e-6)


def test_kl_averages_over_the_batch():
    s = torch.cat([S, T])
    t = torch.cat([T, T])  # second row matches: KL 0
    assert KLDivergenceLoss(temperature=1.0, alpha=0.0)(s, t, torch.tensor([0, 1]), STEP).item() == pytest.approx(
        0.462117 / 2, abs=1e-6)


def test_logit_mse():
    # mean((1-0)^2, (0-1)^2) = 1; with alpha 0.25: 0.25 * 0.313262 + 0.75 * 1 = 0.828316
    assert LogitMSELoss(alpha=0.0)(S, T, Y, STEP).item() == pytest.approx(1.0)
    assert LogitMSELoss(alpha=0.25)(S, T, Y, STEP).item() == pytest.approx(0.828316, abs=1e-6)


def test_annealing_schedule_and_values():
    loss = AnnealingLoss(tau_max=4.0)
    teacher = torch.tensor([[2.0, 2.0]])
    steps = [StepInfo(step=i, total_steps=8, epoch=i // 4, num_epochs=2) for i in range(8)]
    # stage 1 = the first epoch = 4 steps, T = 4, 3, 2, 1 -> Phi = 1 - (T-1)/4 = 0.25, 0.5, 0.75, 1
    assert [loss.temperature_at(s) for s in steps] == [4.0, 3.0, 2.0, 1.0, None, None, None, None]
    # step 0: target = [2, 2] * 0.25 = [0.5, 0.5]; MSE([1, 0], [0.5, 0.5]) = 0.25
    assert loss(S, teacher, Y, steps[0]).item() == pytest.approx(0.25)
    # step 3: target = [2, 2]; MSE = (1 + 4) / 2 = 2.5
    assert loss(S, teacher, Y, steps[3]).item() == pytest.approx(2.5)
    # stage 2: CE on the labels only
    assert loss(S, teacher, Y, steps[4]).item() == pytest.approx(0.313262, abs=1e-6)


def test_annealing_one_epoch_uses_half_the_steps_for_stage_one():
    loss = AnnealingLoss(tau_max=10.0)
    temps = [loss.temperature_at(StepInfo(step=i, total_steps=20, epoch=0, num_epochs=1)) for i in range(20)]
    assert temps[:10] == [10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
    assert temps[10:] == [None] * 10
    assert math.isclose(loss.phi(10.0), 0.1)


@pytest.mark.parametrize(("total_steps", "num_epochs"), [(8, 2), (5, 2), (2, 2), (3, 1), (7, 1)])
def test_annealing_stage_one_ends_at_temperature_one_on_short_runs(total_steps, num_epochs):
    """Fewer stage-1 steps than temperatures: tau_max first, T = 1 (Phi = 1) last, never rising, no step at T
    below 1."""
    loss = AnnealingLoss(tau_max=10.0)
    steps = [StepInfo(step=i, total_steps=total_steps, epoch=0, num_epochs=num_epochs) for i in range(total_steps)]
    temps = [loss.temperature_at(s) for s in steps]
    stage1 = [t for t in temps if t is not None]
    assert stage1 and stage1[-1] == 1.0 and loss.phi(stage1[-1]) == 1.0
    assert stage1[0] == (10.0 if len(stage1) > 1 else 1.0)
    assert stage1 == sorted(stage1, reverse=True) and min(stage1) >= 1.0
    assert temps[len(stage1):] == [None] * (total_steps - len(stage1))


def test_annealing_spreads_the_temperatures_over_a_short_stage_one():
    loss = AnnealingLoss(tau_max=10.0)
    # 4 epochs of 2 steps: stage 1 = 6 steps for 10 temperatures; level = round(i * 9 / 5)
    temps = [loss.temperature_at(StepInfo(step=i, total_steps=8, epoch=i // 2, num_epochs=4)) for i in range(8)]
    assert temps == [10.0, 8.0, 6.0, 5.0, 3.0, 1.0, None, None]


def test_regression_uses_mse_and_rejects_kl():
    logits, labels = torch.tensor([[0.5], [2.0]]), torch.tensor([1.0, 1.0])
    # MSE = (0.25 + 1) / 2 = 0.625
    assert HardLabelLoss(is_regression=True)(logits, None, labels, STEP).item() == pytest.approx(0.625)
    with pytest.raises(ConfigError, match="regression"):
        build_prediction_loss(LossConfig(kind="kl"), is_regression=True)


def test_build_passes_only_used_parameters():
    loss = build_prediction_loss(LossConfig(kind="kl", temperature=3.0, alpha=0.2), is_regression=False)
    assert isinstance(loss, KLDivergenceLoss) and loss.temperature == 3.0 and loss.alpha == 0.2
    assert build_prediction_loss(LossConfig(kind="annealing", tau_max=7), is_regression=False).tau_max == 7.0


def test_gradients_flow_to_student_logits_only():
    s = S.clone().requires_grad_()
    t = T.clone().requires_grad_()
    KLDivergenceLoss(temperature=2.0)(s, t.detach(), Y, STEP).backward()
    assert s.grad is not None and torch.count_nonzero(s.grad) > 0
    assert t.grad is None
