"""The MI bounds: hand-computed values, their identities, and estimates of a known MI (correlated Gaussians)."""

import math

import pytest
import torch

from autodistiller.intermediate import (
    INTERMEDIATE_OBJECTIVES,
    MI_CRITICS,
    gaussian_mutual_information,
    infonce_bound,
    interpolated_bound,
    log_loo_mean,
    nwj_bound,
    tuba_bound,
)

# scores[i, j] = f(x_j, y_i): the diagonal holds the joint pairs
S2 = torch.tensor([[2.0, 0.0], [0.0, 1.0]])


def test_bounds_on_a_two_by_two_batch_by_hand():
    e = math.e
    # InfoNCE: mean_i [S_ii - log sum_j e^S_ij] + log 2
    infonce = ((2 - math.log(e**2 + 1)) + (1 - math.log(e + 1))) / 2 + math.log(2)
    assert infonce_bound(S2).item() == pytest.approx(infonce)
    # TUBA with a = 0: 1 + mean(2, 1) - mean(e^0, e^0)
    assert tuba_bound(S2).item() == pytest.approx(1.5)
    # TUBA with a = (0.5, -0.5): 1 + mean(2 - 0.5, 1 + 0.5) - mean(e^{0 - 0.5}, e^{0 + 0.5})
    a = torch.tensor([0.5, -0.5])
    assert tuba_bound(S2, a).item() == pytest.approx(1 + 1.5 - (math.exp(-0.5) + math.exp(0.5)) / 2)
    # NWJ: mean_i S_ii - e^{-1} mean_{i != j} e^{S_ij}
    assert nwj_bound(S2).item() == pytest.approx(1.5 - math.exp(-1))
    # I_alpha, alpha = 0.5, K = 2: the leave-one-out mean of row i without column j is the other column.
    psi_01 = math.log(0.5 * e**2 + 0.5 * math.exp(0.5))  # row 0 without column 1: e^{S_00}
    psi_10 = math.log(0.5 * e**1 + 0.5 * math.exp(-0.5))
    psi_00 = math.log(0.5 * math.exp(0.0) + 0.5 * math.exp(0.5))  # row 0 without column 0: e^{S_01}
    psi_11 = math.log(0.5 * math.exp(0.0) + 0.5 * math.exp(-0.5))
    joint = ((2 - psi_01) + (1 - psi_10)) / 2
    marginal = (math.exp(0 - psi_00) + math.exp(0 - psi_11)) / 2
    assert interpolated_bound(S2, a, 0.5).item() == pytest.approx(1 + joint - marginal)


def _interpolated_by_loops(scores, baseline, alpha):
    """The issue's formula written out sample by sample (m(y) = leave-one-out mean of e^f over other x's)."""
    k = len(scores)

    def denominator(i, left_out):
        m = sum(math.exp(scores[i][c]) for c in range(k) if c != left_out) / (k - 1)
        return alpha * m + (1 - alpha) * math.exp(baseline[i])

    joint = [scores[i][i] - math.log(denominator(i, j)) for i in range(k) for j in range(k) if j != i]
    marginal = [math.exp(scores[i][j]) / denominator(i, i) for i in range(k) for j in range(k) if j != i]
    return 1 + sum(joint) / len(joint) - sum(marginal) / len(marginal)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_interpolated_bound_matches_the_formula(alpha):
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(5, 5, generator=g, dtype=torch.float64)
    baseline = torch.randn(5, generator=g, dtype=torch.float64)
    expected = _interpolated_by_loops(scores.tolist(), baseline.tolist(), alpha)
    assert interpolated_bound(scores, baseline, alpha).item() == pytest.approx(expected, rel=1e-5)


def test_bound_identities():
    g = torch.Generator().manual_seed(1)
    scores, baseline = torch.randn(6, 6, generator=g), torch.randn(6, generator=g)
    # alpha = 0 is TUBA; NWJ is TUBA with a(y) = 1
    assert interpolated_bound(scores, baseline, 0.0).item() == pytest.approx(tuba_bound(scores, baseline).item())
    assert nwj_bound(scores).item() == pytest.approx(tuba_bound(scores, torch.ones(6)).item())
    loo = log_loo_mean(scores)
    assert loo[2, 4].item() == pytest.approx(math.log(sum(math.exp(scores[2, c]) for c in range(6) if c != 4) / 5),
                                             rel=1e-5)
    # InfoNCE never exceeds log K, even for a perfect critic
    assert infonce_bound(100 * torch.eye(6)).item() == pytest.approx(math.log(6), abs=1e-6)
    assert infonce_bound(scores).item() <= math.log(6)


