"""Layer mappings: which pairs they form, ALP's attention, CKD's groups, BERT-EMD's transport plan."""

import numpy as np
import pytest
import torch

from autodistiller import ConfigError
from autodistiller.intermediate import (
    LAYER_MAPPINGS,
    ALPMapping,
    CKDMapping,
    EMDMapping,
    HiddenMSE,
    IntermediateDistillation,
    Representations,
    contiguous_groups,
    transport_plan,
)

DIMS = {"student_width": 4, "teacher_width": 4}


def _record(mapping, num_student=2, num_teacher=6):
    student = [torch.full((1,), float(j)) for j in range(num_student)]
    teacher = [torch.full((1,), float(k)) for k in range(num_teacher)]
    pairs = []

    def pair_loss(j, s, t):
        pairs.append((j, int(s.item()), int(t.item())))
        return s.sum() * 0

    mapping(student, teacher, pair_loss, student_keys=[], teacher_keys=[])
    return [(j, k) for j, _, k in pairs]


@pytest.mark.parametrize(("name", "expected"), [("uniform", [(0, 2), (1, 5)]), ("last", [(0, 4), (1, 5)]),
                                                ("first", [(0, 0), (1, 1)])])
def test_fixed_mappings_pair_the_expected_layers(name, expected):
    mapping = LAYER_MAPPINGS.get(name)(num_student_layers=2, num_teacher_layers=6, **DIMS)
    assert _record(mapping) == expected  # 0-based: uniform = teacher layers 3 and 6, as PKD-Skip


def test_mapping_names_and_bad_depths():
    assert LAYER_MAPPINGS.names() == ["alp", "ckd", "emd", "first", "last", "uniform"]
    with pytest.raises(ConfigError, match="exceeds"):
        LAYER_MAPPINGS.get("uniform")(num_student_layers=4, num_teacher_layers=2, **DIMS)
    with pytest.raises(ConfigError, match="ckd"):
        CKDMapping(num_student_layers=4, num_teacher_layers=2, **DIMS)


def test_alp_weights_are_a_softmax_over_teacher_layers():
    g = torch.Generator().manual_seed(0)
    alp = ALPMapping(num_student_layers=2, num_teacher_layers=3, student_width=4, teacher_width=4)
    s_keys = [torch.randn(5, 4, generator=g) for _ in range(2)]
    t_keys = [torch.randn(5, 4, generator=g) for _ in range(3)]
    a = alp.attention_weights(s_keys, t_keys)
    assert a.shape == (5, 2, 3)
    assert torch.allclose(a.sum(dim=-1), torch.ones(5, 2))
    by_hand = torch.softmax(torch.tensor([s_keys[1][3] @ t_keys[k][3] for k in range(3)]), dim=0)
    assert torch.allclose(a[3, 1], by_hand, atol=1e-6)

    # with the teacher's [CLS] as features, c_j = sum_k a_jk h_T^k and the pair loss sees exactly that
    seen = {}

    def pair_loss(j, s, t):
        seen[j] = t
        return s.sum() * 0

    alp(s_keys, t_keys, pair_loss, student_keys=s_keys, teacher_keys=t_keys)
    expected = sum(a[:, 0, k, None] * t_keys[k] for k in range(3))
    assert torch.allclose(seen[0], expected, atol=1e-6)


def test_alp_gradients_reach_student_and_both_projections():
    torch.manual_seed(0)
    student_width, teacher_width, batch, tokens = 4, 6, 3, 5
    objective = HiddenMSE(student_width=student_width, teacher_width=teacher_width)
    alp = ALPMapping(num_student_layers=2, num_teacher_layers=3, student_width=student_width,
                     teacher_width=teacher_width)
    stage = IntermediateDistillation(objective, alp, include_embeddings=True)
    student_states = tuple(torch.randn(batch, tokens, student_width, requires_grad=True) for _ in range(3))
    teacher_states = tuple(torch.randn(batch, tokens, teacher_width) for _ in range(4))
    mask = torch.ones(batch, tokens)
    loss = stage(Representations(student_states, mask), Representations(teacher_states, mask))
    loss.backward()
    for h in student_states:
        assert h.grad is not None and h.grad.abs().sum() > 0
    for param in [objective.projection.weight, alp.projection.weight]:
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_ckd_groups_cover_all_teacher_layers_and_start_as_their_mean():
    assert contiguous_groups(6, 4) == [[0, 1], [2, 3], [4], [5]]
    for teacher, student in [(6, 2), (12, 4), (7, 3), (3, 3)]:
        groups = contiguous_groups(teacher, student)
        assert sum(groups, []) == list(range(teacher)) and len(groups) == student
    ckd = CKDMapping(num_student_layers=2, num_teacher_layers=5, **DIMS)
    teacher = [torch.full((2, 4), float(k)) for k in range(5)]
    targets = {}

    def pair_loss(j, s, t):
        targets[j] = t
        return (s - t).pow(2).mean()

    student = [torch.zeros(2, 4), torch.zeros(2, 4)]
    ckd(student, teacher, pair_loss, student_keys=[], teacher_keys=[]).backward()
    assert torch.allclose(targets[0], torch.full((2, 4), 1.0))  # mean of layers 0, 1, 2
    assert torch.allclose(targets[1], torch.full((2, 4), 3.5))  # mean of layers 3, 4
    assert all(w.grad is not None for w in ckd.logits)  # the combination is learned


def test_transport_plan_is_optimal_with_the_given_marginals():
    cost = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    plan = transport_plan(cost, np.array([0.5, 0.5]), np.array([1 / 3, 1 / 3, 1 / 3]))
    assert np.allclose(plan.sum(axis=1), 0.5) and np.allclose(plan.sum(axis=0), 1 / 3)
    # each student layer sends its mass to its cheap end, and splits the middle layer: cost 1/6 + 1/6
    assert (plan * cost).sum() == pytest.approx(1 / 3)
    assert plan[0, 2] == pytest.approx(0) and plan[1, 0] == pytest.approx(0)


def test_emd_loss_is_the_transported_cost_and_weights_follow_cheap_layers():
    emd = EMDMapping(num_student_layers=2, num_teacher_layers=3, **DIMS)
    costs = torch.tensor([[0.1, 1.0, 5.0], [5.0, 1.0, 0.1]], requires_grad=True)

    def pair_loss(j, s, t):
        return costs[j, int(t.item())]

    teacher = [torch.tensor(float(k)) for k in range(3)]
    loss = emd([torch.zeros(()), torch.zeros(())], teacher, pair_loss, student_keys=[], teacher_keys=[])
    plan = emd.last_plan
    assert loss.item() == pytest.approx(float((plan * costs.detach().numpy()).sum()))
    loss.backward()
    assert torch.allclose(costs.grad, torch.as_tensor(plan, dtype=torch.float32))
    weights = emd.teacher_weights.numpy()
    assert weights.sum() == pytest.approx(1.0) and weights[1] < weights[0]  # the costly middle layer lost weight
    assert emd.student_weights.sum().item() == pytest.approx(1.0)
