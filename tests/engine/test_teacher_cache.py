"""The teacher-output cache equals the online teacher, is reused, and is rebuilt when corrupted."""

import numpy as np
import pytest
import torch

from autodistiller import PipelineConfig, distill
from autodistiller.engine import EncodedSplit
from autodistiller.engine import _teacher_cache as tc
from autodistiller.intermediate import attention_scores
from autodistiller.models import model_inputs
from autodistiller.tasks import encode_task


@pytest.fixture(scope="module")
def split(tiny_task, tiny_teacher):
    encoded = encode_task(tiny_task, tiny_teacher.tokenizer, 32)["train"]
    return EncodedSplit.from_dataset(encoded, tiny_teacher.tokenizer.pad_token_id)


def _cache(tiny_teacher, split, tmp_path, **kwargs):
    model = tiny_teacher.model
    return tc.teacher_output_cache(model, split, teacher_key=tiny_teacher.key, cache_dir=tmp_path, log=lambda _: None,
                                   attention_context=lambda: attention_scores(model, kwargs.get("attentions", False)),
                                   **kwargs)


def test_cached_outputs_equal_the_online_teacher(tiny_teacher, split, tmp_path):
    cache = _cache(tiny_teacher, split, tmp_path, hidden=True, attentions=True)
    indices = np.array([5, 0, 17, 3])
    batch = split.collate(indices)
    model = tiny_teacher.model.eval()
    with torch.no_grad(), attention_scores(model):
        online = model(**model_inputs(batch), output_hidden_states=True, output_attentions=True)
    reps = cache.representations(indices, batch["attention_mask"])
    mask = batch["attention_mask"].bool()
    np.testing.assert_allclose(reps.logits.numpy(), online.logits.numpy(), atol=2e-2, rtol=1e-2)
    assert len(reps.hidden_states) == len(online.hidden_states)
    for cached, live in zip(reps.hidden_states, online.hidden_states, strict=True):
        np.testing.assert_allclose(cached[mask].numpy(), live[mask].numpy(), atol=2e-2, rtol=1e-2)
        assert torch.all(cached[~mask] == 0)
    pairs = (mask[:, :, None] & mask[:, None, :])[:, None]
    for cached, live in zip(reps.attentions, online.attentions, strict=True):
        c, live_scores = cached.expand(-1, -1, -1, -1), live
        np.testing.assert_allclose(c.masked_select(pairs).numpy(), live_scores.masked_select(pairs).numpy(),
                                   atol=2e-2, rtol=1e-2)


def test_entry_is_reused_and_corruption_is_detected(tiny_teacher, split, tmp_path, monkeypatch):
    first = _cache(tiny_teacher, split, tmp_path, hidden=True)
    calls = []
    real_compute = tc._compute
    monkeypatch.setattr(tc, "_compute", lambda *a, **k: calls.append(1) or real_compute(*a, **k))
    again = _cache(tiny_teacher, split, tmp_path, hidden=True)
    assert again.directory == first.directory and calls == []
    # flip bytes in the middle of the hidden states: the checksum catches it and the entry is rebuilt
    path = first.directory / "hidden.npy"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    rebuilt = _cache(tiny_teacher, split, tmp_path, hidden=True)
    assert calls == [1] and rebuilt.directory == first.directory
    np.testing.assert_array_equal(np.asarray(rebuilt.hidden), np.asarray(_cache(tiny_teacher, split, tmp_path,
                                                                                hidden=True).hidden))
    # a partial entry (no meta.json) is never used
    (first.directory / "meta.json").unlink()
    assert tc._open(first.directory) is None


def test_too_large_outputs_fall_back_to_the_online_teacher(tiny_teacher, split, tmp_path):
    assert _cache(tiny_teacher, split, tmp_path, hidden=True, max_bytes=10) is None
    assert _cache(tiny_teacher, split, tmp_path, max_bytes=10) is not None  # logits alone always fit


@pytest.mark.parametrize("objective", ["none", "hidden_mse", "attention_mse"])
def test_trials_share_one_entry(tiny_task, tiny_teacher, tmp_path, objective):
    cfg = PipelineConfig.from_flat({"intermediate.objective": objective, "student.layers": 2, "training.epochs": 1,
                                    "training.batch_size": 8, "training.max_length": 32})
    for seed in (1, 2):
        result = distill(cfg.replace(**{"training.seed": seed}), tiny_task, tiny_teacher, cache_dir=tmp_path,
                         log=lambda _: None)
        assert np.isfinite(result.dev_score)
    entries = [p for p in (tmp_path / "teacher_outputs").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1