def test_critics_score_every_pair():
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(4, 3, generator=g), torch.randn(4, 5, generator=g)
    mlp = MI_CRITICS.get("mlp")(3, 5, hidden=8, dim=4)
    assert torch.allclose(mlp(s, t)[1, 2], mlp.g_t(t[1]) @ mlp.g_s(s[2]))  # f(s_2, t_1)
    bilinear = MI_CRITICS.get("bilinear")(3, 5)
    with torch.no_grad():
        bilinear.weight.normal_(generator=g)
    assert torch.allclose(bilinear(s, t)[3, 0], t[3] @ bilinear.weight @ s[0])
    assert mlp.log_baseline(t).shape == (4,)


def test_transformer_critic_ignores_padding():
    torch.manual_seed(0)
    critic = MI_CRITICS.get("transformer")(3, 5, hidden=16, dim=4).eval()
    s, t = torch.randn(4, 6, 3), torch.randn(4, 6, 5)
    mask = torch.ones(4, 6, dtype=torch.long)
    mask[:, 4:] = 0
    scores = critic(s, t, mask)
    s2, t2 = s.clone(), t.clone()
    s2[:, 4:], t2[:, 4:] = 100.0, -100.0  # garbage in the padding
    assert scores.shape == (4, 4) and torch.allclose(critic(s2, t2, mask), scores, atol=1e-5)
    assert INTERMEDIATE_OBJECTIVES.get("mi_alpha")(student_width=3, teacher_width=5, critic="transformer").token_level


# --- estimator check on a known answer --------------------------------------------------------------------------

def _gaussians(n, dim, rho, g):
    x = torch.randn(n, dim, generator=g)
    return x, rho * x + math.sqrt(1 - rho**2) * torch.randn(n, dim, generator=g)


def _train_and_estimate(name, dim, rho, batch, steps, **params):
    """Train the objective's own critic on fresh samples, then average its bound over 50 new batches."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    objective = INTERMEDIATE_OBJECTIVES.get(name)(student_width=dim, teacher_width=dim, critic="mlp",
                                                  critic_hidden=64, critic_dim=32, **params)
    optimizer = torch.optim.Adam(objective.parameters(), lr=1e-3)
    for _ in range(steps):
        loss = objective.pair_loss(0, *_gaussians(batch, dim, rho, g))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        estimates = torch.stack([objective.estimate(0, *_gaussians(batch, dim, rho, g)) for _ in range(50)])
    return estimates


TOLERANCE = 0.15  # nats, at a true MI of 1.02 (measured errors <= 0.03)


@pytest.mark.parametrize(("name", "params"), [("infonce", {}), ("nwj", {}), ("tuba", {}),
                                              ("mi_alpha", {"mi_alpha": 0.9}), ("mi_alpha", {"mi_alpha": 0.5})])
def test_estimators_recover_the_mi_of_correlated_gaussians(name, params):
    true_mi = gaussian_mutual_information(2, 0.8)  # -2/2 log(1 - 0.64) = 1.0217 nats
    estimates = _train_and_estimate(name, 2, 0.8, batch=64, steps=1000, **params)
    assert abs(estimates.mean().item() - true_mi) < TOLERANCE, (name, params, estimates.mean().item(), true_mi)


def test_infonce_saturates_at_log_k_where_mi_alpha_does_not():
    true_mi = gaussian_mutual_information(4, 0.99)  # 7.83 nats, far above log 16 = 2.77
    log_k = math.log(16)
    infonce = _train_and_estimate("infonce", 4, 0.99, batch=16, steps=500)
    assert (infonce <= log_k + 1e-5).all()  # the cap holds on every batch
    assert log_k - 0.25 < infonce.mean().item() < true_mi - 4
    # alpha < 1 mixes in the learned baseline: the bound may pass log K (its cap is log(K / alpha))
    mi_alpha = _train_and_estimate("mi_alpha", 4, 0.99, batch=16, steps=500, mi_alpha=0.5)
    assert mi_alpha.mean().item() > log_k + 0.2
