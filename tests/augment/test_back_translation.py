"""Back-translation through the real Marian path (from_pretrained, batched generate, decode) on tiny random
models: the plumbing, not translation quality (no translation model is available offline)."""

from __future__ import annotations

import numpy as np
import pytest

from autodistiller.augment import BackTranslationAugmenter, build_pipeline, load_translator
from autodistiller.errors import ConfigError

TEXTS = ["the movie was good", "a very bad plot and awful acting", "great story", "le film est bon"]


def test_translator_loads_a_marian_model(tiny_marian):
    from transformers import MarianMTModel

    model, tokenizer = load_translator(str(tiny_marian[0]))
    assert isinstance(model, MarianMTModel) and not model.training
    assert tokenizer("the movie")["input_ids"][-1] == tokenizer.eos_token_id


def test_back_translation_runs_generate_and_is_deterministic(tiny_marian, marian_words):
    to_fr, to_en = map(str, tiny_marian)
    augmenter = BackTranslationAugmenter(to_pivot=to_fr, from_pivot=to_en, max_length=12, batch_size=3)
    out = augmenter(TEXTS, np.random.default_rng(0))
    assert len(out) == len(TEXTS) and all(out)
    assert out == augmenter(TEXTS, np.random.default_rng(1))  # greedy decoding ignores the seed
    assert out != TEXTS
    for text in out:
        assert set(text.split()) <= set(marian_words) | set(TEXTS[0].split())
        assert len(text.split()) <= 12


def test_sampling_is_seeded(tiny_marian):
    to_fr, to_en = map(str, tiny_marian)
    augmenter = BackTranslationAugmenter(to_pivot=to_fr, from_pivot=to_en, do_sample=True, max_length=10)
    a = augmenter(TEXTS * 3, np.random.default_rng(0))
    assert a == augmenter(TEXTS * 3, np.random.default_rng(0))
    assert a != augmenter(TEXTS * 3, np.random.default_rng(1))


def test_pipeline_with_back_translation(tiny_marian):
    to_fr, to_en = map(str, tiny_marian)
    pipeline = build_pipeline("random+back_translation", params={"aug_p": 0.5},
                              options={"back_translation": {"to_pivot": to_fr, "from_pivot": to_en,
                                                            "max_length": 8}})
    assert pipeline.fingerprint()["steps"][1]["params"]["to_pivot"] == to_fr
    assert len(pipeline(TEXTS, np.random.default_rng(0))) == len(TEXTS)


def test_defaults_name_the_opus_mt_models():
    augmenter = BackTranslationAugmenter()
    assert (augmenter.to_pivot, augmenter.from_pivot) == ("Helsinki-NLP/opus-mt-en-fr", "Helsinki-NLP/opus-mt-fr-en")
    with pytest.raises(ConfigError, match="num_beams=0"):
        BackTranslationAugmenter(num_beams=0)
