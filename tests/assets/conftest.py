"""One built offline cache shared by every asset test of the session.

It lives in ``cache_root()`` ($AUTODISTILLER_CACHE if set, else ~/.cache/autodistiller), so a CI run (or a
developer's second run) downloads each package once; after that the build is a no-op.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest

from autodistiller._paths import cache_root
from autodistiller.assets import BuildReport, build_assets
from autodistiller.task_card import SPLITS, TaskCard


@pytest.fixture(scope="session")
def suite_build() -> tuple[Path, BuildReport]:
    """Build every suite task and the default models (a no-op when the cache is complete)."""
    root = cache_root()
    report = build_assets(root, log=None)
    return root, report


@pytest.fixture(scope="session")
def suite_cache(suite_build: tuple[Path, BuildReport]) -> Path:
    return suite_build[0]


@functools.cache
def _load(root: str, name: str) -> tuple[TaskCard, dict[str, pd.DataFrame]]:
    directory = Path(root) / "tasks" / name
    frames = {split: pd.read_parquet(directory / f"{split}.parquet") for split in SPLITS}
    return TaskCard.load(directory), frames


@pytest.fixture(scope="session")
def load_task(suite_cache: Path):
    """``load_task(name) -> (card, {split: DataFrame})``, each task read from disk once per session."""
    return lambda name: _load(str(suite_cache), name)
