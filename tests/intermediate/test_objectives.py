"""Each non-MI objective on small hand-made tensors against values worked out by hand."""

import math

import pytest
import torch

from autodistiller.intermediate import (
    INTERMEDIATE_OBJECTIVES,
    AttentionMSE,
    CosineDistance,
    HiddenMSE,
    PKDLoss,
    Representations,
)

SAME = {"student_width": 2, "teacher_width": 2}


def test_hidden_mse_over_real_tokens():
    s = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    t = torch.tensor([[[0.0, 2.0], [3.0, 6.0]]])
    loss = HiddenMSE(**SAME)
    # token 1: (1^2 + 0^2) / 2 = 0.5; token 2: (0^2 + 2^2) / 2 = 2
    assert loss.pair_loss(0, s, t, torch.tensor([[1, 1]])).item() == pytest.approx(1.25)
    assert loss.pair_loss(0, s, t, torch.tensor([[1, 0]])).item() == pytest.approx(0.5)  # padding ignored


def test_hidden_mse_projects_a_narrow_student():
    loss = HiddenMSE(student_width=1, teacher_width=2)
    with torch.no_grad():
        loss.projection.weight.copy_(torch.tensor([[2.0], [1.0]]))
        loss.projection.bias.zero_()
    # W s = (2, 1) against t = (2, 3): (0 + 4) / 2
    value = loss.pair_loss(0, torch.tensor([[[1.0]]]), torch.tensor([[[2.0, 3.0]]]), torch.tensor([[1]]))
    assert value.item() == pytest.approx(2.0)
    assert isinstance(HiddenMSE(**SAME).projection, torch.nn.Identity)  # no projection at equal widths


def test_cosine_distance():
    s = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    t = torch.tensor([[[1.0, 1.0], [0.0, -1.0]]])
    expected = ((1 - 1 / math.sqrt(2)) + (1 - (-1))) / 2
    assert CosineDistance(**SAME).pair_loss(0, s, t, torch.tensor([[1, 1]])).item() == pytest.approx(expected)


def test_pkd_normalised_cls_mse():
    s = torch.tensor([[3.0, 4.0]])  # -> (0.6, 0.8)
    t = torch.tensor([[5.0, 0.0]])  # -> (1, 0)
    expected = ((0.6 - 1) ** 2 + 0.8**2) / 2
    assert PKDLoss(**SAME).pair_loss(0, s, t, torch.tensor([[1]])).item() == pytest.approx(expected)
    # scale-free: only directions count
    assert PKDLoss(**SAME).pair_loss(0, 7 * s, t, torch.tensor([[1]])).item() == pytest.approx(expected)


def test_attention_mse_masks_padding_and_averages_heads():
    s = torch.tensor([[[[1.0, 1.0], [2.0, 2.0]]]])  # [B=1, heads=1, T=2, T=2]
    t = torch.tensor([[[[3.0, 9.0], [9.0, 9.0]]]])
    loss = AttentionMSE(**SAME, student_heads=1, teacher_heads=1)
    assert loss.pair_loss(0, s, t, torch.tensor([[1, 1]])).item() == pytest.approx((4 + 64 + 49 + 49) / 4)
    assert loss.pair_loss(0, s, t, torch.tensor([[1, 0]])).item() == pytest.approx(4.0)  # only (CLS, CLS) is real

    narrow = AttentionMSE(**SAME, student_heads=1, teacher_heads=2)
    teacher = torch.stack([t[0, 0], t[0, 0] + 2], dim=0)[None]  # two heads, mean = t + 1
    reps = Representations((torch.zeros(1, 2, 2), torch.zeros(1, 2, 2)), torch.ones(1, 2),
                           attentions=(teacher,))
    averaged = narrow.features(reps)[1]
    assert averaged.shape == (1, 1, 2, 2) and torch.allclose(averaged, t + 1)


def test_attention_mse_ignores_minus_infinity_scores_of_padding():
    """Padded keys often hold -inf (a masked softmax's input): multiplying by a 0/1 mask gives NaN, selecting
    does not, in the value and in the gradient."""
    inf = float("-inf")
    s = torch.tensor([[[[1.0, inf], [inf, inf]]]], requires_grad=True)
    t = torch.tensor([[[[3.0, inf], [inf, inf]]]])
    loss = AttentionMSE(**SAME, student_heads=1, teacher_heads=1).pair_loss(0, s, t, torch.tensor([[1, 0]]))
    assert loss.item() == pytest.approx(4.0)
    loss.backward()
    assert torch.isfinite(s.grad).all() and s.grad[0, 0, 0, 0].item() == pytest.approx(-4.0)


def test_every_objective_declares_valid_parameters():
    from autodistiller.config import IntermediateConfig

    fields = {spec.key.split(".")[1] for spec in IntermediateConfig.specs()}
    assert INTERMEDIATE_OBJECTIVES.names() == ["attention_mse", "cosine", "hidden_mse", "infonce", "mi_alpha",
                                               "none", "nwj", "pkd", "tuba"]
    for name, cls in INTERMEDIATE_OBJECTIVES.items():
        assert set(cls.uses) <= fields, name
        assert ("mi_alpha" in cls.uses) == (name == "mi_alpha")
    assert INTERMEDIATE_OBJECTIVES.get("none").uses == ()
    assert INTERMEDIATE_OBJECTIVES.get("attention_mse").needs_attentions
