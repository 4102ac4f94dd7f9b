"""Training only the reachable word-embedding rows gives dense AdamW's result (float rounding aside)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from autodistiller.config import TrainingConfig
from autodistiller.engine import train_model
from autodistiller.engine._vocabulary import CompactWordEmbeddings, reachable_tokens
from autodistiller.prediction import hard_label_loss
from autodistiller.tasks import encode_splits


def _loss(model, batch, step):
    return hard_label_loss(model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits,
                           batch["labels"], is_regression=False)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_compact_embeddings_train_like_dense_adamw(tiny_task, tiny_teacher, weight_decay):
    splits = encode_splits(tiny_task, tiny_teacher.tokenizer, 32)
    cfg = TrainingConfig(epochs=3, batch_size=8, learning_rate=5e-3, weight_decay=weight_decay, max_length=32,
                         warmup_ratio=0.2, seed=3)
    tokens = reachable_tokens(splits["train"].input_ids, splits["train"].pad_token_id)
    vocab = tiny_teacher.model.get_input_embeddings().weight.shape[0]
    unseen = np.setdiff1d(np.arange(vocab), tokens)
    assert len(unseen) > 0  # the dev/test splits' own words: rows the training never reaches
    outcomes, states = [], []
    for reachable in (None, tokens):
        torch.manual_seed(0)
        model = copy.deepcopy(tiny_teacher.model)
        outcomes.append(train_model(model, splits["train"], splits["validation"], _loss, cfg, task_type="single",
                                    metric="accuracy", device=torch.device("cpu"), reachable_tokens=reachable))
        states.append(model.state_dict())
    assert outcomes[0].best_dev == outcomes[1].best_dev
    assert [h.train_loss for h in outcomes[0].history] == pytest.approx([h.train_loss for h in outcomes[1].history],
                                                                        rel=1e-5)
    for key, dense in states[0].items():
        torch.testing.assert_close(states[1][key], dense, rtol=1e-5, atol=1e-6, msg=key)
    embeddings = "bert.embeddings.word_embeddings.weight"
    start = tiny_teacher.model.state_dict()[embeddings]
    moved = ~torch.isclose(states[1][embeddings][unseen], start[unseen])
    assert bool(moved.any()) == (weight_decay > 0)  # unreached rows only decay, and only with weight decay


def test_an_unreachable_token_fails_loudly(tiny_teacher):
    model = copy.deepcopy(tiny_teacher.model)
    compact = CompactWordEmbeddings(model, np.array([0, 2, 3, 5]), weight_decay=0.0)
    compact.install()
    with pytest.raises(IndexError):
        model(input_ids=torch.tensor([[2, 4, 3]]))
    compact.restore()
    assert model.get_input_embeddings() is compact.full


def test_fused_adamw_gives_the_unfused_result(tiny_task, tiny_teacher, monkeypatch):
    """The fused optimizer (one kernel per group) changes speed, not the run: same seed, same scores."""
    import autodistiller.engine._loop as loop

    splits = encode_splits(tiny_task, tiny_teacher.tokenizer, 32)
    cfg = TrainingConfig(epochs=2, batch_size=8, learning_rate=5e-3, max_length=32, seed=5)
    scores = []
    for devices in (loop._FUSED_ADAMW_DEVICES, frozenset()):
        monkeypatch.setattr(loop, "_FUSED_ADAMW_DEVICES", devices)
        torch.manual_seed(0)
        model = copy.deepcopy(tiny_teacher.model)
        outcome = train_model(model, splits["train"], splits["validation"], _loss, cfg, task_type="single",
                              metric="accuracy", device=torch.device("cpu"))
        scores.append([h.train_loss for h in outcome.history] + [outcome.best_dev["accuracy"]])
    assert scores[0] == pytest.approx(scores[1], abs=1e-4)
