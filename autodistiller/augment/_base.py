"""The augmenter contract, its registry, and the word-level helpers the augmenters share.

An augmenter is a small class: parameters in ``__init__`` (validated there, stored as attributes of the same
name), ``__call__(texts, rng) -> texts`` that changes text only (labels are never seen, so they are kept), and
a ``uses`` tuple naming the ``augment.*`` parameters it reads, which a search space makes conditional on it.
All randomness comes from the ``numpy.random.Generator`` passed in: the same texts and seed give the same
output. Heavy resources (a masked LM, GloVe, a translation model) load on first call, not in ``__init__``, so
a pipeline can be built and validated without them.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from autodistiller.errors import ConfigError
from autodistiller.registries import AUGMENTERS

__all__ = [
    "AUGMENTERS",
    "Augmenter",
    "STOP_WORDS",
    "atomic_directory",
    "check_rate",
    "match_case",
    "split_affixes",
]


# Common English function words (articles, pronouns, auxiliaries, prepositions, conjunctions): replacing one
# changes the grammar more than the meaning, so EDA's synonym step and the contextual augmenter skip them.
STOP_WORDS: frozenset[str] = frozenset(["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "s", "t", "don", "isn", "aren", "wasn", "weren", "hasn", "haven", "hadn", "doesn", "didn", "won", "wouldn", "shouldn", "couldn", "mustn", "can't", "won't", "don't", "isn't", "it's", "i'm", "i've", "i'd", "you're"])

_AFFIXES = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)


def split_affixes(token: str) -> tuple[str, str, str]:
    """``'"Movie,'`` -> ``('"', 'Movie', ',')``: the word and the punctuation glued to it."""
    match = _AFFIXES.match(token)
    assert match is not None  # the pattern matches every string
    return match.group(1), match.group(2), match.group(3)


def match_case(original: str, replacement: str) -> str:
    """Give ``replacement`` the capitalisation pattern of ``original`` (UPPER, Title or as is)."""
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def check_rate(owner: str, name: str, value: float, *, allow_none: bool = False) -> None:
    """A probability-like parameter must be a number in [0, 1] (``{name}=`` echoes it back)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"augmenter {owner!r}: {name}={value!r} must be a number in [0, 1].")


@contextmanager
def atomic_directory(final: Path, marker: str, *, replace: bool = False) -> Iterator[Path]:
    """Yield an empty temp dir beside ``final``; when the block succeeds, rename it to ``final``.

    ``marker`` is the file written last: a directory with it is complete. A complete ``final`` that appeared
    meanwhile (a concurrent writer) is kept unless ``replace`` (a forced rebuild); an incomplete leftover is
    always replaced.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        content = tmp / "content"
        content.mkdir()
        yield content
        if not (content / marker).is_file():
            raise RuntimeError(f"atomic_directory: {marker} was not written into {content}")
        if final.exists() and (replace or not (final / marker).is_file()):
            os.rename(final, tmp / "old")
        try:
            os.rename(content, final)
        except OSError:
            if not (final / marker).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Augmenter(ABC):
    """Base class: ``__call__(texts, rng) -> texts`` of the same length; labels are never touched.

    ``uses`` names the ``augment.*`` parameters the augmenter reads (its ``__init__`` keywords of the same
    names); other keywords (resources, batch sizes, devices) are options that are not searched. ``reads``
    names the ``augment.*`` parameters the engine reads when the augmenter is in the pipeline (how many copies
    it adds each epoch, its model resources).
    """

    uses: ClassVar[tuple[str, ...]] = ()
    reads: ClassVar[tuple[str, ...]] = ("copies", "repeated_aug")

    @abstractmethod
    def __call__(self, texts: Sequence[str], rng: np.random.Generator) -> list[str]:
        """Augmented copies of ``texts``, one per input, in order."""

    @property
    def name(self) -> str:
        return next((n for n, c in AUGMENTERS.items() if c is type(self)), type(self).__name__)

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` arguments, read back from the attributes of the same names (scikit-learn style)."""
        signature = inspect.signature(type(self).__init__)
        return {name: getattr(self, name) for name in signature.parameters if name != "self"}

    def fingerprint(self) -> dict[str, Any]:
        """A JSON-able identity for cache keys: the name and every parameter that changes the output.

        Objects that are not plain values (a loaded model) are reduced by :meth:`_identity`.
        """
        params = {k: _plain(v) for k, v in self.get_params().items() if k not in self._not_in_key}
        return {"name": self.name, "params": params}

    #: parameters that never change the output (batch sizes, devices): left out of cache keys
    _not_in_key: ClassVar[frozenset[str]] = frozenset({"batch_size", "device", "cache_dir"})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    # a model or other object: its name_or_path if it has one, else its type (a cache key can't see weights)
    config = getattr(value, "config", None)
    return getattr(config, "_name_or_path", None) or getattr(value, "name_or_path", None) or type(value).__name__
