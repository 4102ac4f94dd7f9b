"""The stage inside the engine on the tiny fixtures: every objective and mapping trains, narrow students too."""

import math

import numpy as np
import pytest
import torch

from autodistiller import ConfigError, PipelineConfig, distill
from autodistiller.cli import main
from autodistiller.intermediate import (
    INTERMEDIATE_OBJECTIVES,
    LAYER_MAPPINGS,
    attention_scores,
    build_intermediate,
    representations,
)

FAST = {"training.epochs": 1, "training.batch_size": 8, "training.learning_rate": 2e-3, "training.max_length": 32,
        "training.warmup_ratio": 0.0}
OBJECTIVES = [name for name in INTERMEDIATE_OBJECTIVES.names() if name != "none"]


def _tiny_model(layers=2, hidden=16, heads=2):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=2 * hidden, max_position_embeddings=32)
    return BertForSequenceClassification(config).eval()


def test_attention_scores_are_the_raw_scaled_dot_products():
    model = _tiny_model()
    ids = torch.randint(0, 30, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 5:] = 0
    reference = model(input_ids=ids, attention_mask=mask).logits
    with attention_scores(model):
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
    assert model.config._attn_implementation == "sdpa"  # given back
    assert torch.allclose(out.logits, reference, atol=1e-5)  # same model outputs
    attn = model.bert.encoder.layer[0].attention.self
    h = out.hidden_states[0]
    q = attn.query(h).view(2, 7, 2, 8).transpose(1, 2)
    k = attn.key(h).view(2, 7, 2, 8).transpose(1, 2)
    assert torch.allclose(out.attentions[0], q @ k.transpose(2, 3) / math.sqrt(8), atol=1e-5)
    reps = representations(out, mask)
    assert reps.num_layers == 2 and reps.cls(1).shape == (2, 16)


def test_config_keys_defaults_and_round_trip():
    default = PipelineConfig()
    assert default.intermediate.objective == "none" and build_intermediate(default.intermediate, None, None) is None
    flat = default.to_flat()
    assert {k for k in flat if k.startswith("intermediate.")} == {
        "intermediate.objective", "intermediate.mapping", "intermediate.beta", "intermediate.include_embeddings",
        "intermediate.mi_alpha", "intermediate.critic", "intermediate.critic_hidden", "intermediate.critic_dim"}
    cfg = default.replace(**{"intermediate.objective": "mi_alpha", "intermediate.mi_alpha": 0.5,
                             "intermediate.mapping": "emd", "intermediate.critic": "transformer"})
    assert PipelineConfig.from_flat(cfg.to_flat()) == cfg
    with pytest.raises(ConfigError, match=r"intermediate.mapping='skip'.*alp, ckd, emd, first, last, uniform"):
        default.replace(**{"intermediate.mapping": "skip"})
    with pytest.raises(ConfigError, match=r"intermediate.mi_alpha=1.5 is out of range"):
        default.replace(**{"intermediate.mi_alpha": 1.5})


def test_stage_sizes_follow_the_models():
    student, teacher = _tiny_model(layers=2, hidden=8), _tiny_model(layers=4, hidden=16)
    cfg = PipelineConfig().replace(**{"intermediate.objective": "infonce"}).intermediate
    stage = build_intermediate(cfg, student, teacher)
    assert len(stage.objective.critics) == 3  # embeddings + 2 student layers
    cfg = PipelineConfig().replace(**{"intermediate.objective": "attention_mse"}).intermediate
    assert not build_intermediate(cfg, student, teacher).include_embeddings  # attention has no layer 0


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_narrow_student_trains_with_every_objective(tiny_task, tiny_teacher, objective):
    cfg = PipelineConfig.from_flat({**FAST, "intermediate.objective": objective, "student.hidden_size": 16,
                                    "student.layers": 2, "intermediate.critic_hidden": 32})
    result = distill(cfg, tiny_task, tiny_teacher, log=lambda _: None)
    assert result.student_info.hidden_size == 16 < tiny_teacher.model.config.hidden_size
    assert np.isfinite(result.history[0]["train_loss"]) and np.isfinite(result.dev_score)
    assert result.model.config._attn_implementation != "autodistiller_scores"


@pytest.mark.parametrize("mapping", LAYER_MAPPINGS.names())
@pytest.mark.parametrize("objective", ["hidden_mse", "mi_alpha"])
def test_every_mapping_trains(tiny_task, tiny_teacher, mapping, objective):
    # a narrow student: the mappings' and objectives' projections are in play
    cfg = PipelineConfig.from_flat({**FAST, "intermediate.objective": objective, "intermediate.mapping": mapping,
                                    "student.layers": 2, "student.hidden_size": 16,
                                    "intermediate.critic_hidden": 32})
    result = distill(cfg, tiny_task, tiny_teacher, log=lambda _: None)
    assert np.isfinite(result.history[0]["train_loss"])


@pytest.mark.parametrize("kind", ["kl", "mse", "annealing", "none"])
def test_every_prediction_loss_combines_with_an_objective(tiny_task, tiny_teacher, kind):
    cfg = PipelineConfig.from_flat({**FAST, "loss.kind": kind, "intermediate.objective": "pkd",
                                    "intermediate.mapping": "alp"})
    assert np.isfinite(distill(cfg, tiny_task, tiny_teacher, log=lambda _: None).history[0]["train_loss"])


def test_critics_and_the_intermediate_term_change_training(tiny_task, tiny_teacher):
    losses = {}
    for critic in ["bilinear", "transformer"]:
        cfg = PipelineConfig.from_flat({**FAST, "intermediate.objective": "infonce", "intermediate.critic": critic,
                                        "intermediate.critic_hidden": 16, "intermediate.include_embeddings": False})
        losses[critic] = distill(cfg, tiny_task, tiny_teacher, log=lambda _: None).history[0]["train_loss"]
    plain = distill(PipelineConfig.from_flat(FAST), tiny_task, tiny_teacher, log=lambda _: None)
    # -InfoNCE is negative once the critic learns anything, so these losses sit below the prediction-only one
    assert all(np.isfinite(v) for v in losses.values())
    assert min(losses.values()) < plain.history[0]["train_loss"]


def test_options_lists_the_intermediate_registries(capsys):
    assert main(["options", "--stage", "intermediate"]) == 0
    out = capsys.readouterr().out
    assert "[intermediate]" in out and "intermediate.objective" in out
    for name in OBJECTIVES + LAYER_MAPPINGS.names() + ["mlp", "bilinear", "transformer"]:
        assert name in out
    assert "intermediate.mi_alpha" in out.split("mi_alpha", 1)[1]  # mi_alpha lists the parameter it uses
